//! What keeps a lookup provider from hurting calls: a cache with separate TTLs for yes and
//! no answers, a circuit breaker, and the settings of the concurrency limit. Pure, with
//! the time passed in; the owner holds them and does the waiting.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::config::Problem;

/// `breaker = { failures = 5, open_ms = 30000 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker (0: never).
    pub failures: u32,
    /// How long it stays open before one trial request, ms.
    pub open_ms: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failures: 5,
            open_ms: 30_000,
        }
    }
}

/// The guard settings a lookup stage carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GuardConfig {
    /// How long a positive answer is kept, s.
    pub positive_ttl_s: u64,
    /// How long a negative answer is kept, s.
    pub negative_ttl_s: u64,
    /// Most entries in the cache.
    pub cache_max: usize,
    /// Most lookups in flight; more are answered "busy" at once.
    pub max_in_flight: usize,
    /// The circuit breaker.
    pub breaker: BreakerConfig,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            positive_ttl_s: 7 * 86_400,
            negative_ttl_s: 86_400,
            cache_max: 200_000,
            max_in_flight: 32,
            breaker: BreakerConfig::default(),
        }
    }
}

impl GuardConfig {
    /// Checks the limits; `key` names the table.
    pub fn validate(&self, key: &str, p: &mut Vec<Problem>) {
        if self.max_in_flight == 0 {
            p.push(Problem::new(
                format!("{key}.max_in_flight"),
                "must be at least 1",
            ));
        }
        if self.cache_max == 0 {
            p.push(Problem::new(
                format!("{key}.cache_max"),
                "must be at least 1",
            ));
        }
        if self.breaker.failures > 0 && self.breaker.open_ms == 0 {
            p.push(Problem::new(
                format!("{key}.breaker.open_ms"),
                "must be more than 0",
            ));
        }
    }
}

/// Breaker states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Requests go through.
    Closed,
    /// Requests are refused until the time (ms).
    Open {
        /// When one trial may go.
        until_ms: u64,
    },
    /// One trial request is out (since this time, ms); if it never reports back (its
    /// call went away), another may go after `open_ms`.
    HalfOpen {
        /// When the trial went.
        since_ms: u64,
    },
}

/// A circuit breaker: open after N consecutive failures, one trial after `open_ms`,
/// closed again on its success.
#[derive(Debug, Clone)]
pub struct Breaker {
    cfg: BreakerConfig,
    state: BreakerState,
    failures: u32,
    /// Times it opened.
    pub opened: u64,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(cfg: BreakerConfig) -> Self {
        Self {
            cfg,
            state: BreakerState::Closed,
            failures: 0,
            opened: 0,
        }
    }

    /// Its state.
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// May a request go at `now_ms`? (Moves open to half-open when its time is up.)
    pub fn allow(&mut self, now_ms: u64) -> bool {
        match self.state {
            BreakerState::Closed => true,
            BreakerState::Open { until_ms } if now_ms >= until_ms => {
                self.state = BreakerState::HalfOpen { since_ms: now_ms };
                true
            }
            BreakerState::HalfOpen { since_ms }
                if now_ms >= since_ms.saturating_add(self.cfg.open_ms) =>
            {
                self.state = BreakerState::HalfOpen { since_ms: now_ms };
                true
            }
            BreakerState::Open { .. } | BreakerState::HalfOpen { .. } => false,
        }
    }

    /// The request succeeded.
    pub fn success(&mut self) {
        self.failures = 0;
        self.state = BreakerState::Closed;
    }

    /// The request failed at `now_ms`.
    pub fn failure(&mut self, now_ms: u64) {
        self.failures = self.failures.saturating_add(1);
        let trip = matches!(self.state, BreakerState::HalfOpen { .. })
            || (self.cfg.failures > 0 && self.failures >= self.cfg.failures);
        if trip {
            self.state = BreakerState::Open {
                until_ms: now_ms.saturating_add(self.cfg.open_ms),
            };
            self.opened += 1;
        }
    }
}

/// A bounded cache with a per-entry expiry; the oldest insertions go first when full.
#[derive(Debug, Clone)]
pub struct TtlCache<V> {
    map: HashMap<String, (V, u64)>,
    order: VecDeque<String>,
    max: usize,
}

