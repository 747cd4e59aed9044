//! Strict sticky routing: calls waiting for their sticky SIM to free up, in a bounded
//! queue per modem, oldest first.

use std::collections::{HashMap, VecDeque};

use e173gw_core::domain::ModemId;
use tokio::sync::oneshot;

use super::{RouteDecision, RouteRequest};

/// A call waiting for a SIM.
#[derive(Debug)]
pub(crate) struct Waiter {
    /// Where its decision goes; closed once the call stopped waiting.
    pub(crate) tx: oneshot::Sender<RouteDecision>,
    /// Its request.
    pub(crate) req: RouteRequest,
}

/// The queues.
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    by_modem: HashMap<ModemId, VecDeque<Waiter>>,
}

impl Waiters {
    /// Queues a call for `modem` unless `max` already wait (`false`: not queued).
    pub(crate) fn push(&mut self, modem: ModemId, w: Waiter, max: usize) -> bool {
        let q = self.by_modem.entry(modem).or_default();
        q.retain(|w| !w.tx.is_closed());
        if q.len() >= max {
            return false;
        }
        q.push_back(w);
        true
    }

    /// The oldest call still waiting for `modem`.
    pub(crate) fn pop(&mut self, modem: &ModemId) -> Option<Waiter> {
        let q = self.by_modem.get_mut(modem)?;
        let w = loop {
            match q.pop_front() {
                Some(w) if w.tx.is_closed() => continue,
                other => break other,
            }
        };
        if q.is_empty() {
            self.by_modem.remove(modem);
        }
        w
    }

    /// Whether any call waits for `modem`.
    pub(crate) fn any_for(&self, modem: &ModemId) -> bool {
        self.by_modem.contains_key(modem)
    }

    /// Calls waiting.
    pub(crate) fn len(&self) -> usize {
        self.by_modem
            .values()
            .map(|q| q.iter().filter(|w| !w.tx.is_closed()).count())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use e173gw_core::config::sip::Target;
    use e173gw_core::domain::DialNumber;

    fn waiter(n: &str) -> (Waiter, oneshot::Receiver<RouteDecision>) {
        let (tx, rx) = oneshot::channel();
        let req = RouteRequest {
            target: Target::Modems,
            trunk: "t".into(),
            from_peer: None,
            call: None,
            caller: "1".into(),
            callee: DialNumber::parse(n).expect("number"),
            exclude: Vec::new(),
            age_ms: 0,
            divert: None,
            operator: None,
        };
        (Waiter { tx, req }, rx)
    }

    #[test]
    fn bounded_oldest_first_and_callers_that_left_are_skipped() {
        let m = ModemId::parse("m0").expect("id");
        let mut w = Waiters::default();
        let (a, _ra) = waiter("100");
        let (b, rb) = waiter("200");
        let (c, _rc) = waiter("300");
        let (d, _rd) = waiter("400");
        assert!(w.push(m.clone(), a, 3));
        assert!(w.push(m.clone(), b, 3));
        assert!(w.push(m.clone(), c, 3));
        assert!(!w.push(m.clone(), d, 3), "the queue is bounded");
        assert_eq!(w.len(), 3);
        drop(rb); // that caller stopped waiting
        assert_eq!(w.len(), 2);
        assert_eq!(
            w.pop(&m).map(|w| w.req.callee.to_string()),
            Some("100".into())
        );
        assert_eq!(
            w.pop(&m).map(|w| w.req.callee.to_string()),
            Some("300".into())
        );
        assert!(w.pop(&m).is_none());
        assert!(!w.any_for(&m));
    }
}
