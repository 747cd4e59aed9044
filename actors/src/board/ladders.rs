//! The ladders the board keeps: every call's while it is up, then the last `keep`
//! finished calls', and separately the last [`TRACED_KEEP`] calls of numbers being
//! traced (kept even when `keep` is 0).

use std::collections::{BTreeSet, HashMap, VecDeque};

use e173gw_core::call::ladder::{Ladder, Step};

/// Finished calls of traced numbers kept.
pub const TRACED_KEEP: usize = 100;
/// Calls in progress with a ladder, at most (a leak guard: calls end).
const LIVE_MAX: usize = 20_000;

/// Ladders of live and recent calls.
#[derive(Debug, Default)]
pub struct Ladders {
    keep: usize,
    live: HashMap<String, (Ladder, bool)>,
    recent: VecDeque<Ladder>,
    traced_done: VecDeque<Ladder>,
    traced: BTreeSet<String>,
}

impl Ladders {
    /// Keeps the last `keep` finished calls (0: only traced numbers' calls).
    pub fn new(keep: usize) -> Self {
        Self {
            keep,
            ..Self::default()
        }
    }

    /// A call started: its ladder is kept if recent calls are, or a party is traced.
    pub fn start(&mut self, call_id: &str, caller: &str, callee: &str) {
        let traced = self.traced.contains(caller) || self.traced.contains(callee);
        if (self.keep > 0 || traced) && self.live.len() < LIVE_MAX {
            self.live
                .insert(call_id.to_string(), (Ladder::new(call_id), traced));
        }
    }

    /// A step of a call (dropped for calls without a ladder).
    pub fn step(&mut self, call_id: &str, step: Step) {
        if let Some((l, _)) = self.live.get_mut(call_id) {
            l.push(step);
        }
    }

    /// The call's modem.
    pub fn modem(&mut self, call_id: &str, modem: &str) {
        if let Some((l, _)) = self.live.get_mut(call_id) {
            l.modem = Some(modem.to_string());
        }
    }

    /// The call ended: its ladder goes to the recent (or traced) ring.
    pub fn end(&mut self, call_id: &str) {
        let Some((l, traced)) = self.live.remove(call_id) else {
            return;
        };
        let (ring, cap) = if traced {
            (&mut self.traced_done, TRACED_KEEP)
        } else {
            (&mut self.recent, self.keep)
        };
        if cap == 0 {
            return;
        }
        if ring.len() >= cap {
            ring.pop_front();
        }
        ring.push_back(l);
    }

    /// A call's ladder, live or kept.
    pub fn get(&self, call_id: &str) -> Option<&Ladder> {
        self.live.get(call_id).map(|(l, _)| l).or_else(|| {
            self.recent
                .iter()
                .chain(self.traced_done.iter())
                .rev()
                .find(|l| l.call_id == call_id)
        })
    }

    /// Traces `number`'s calls from the next one on (`on`), or stops.
    pub fn trace(&mut self, number: &str, on: bool) -> bool {
        if on {
            self.traced.insert(number.to_string())
        } else {
            self.traced.remove(number)
        }
    }

    /// The numbers traced.
    pub fn traced(&self) -> Vec<String> {
        self.traced.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use e173gw_core::call::ladder::Lane;

    fn step() -> Step {
        Step::new(1, Lane::Trunk, Lane::Gateway, "INVITE")
    }

    #[test]
    fn recent_calls_are_kept_up_to_the_ring_size() {
        let mut l = Ladders::new(2);
        for id in ["a", "b", "c"] {
            l.start(id, "1", "2");
            l.step(id, step());
            l.modem(id, "m1");
            assert!(l.get(id).is_some(), "live");
            l.end(id);
        }
        assert!(l.get("a").is_none(), "the oldest went");
        assert_eq!(l.get("c").map(|x| x.steps.len()), Some(1));
        assert_eq!(l.get("b").and_then(|x| x.modem.as_deref()), Some("m1"));
        l.step("nobody", step());
        l.end("nobody");
    }

    #[test]
    fn traced_numbers_are_kept_when_the_ring_is_off() {
        let mut l = Ladders::new(0);
        l.start("plain", "1", "2");
        l.step("plain", step());
        assert!(l.get("plain").is_none(), "no ladder without tracing");
        assert!(l.trace("5511912345678", true));
        assert!(!l.trace("5511912345678", true), "already on");
        l.start("t1", "1", "5511912345678");
        l.step("t1", step());
        l.end("t1");
        assert_eq!(l.get("t1").map(|x| x.steps.len()), Some(1));
        assert_eq!(l.traced(), vec!["5511912345678"]);
        assert!(l.trace("5511912345678", false));
        l.start("t2", "1", "5511912345678");
        assert!(l.get("t2").is_none(), "tracing off again");
    }
}