impl<V: Clone> TtlCache<V> {
    /// An empty cache of at most `max` entries.
    pub fn new(max: usize) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            max: max.max(1),
        }
    }

    /// The value of `key` if not expired at `now_ms`.
    pub fn get(&self, key: &str, now_ms: u64) -> Option<V> {
        self.map
            .get(key)
            .filter(|(_, exp)| *exp > now_ms)
            .map(|(v, _)| v.clone())
    }

    /// Keeps `v` for `ttl_ms` from `now_ms` (a TTL of 0 keeps nothing).
    pub fn put(&mut self, key: &str, v: V, now_ms: u64, ttl_ms: u64) {
        if ttl_ms == 0 {
            return;
        }
        if self
            .map
            .insert(key.to_string(), (v, now_ms.saturating_add(ttl_ms)))
            .is_none()
        {
            self.order.push_back(key.to_string());
        }
        while self.map.len() > self.max {
            match self.order.pop_front() {
                Some(k) => {
                    self.map.remove(&k);
                }
                None => break,
            }
        }
    }

    /// Entries held (expired ones included until pushed out).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Reads a presence answer: `true`/`false`, `1`/`0`, and the words providers use
/// (`valid`/`invalid`, `yes`/`no`, `exists`...). Anything else is not an answer.
pub fn read_yes_no(v: &serde_json::Value) -> Result<bool, String> {
    use serde_json::Value;
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) if n.as_u64() == Some(1) => Ok(true),
        Value::Number(n) if n.as_u64() == Some(0) => Ok(false),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "valid" | "exists" | "1" | "registered" | "on" => Ok(true),
            "false" | "no" | "invalid" | "not_exists" | "0" | "unregistered" | "off" => Ok(false),
            other => Err(format!("{other:?} is not a yes or no")),
        },
        other => Err(format!("{other} is not a yes or no")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_after_n_failures_tries_once_and_closes_on_success() {
        let mut b = Breaker::new(BreakerConfig {
            failures: 3,
            open_ms: 1000,
        });
        // (time, event, allowed before it, state after)
        for (t, fail) in [(0, true), (10, true)] {
            assert!(b.allow(t));
            if fail {
                b.failure(t);
            }
            assert_eq!(b.state(), BreakerState::Closed);
        }
        assert!(b.allow(20));
        b.failure(20);
        assert_eq!(b.state(), BreakerState::Open { until_ms: 1020 });
        assert!(!b.allow(500));
        assert!(!b.allow(1019));
        assert!(b.allow(1020), "one trial when the time is up");
        assert_eq!(b.state(), BreakerState::HalfOpen { since_ms: 1020 });
        assert!(!b.allow(1021), "only one trial at a time");
        assert!(!b.allow(2019));
        b.failure(1030);
        assert_eq!(b.state(), BreakerState::Open { until_ms: 2030 });
        assert!(b.allow(2030));
        b.success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.allow(2031));
        assert_eq!(b.opened, 2);
        // A success resets the count.
        b.failure(3000);
        b.failure(3001);
        b.success();
        b.failure(3002);
        assert_eq!(b.state(), BreakerState::Closed);
        // A trial that never reports back (its call went away) is replaced after open_ms.
        let mut lost = Breaker::new(BreakerConfig {
            failures: 1,
            open_ms: 100,
        });
        lost.failure(0);
        assert!(lost.allow(100));
        assert!(!lost.allow(150));
        assert!(lost.allow(200), "a new trial");
        // failures = 0: never opens.
        let mut never = Breaker::new(BreakerConfig {
            failures: 0,
            open_ms: 1,
        });
        for t in 0..100 {
            never.failure(t);
        }
        assert!(never.allow(100));
    }

    #[test]
    fn the_cache_keeps_answers_for_their_ttl_and_drops_the_oldest_when_full() {
        let mut c = TtlCache::new(2);
        c.put("a", true, 0, 100);
        c.put("b", false, 0, 10);
        assert_eq!(c.get("a", 99), Some(true));
        assert_eq!(c.get("a", 100), None);
        assert_eq!(c.get("b", 9), Some(false));
        assert_eq!(c.get("b", 10), None);
        c.put("c", true, 0, 100);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("a", 1), None, "the oldest went");
        c.put("d", true, 0, 0);
        assert_eq!(c.get("d", 0), None, "ttl 0 keeps nothing");
    }

    #[test]
    fn answers_read_as_yes_or_no() {
        use serde_json::json;
        let cases = [
            (json!(true), Ok(true)),
            (json!(false), Ok(false)),
            (json!(1), Ok(true)),
            (json!(0), Ok(false)),
            (json!("valid"), Ok(true)),
            (json!("invalid"), Ok(false)),
            (json!(" YES "), Ok(true)),
            (json!("no"), Ok(false)),
        ];
        for (v, want) in cases {
            assert_eq!(read_yes_no(&v), want, "{v}");
        }
        for v in [
            json!("maybe"),
            json!(2),
            json!(null),
            json!([true]),
            json!({"a": 1}),
        ] {
            assert!(read_yes_no(&v).is_err(), "{v}");
        }
    }
}
