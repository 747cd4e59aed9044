//! Usage counters of finished calls, summed between two writes to the store: at thousands
//! of calls a second, one counter write per call would be one store transaction per call;
//! summed, it is one per counter and window per flush. (Sticky routes are not summed: the
//! next call to a number may follow within milliseconds and must find its route.)

use std::collections::HashMap;

use e173gw_core::ports::{Stores, Window};
use tracing::warn;

use super::CallUsage;

/// Sums of counter deltas and the sticky routes to set, since the last flush.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// (counter key, window, window bucket) -> (a time inside the window, delta).
    adds: HashMap<(String, Window, String), (u64, i64)>,
}

/// What one flush writes.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Batch {
    /// (key, window, time inside the window, delta), in key order.
    pub(crate) adds: Vec<(String, Window, u64, i64)>,
}

impl Tally {
    /// Counts a finished call on its trunk and SIM; `offset_ms` is when the limits' day
    /// starts after midnight UTC (windows are shifted by it, on writing and reading).
    pub(crate) fn count(&mut self, u: &CallUsage, offset_ms: u64) {
        let at_ms = u.at_ms.saturating_sub(offset_ms);
        if let Some(t) = &u.trunk {
            self.add(format!("trunk:{t}:calls"), Window::Day, u.at_ms, 1);
        }
        let Some((_, Some(imsi))) = &u.modem else {
            return;
        };
        for window in [Window::Day, Window::Month] {
            self.add(format!("sim:{imsi}:calls"), window, at_ms, 1);
            if u.answered {
                self.add(format!("sim:{imsi}:answered"), window, at_ms, 1);
                self.add(
                    format!("sim:{imsi}:seconds"),
                    window,
                    at_ms,
                    u.talk_s as i64,
                );
            }
        }
    }

    fn add(&mut self, key: String, window: Window, at_ms: u64, delta: i64) {
        let bucket = window.bucket(at_ms);
        self.adds
            .entry((key, window, bucket))
            .or_insert((at_ms, 0))
            .1 += delta;
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.adds.is_empty()
    }

    /// Empties the tally into a batch.
    pub(crate) fn take(&mut self) -> Batch {
        let mut adds: Vec<_> = self
            .adds
            .drain()
            .map(|((k, w, _), (at, d))| (k, w, at, d))
            .collect();
        adds.sort_by(|a, b| (&a.0, a.2).cmp(&(&b.0, b.2)));
        Batch { adds }
    }
}

impl Batch {
    /// Writes the batch; storage trouble is logged, never fatal.
    pub(crate) async fn write(self, stores: Stores) {
        let mut failed = 0usize;
        for (key, window, at_ms, delta) in self.adds {
            if let Err(e) = stores.counters.add(&key, window, at_ms, delta).await {
                failed += 1;
                warn!(error = %e, key, "Usage counter not written.");
            }
        }
        if failed > 0 {
            warn!(failed, "Usage not fully accounted.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY1: u64 = 1_795_000_000_000;

    fn usage(
        at_ms: u64,
        trunk: &str,
        modem: Option<(&str, Option<&str>)>,
        talk_s: u64,
    ) -> CallUsage {
        CallUsage {
            at_ms,
            trunk: Some(trunk.into()),
            caller: "5511900000001".into(),
            callee: "5511912345678".into(),
            modem: modem.map(|(m, i)| (m.to_string(), i.map(str::to_string))),
            answered: talk_s > 0,
            gateway_fault: false,
            talk_s,
        }
    }

    #[test]
    fn calls_are_summed_per_counter_and_window() {
        let mut t = Tally::default();
        // Two calls on one SIM the same day, one unanswered; an agent call; a call the
        // next day.
        t.count(&usage(DAY1, "a", Some(("m1", Some("724"))), 30), 0);
        t.count(&usage(DAY1 + 1_000, "a", Some(("m1", Some("724"))), 0), 0);
        t.count(&usage(DAY1 + 2_000, "a", None, 0), 0);
        t.count(&usage(DAY1 + 86_400_000, "a", None, 0), 0);
        let b = t.take();
        assert!(t.is_empty());
        let find = |key: &str, w: Window, day: u64| {
            b.adds
                .iter()
                .find(|(k, win, at, _)| k == key && *win == w && w.bucket(*at) == w.bucket(day))
                .map(|a| a.3)
        };
        assert_eq!(find("trunk:a:calls", Window::Day, DAY1), Some(3));
        assert_eq!(
            find("trunk:a:calls", Window::Day, DAY1 + 86_400_000),
            Some(1)
        );
        assert_eq!(find("sim:724:calls", Window::Day, DAY1), Some(2));
        assert_eq!(find("sim:724:calls", Window::Month, DAY1), Some(2));
        assert_eq!(find("sim:724:answered", Window::Day, DAY1), Some(1));
        assert_eq!(find("sim:724:seconds", Window::Month, DAY1), Some(30));
        assert_eq!(b.adds.len(), 8, "{:?}", b.adds);
    }
}
