//! Recent calls per caller and per trunk, in memory and bounded: how many distinct
//! numbers a caller dialled in the last hour, whether its callees run in sequence (a
//! scan), and how many calls a trunk sent in the last minute.

use std::collections::{HashMap, HashSet, VecDeque};

/// A caller's last hour.
#[derive(Debug, Default)]
struct CallerWindow {
    calls: VecDeque<(u64, u64)>,
    last_number: Option<u64>,
    run: u32,
    newest_ms: u64,
}

/// What one call adds up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Observed {
    /// Distinct callees of this caller in the last hour, this one included.
    pub distinct_callees: u32,
    /// Callees in a row, this one included, each one more or one less than the one before.
    pub sequential_run: u32,
    /// Calls of this trunk in the last minute, this one included.
    pub trunk_calls: u32,
}

const HOUR_MS: u64 = 3_600_000;
const MINUTE_MS: u64 = 60_000;

/// The windows. See the module docs.
#[derive(Debug)]
pub struct Velocity {
    callers: HashMap<String, CallerWindow>,
    trunks: HashMap<String, VecDeque<u64>>,
    /// Most callers tracked; past it the idle ones go, then the least recent.
    max_callers: usize,
    /// Most calls remembered per caller and per trunk.
    max_per_key: usize,
}

impl Default for Velocity {
    fn default() -> Self {
        Self::new(100_000, 2_000)
    }
}

impl Velocity {
    /// At most `max_callers` callers, `max_per_key` calls each.
    pub fn new(max_callers: usize, max_per_key: usize) -> Self {
        Self {
            callers: HashMap::new(),
            trunks: HashMap::new(),
            max_callers: max_callers.max(1),
            max_per_key: max_per_key.max(2),
        }
    }

    /// Callers tracked now.
    pub fn callers(&self) -> usize {
        self.callers.len()
    }

    /// Counts one call (`caller` and `callee` as digits; an empty caller is not tracked).
    pub fn observe(
        &mut self,
        caller: &str,
        callee: &str,
        trunk: Option<&str>,
        now_ms: u64,
    ) -> Observed {
        let mut o = Observed::default();
        if let Some(t) = trunk {
            let q = self.trunks.entry(t.to_string()).or_default();
            while q.front().is_some_and(|&at| at + MINUTE_MS <= now_ms) {
                q.pop_front();
            }
            q.push_back(now_ms);
            while q.len() > self.max_per_key {
                q.pop_front();
            }
            o.trunk_calls = u32::try_from(q.len()).unwrap_or(u32::MAX);
        }
        let number: Option<u64> = callee
            .trim_start_matches('+')
            .get(..callee.trim_start_matches('+').len().min(18))
            .and_then(|d| d.parse().ok());
        if caller.is_empty() {
            return o;
        }
        if !self.callers.contains_key(caller) && self.callers.len() >= self.max_callers {
            self.evict(now_ms);
        }
        let w = self.callers.entry(caller.to_string()).or_default();
        while w
            .calls
            .front()
            .is_some_and(|&(at, _)| at + HOUR_MS <= now_ms)
        {
            w.calls.pop_front();
        }
        if let Some(n) = number {
            w.calls.push_back((now_ms, n));
            while w.calls.len() > self.max_per_key {
                w.calls.pop_front();
            }
            w.run = match w.last_number {
                Some(last) if last.abs_diff(n) == 1 => w.run.saturating_add(1),
                _ => 1,
            };
            w.last_number = Some(n);
        }
        w.newest_ms = now_ms;
        let distinct: HashSet<u64> = w.calls.iter().map(|&(_, n)| n).collect();
        o.distinct_callees = u32::try_from(distinct.len()).unwrap_or(u32::MAX);
        o.sequential_run = w.run;
        o
    }

    /// Makes room: callers idle for an hour first; if none, the least recent one.
    fn evict(&mut self, now_ms: u64) {
        let before = self.callers.len();
        self.callers.retain(|_, w| w.newest_ms + HOUR_MS > now_ms);
        if self.callers.len() == before {
            if let Some(k) = self
                .callers
                .iter()
                .min_by_key(|(_, w)| w.newest_ms)
                .map(|(k, _)| k.clone())
            {
                self.callers.remove(&k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_callees_sequences_and_trunk_rates_over_their_windows() {
        let mut v = Velocity::default();
        // (caller, callee, trunk, at ms, distinct, run, trunk calls)
        type Step<'a> = (&'a str, &'a str, Option<&'a str>, u64, u32, u32, u32);
        let steps: &[Step<'_>] = &[
            ("A", "5511900000001", Some("t"), 0, 1, 1, 1),
            ("A", "5511900000002", Some("t"), 1_000, 2, 2, 2),
            ("A", "5511900000003", Some("t"), 2_000, 3, 3, 3),
            ("A", "5511900000002", Some("t"), 3_000, 3, 4, 4),
            ("A", "5511900000009", Some("t"), 4_000, 4, 1, 5),
            ("B", "5511900000010", Some("u"), 5_000, 1, 1, 1),
            // Over a minute later: the trunk's minute has emptied.
            ("A", "5511900000010", Some("t"), 70_000, 5, 2, 1),
            // Over an hour after the first calls: only the recent ones count.
            ("A", "5511900000011", None, 3_603_000, 3, 3, 0),
            ("", "5511900000012", Some("t"), 3_603_000, 0, 0, 1),
        ];
        for (caller, callee, trunk, at, distinct, run, tc) in steps {
            let o = v.observe(caller, callee, *trunk, *at);
            assert_eq!(
                (o.distinct_callees, o.sequential_run, o.trunk_calls),
                (*distinct, *run, *tc),
                "{caller} {callee} at {at}"
            );
        }
    }

    #[test]
    fn memory_stays_bounded() {
        let mut v = Velocity::new(100, 10);
        for i in 0..10_000u64 {
            v.observe(&format!("c{i}"), "5511900000001", Some("t"), i);
        }
        assert!(v.callers() <= 100, "{} callers", v.callers());
        for i in 0..1_000u64 {
            let o = v.observe(
                "scanner",
                &format!("{}", 5_511_900_000_000u64 + i),
                Some("t"),
                20_000 + i,
            );
            assert!(o.distinct_callees <= 10);
            assert_eq!(o.sequential_run, u32::try_from(i + 1).unwrap_or(0));
        }
    }
}
