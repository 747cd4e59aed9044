//! The ladders kept after their calls: the last `keep` finished calls', and separately
//! the last [`TRACED_KEEP`] calls of numbers being traced (kept even when `keep` is 0).
//! A call builds its ladder itself, with no message per step, and hands it over here
//! once, when it ends.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use e173gw_core::call::ladder::Ladder;

/// Finished calls of traced numbers kept.
pub const TRACED_KEEP: usize = 100;

/// The rings and the traced numbers.
#[derive(Debug, Default)]
pub struct Ladders {
    keep: usize,
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

    /// Whether a call between these numbers gets a ladder, and whether it is traced.
    pub fn wants(&self, caller: &str, callee: &str) -> Option<bool> {
        let traced = self.traced.contains(caller) || self.traced.contains(callee);
        (self.keep > 0 || traced).then_some(traced)
    }

    /// A finished call's ladder.
    pub fn finish(&mut self, ladder: Ladder, traced: bool) {
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
        ring.push_back(ladder);
    }

    /// A finished call's ladder.
    pub fn get(&self, call_id: &str) -> Option<&Ladder> {
        self.recent
            .iter()
            .chain(self.traced_done.iter())
            .rev()
            .find(|l| l.call_id == call_id)
    }

    /// Traces `number`'s calls from the next one on (`on`), or stops; whether it changed.
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

/// The ladders, shared by the calls (which hand theirs over) and the operations API.
/// Each use holds the lock for a lookup or a push only: never across I/O or a wait.
#[derive(Debug, Clone, Default)]
pub struct LadderBook(Arc<Mutex<Ladders>>);

impl LadderBook {
    /// A book keeping the last `keep` calls.
    pub fn new(keep: usize) -> Self {
        Self(Arc::new(Mutex::new(Ladders::new(keep))))
    }

    /// The rings (a poisoned lock still holds good data: each change is one push).
    pub fn lock(&self) -> MutexGuard<'_, Ladders> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use e173gw_core::call::ladder::{Lane, Step};

    fn ladder(id: &str) -> Ladder {
        let mut l = Ladder::new(id);
        l.push(Step::new(1, Lane::Trunk, Lane::Gateway, "INVITE"));
        l
    }

    #[test]
    fn recent_calls_are_kept_up_to_the_ring_size() {
        let mut l = Ladders::new(2);
        for id in ["a", "b", "c"] {
            assert_eq!(l.wants("1", "2"), Some(false));
            l.finish(ladder(id), false);
        }
        assert!(l.get("a").is_none(), "the oldest went");
        assert_eq!(l.get("c").map(|x| x.steps.len()), Some(1));
        assert!(l.get("b").is_some());
    }

    #[test]
    fn traced_numbers_are_kept_when_the_ring_is_off() {
        let book = LadderBook::new(0);
        let mut l = book.lock();
        assert_eq!(l.wants("1", "2"), None, "no ladder without tracing");
        l.finish(ladder("plain"), false);
        assert!(l.get("plain").is_none());
        assert!(l.trace("5511912345678", true));
        assert!(!l.trace("5511912345678", true), "already on");
        assert_eq!(l.wants("1", "5511912345678"), Some(true));
        l.finish(ladder("t1"), true);
        assert_eq!(l.get("t1").map(|x| x.steps.len()), Some(1));
        assert_eq!(l.traced(), vec!["5511912345678"]);
        assert!(l.trace("5511912345678", false));
        assert_eq!(l.wants("1", "5511912345678"), None, "tracing off again");
    }
}
