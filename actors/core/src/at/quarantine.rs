//! Quarantine: a modem that needed `after` resets within `window` is kept out of routing
//! for `hold`, even while it answers, then readmitted. A flapping modem (a loose USB
//! contact, a failing SIM reader) otherwise takes a call, fails it, recovers, and takes the
//! next one.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// When a modem is quarantined (`after = 0`: never).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuarantineRule {
    /// Resets within `window` that quarantine the modem.
    pub after: u32,
    /// The window.
    pub window: Duration,
    /// How long it stays out.
    pub hold: Duration,
}

/// One modem's quarantine state.
#[derive(Debug, Clone, Default)]
pub struct Quarantine {
    resets: Option<u64>,
    recent: VecDeque<Instant>,
    until: Option<Instant>,
}

impl Quarantine {
    /// The modem's reset counter reads `resets` at `now`; returns the end of a quarantine
    /// that starts now.
    pub fn on_resets(
        &mut self,
        rule: QuarantineRule,
        resets: u64,
        now: Instant,
    ) -> Option<Instant> {
        let before = self.resets.replace(resets);
        let new = before.map_or(0, |b| resets.saturating_sub(b));
        if rule.after == 0 || new == 0 {
            return None;
        }
        for _ in 0..new.min(u64::from(rule.after)) {
            self.recent.push_back(now);
        }
        while self
            .recent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > rule.window)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= rule.after as usize && self.in_force(now).is_none() {
            self.recent.clear();
            let until = now + rule.hold;
            self.until = Some(until);
            return Some(until);
        }
        None
    }

    /// The end of the quarantine in force at `now`.
    pub fn in_force(&self, now: Instant) -> Option<Instant> {
        self.until.filter(|u| *u > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)]
    fn repeated_resets_within_the_window_quarantine_and_time_readmits() {
        let rule = QuarantineRule {
            after: 3,
            window: Duration::from_secs(60),
            hold: Duration::from_secs(30),
        };
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        // (seconds, reset counter) -> quarantined from then?
        type Case<'a> = (&'a str, &'a [(u64, u64)], Option<u64>);
        let cases: &[Case] = &[
            ("first sight counts nothing", &[(0, 7)], None),
            (
                "three resets in a minute",
                &[(0, 0), (10, 1), (20, 2), (30, 3)],
                Some(30),
            ),
            (
                "spread over more than the window",
                &[(0, 0), (10, 1), (50, 2), (80, 3)],
                None,
            ),
            ("several at once", &[(0, 0), (5, 3)], Some(5)),
            ("no new resets", &[(0, 2), (10, 2), (20, 2)], None),
        ];
        for (name, steps, want) in cases {
            let mut q = Quarantine::default();
            let mut got = None;
            for (s, r) in *steps {
                if let Some(u) = q.on_resets(rule, *r, at(*s)) {
                    got = Some(u);
                }
            }
            assert_eq!(got, want.map(|s| at(s) + rule.hold), "{name}");
        }
        let mut q = Quarantine::default();
        q.on_resets(rule, 0, at(0));
        let until = q.on_resets(rule, 3, at(1)).expect("quarantined");
        assert_eq!(q.in_force(at(2)), Some(until));
        assert_eq!(q.in_force(at(31)), None, "readmitted after the hold");
        let off = QuarantineRule { after: 0, ..rule };
        assert_eq!(Quarantine::default().on_resets(off, 9, at(0)), None);
    }
}
