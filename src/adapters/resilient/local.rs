//! The local mirror of the shared state: what calls use while the shared store is down,
//! and what is pushed back to it when it returns having lost its data. Bounded: expired
//! entries go first, then arbitrary ones (the shared store holds the truth while healthy).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use e173gw_core::ports::{StickyRoute, Window};

/// Most sticky routes mirrored.
pub(super) const STICKY_CAP: usize = 500_000;
/// Most counter windows mirrored.
pub(super) const COUNTER_CAP: usize = 100_000;
/// Most rate-window keys mirrored.
pub(super) const HIT_CAP: usize = 100_000;
/// Most cache entries mirrored.
pub(super) const CACHE_CAP: usize = 200_000;
/// Most writes held back; past it the oldest are dropped (the local view stays right).
pub(super) const MAX_PENDING: usize = 100_000;

/// A write held back while the store is down.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Pending {
    StickySet {
        number: String,
        target: String,
        now_ms: u64,
        ttl: Duration,
    },
    StickyRemove {
        number: String,
    },
    Add {
        key: String,
        window: Window,
        at_ms: u64,
        delta: i64,
    },
    CacheSet {
        ns: String,
        key: String,
        value: String,
        now_ms: u64,
        ttl: Duration,
    },
}

/// One counter window as this node knows it.
///
/// Two numbers, because under concurrency "the store's answer" and "what this node added"
/// cannot be folded into one without counting some adds twice: `seen` is the highest total
/// the store answered (plus what is held back for it), `own` is exactly what this node
/// added. The window's total is the larger: never below this node's own count, even when
/// the store lost its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Counter {
    pub(super) window: Window,
    /// A time inside the window.
    pub(super) at_ms: u64,
    pub(super) seen: i64,
    pub(super) own: i64,
}

impl Counter {
    pub(super) fn total(&self) -> i64 {
        self.seen.max(self.own)
    }
}

/// The mirror and the held-back writes.
#[derive(Debug, Default)]
pub(super) struct Local {
    pub(super) sticky: HashMap<String, StickyRoute>,
    pub(super) counters: HashMap<(String, String), Counter>,
    pub(super) hits: HashMap<String, VecDeque<u64>>,
    pub(super) cache: HashMap<(String, String), (String, u64)>,
    pub(super) pending: VecDeque<Pending>,
    /// Bumped each time the whole local state is pushed to the store (and the held-back
    /// writes cleared): a write that failed across a push is already in it.
    pub(super) epoch: u64,
    /// Writes dropped because too many were held back.
    pub(super) dropped: u64,
}

/// Keeps `map` under `cap` when about to insert: drops entries `live` rejects, then, if
/// still full, every other entry.
fn bound<K, V>(map: &mut HashMap<K, V>, cap: usize, live: impl Fn(&V) -> bool) {
    if map.len() < cap {
        return;
    }
    map.retain(|_, v| live(v));
    if map.len() >= cap {
        let mut keep = false;
        map.retain(|_, _| {
            keep = !keep;
            keep
        });
    }
}

impl Local {
    pub(super) fn queue(&mut self, p: Pending) {
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_front();
            self.dropped += 1;
        }
        self.pending.push_back(p);
    }

    pub(super) fn set_sticky(&mut self, route: StickyRoute, now_ms: u64) {
        if !self.sticky.contains_key(&route.number) {
            bound(&mut self.sticky, STICKY_CAP, |r| r.expires_ms > now_ms);
        }
        self.sticky.insert(route.number.clone(), route);
    }

    pub(super) fn sticky(&self, number: &str, now_ms: u64) -> Option<StickyRoute> {
        self.sticky
            .get(number)
            .filter(|r| r.expires_ms > now_ms)
            .cloned()
    }

    fn counter_key(key: &str, window: Window, at_ms: u64) -> (String, String) {
        (key.to_string(), window.bucket(at_ms))
    }

    fn counter_mut(&mut self, key: &str, window: Window, at_ms: u64) -> &mut Counter {
        let k = Self::counter_key(key, window, at_ms);
        if !self.counters.contains_key(&k) {
            // Windows that ended a while ago are no use to limits any more.
            bound(&mut self.counters, COUNTER_CAP, |c| {
                c.window.end_ms(c.at_ms) + 86_400_000 > at_ms
            });
        }
        self.counters.entry(k).or_insert(Counter {
            window,
            at_ms,
            seen: 0,
            own: 0,
        })
    }

    /// An add of this node that is held back for the store: counted as its own and in the
    /// store's expected total. Returns the window's total.
    pub(super) fn add_counter(&mut self, key: &str, window: Window, at_ms: u64, delta: i64) -> i64 {
        let c = self.counter_mut(key, window, at_ms);
        c.own += delta;
        c.seen += delta;
        c.total()
    }

    /// An add of this node on its way to the store.
    pub(super) fn add_own(&mut self, key: &str, window: Window, at_ms: u64, delta: i64) {
        self.counter_mut(key, window, at_ms).own += delta;
    }

    /// An add that failed to reach the store and is now held back for it.
    pub(super) fn add_seen(&mut self, key: &str, window: Window, at_ms: u64, delta: i64) {
        self.counter_mut(key, window, at_ms).seen += delta;
    }

    /// A total the store answered. Returns the window's total.
    pub(super) fn see(&mut self, key: &str, window: Window, at_ms: u64, total: i64) -> i64 {
        let c = self.counter_mut(key, window, at_ms);
        c.seen = c.seen.max(total);
        c.total()
    }

    pub(super) fn counter(&self, key: &str, window: Window, at_ms: u64) -> i64 {
        self.counters
            .get(&Self::counter_key(key, window, at_ms))
            .map_or(0, Counter::total)
    }

    /// Records a hit in the local rate window; returns the hits in the last `span`.
    pub(super) fn hit(&mut self, key: &str, at_ms: u64, span: Duration) -> u64 {
        let now_s = at_ms / 1000;
        if !self.hits.contains_key(key) {
            bound(&mut self.hits, HIT_CAP, |q| {
                q.back().is_some_and(|s| s + 3600 > now_s)
            });
        }
        let q = self.hits.entry(key.to_string()).or_default();
        q.push_back(now_s);
        let first = now_s.saturating_sub(span.as_secs().max(1) - 1);
        while q.front().is_some_and(|s| *s < first) {
            q.pop_front();
        }
        q.len() as u64
    }

    pub(super) fn set_cache(
        &mut self,
        ns: &str,
        key: &str,
        value: &str,
        expires_ms: u64,
        now_ms: u64,
    ) {
        let k = (ns.to_string(), key.to_string());
        if !self.cache.contains_key(&k) {
            bound(&mut self.cache, CACHE_CAP, |(_, exp)| *exp > now_ms);
        }
        self.cache.insert(k, (value.to_string(), expires_ms));
    }

    pub(super) fn cache(&self, ns: &str, key: &str, now_ms: u64) -> Option<String> {
        self.cache
            .get(&(ns.to_string(), key.to_string()))
            .filter(|(_, exp)| *exp > now_ms)
            .map(|(v, _)| v.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_drops_dead_entries_first_then_half() {
        let mut m: HashMap<u32, u32> = (0..10)
            .collect::<Vec<_>>()
            .into_iter()
            .map(|i| (i, i))
            .collect();
        bound(&mut m, 10, |v| *v >= 4);
        assert_eq!(m.len(), 6, "dead entries dropped");
        bound(&mut m, 6, |_| true);
        assert_eq!(m.len(), 3, "then half of the rest");
        bound(&mut m, 10, |_| false);
        assert_eq!(m.len(), 3, "nothing dropped under the cap");
    }

    #[test]
    fn pending_is_bounded_and_counts_drops() {
        let mut l = Local::default();
        for i in 0..(MAX_PENDING + 5) {
            l.queue(Pending::StickyRemove {
                number: i.to_string(),
            });
        }
        assert_eq!(l.pending.len(), MAX_PENDING);
        assert_eq!(l.dropped, 5);
        assert_eq!(
            l.pending.front(),
            Some(&Pending::StickyRemove { number: "5".into() })
        );
    }

    #[test]
    fn counters_are_per_window() {
        let mut l = Local::default();
        let day1 = 1_795_000_000_000;
        assert_eq!(l.add_counter("k", Window::Day, day1, 2), 2);
        assert_eq!(l.add_counter("k", Window::Day, day1 + 1000, 3), 5);
        assert_eq!(l.add_counter("k", Window::Day, day1 + 86_400_000, 1), 1);
        assert_eq!(l.counter("k", Window::Month, day1), 0);
        assert_eq!(l.counter("k", Window::Day, day1), 5);
    }

    #[test]
    fn answers_in_any_order_never_count_an_add_twice() {
        // Two adds of one in flight at once; the store answers 6 and 7 (it had 5), and the
        // answers are applied in either order.
        let t = 1_795_000_000_000;
        for answers in [[6, 7], [7, 6]] {
            let mut l = Local::default();
            l.see("k", Window::Day, t, 5);
            l.add_own("k", Window::Day, t, 1);
            l.add_own("k", Window::Day, t, 1);
            for a in answers {
                l.see("k", Window::Day, t, a);
            }
            assert_eq!(l.counter("k", Window::Day, t), 7, "{answers:?}");
        }
        // A store that lost its data answers low: the node's own count holds.
        let mut l = Local::default();
        for _ in 0..3 {
            l.add_own("k", Window::Day, t, 1);
        }
        assert_eq!(l.see("k", Window::Day, t, 1), 3);
        assert_eq!(l.add_counter("k", Window::Day, t, 1), 4);
    }

    #[test]
    fn hits_slide_by_whole_seconds() {
        let mut l = Local::default();
        let t = 1_795_000_000_000;
        let span = Duration::from_secs(2);
        assert_eq!(l.hit("k", t, span), 1);
        assert_eq!(l.hit("k", t + 500, span), 2);
        assert_eq!(l.hit("k", t + 1000, span), 3);
        assert_eq!(
            l.hit("k", t + 2000, span),
            2,
            "the first second left the window"
        );
        assert_eq!(
            l.hit("k", t + 2000, Duration::from_millis(10)),
            2,
            "a sub-second span counts its own second"
        );
    }

    #[test]
    fn expired_entries_are_not_served() {
        let mut l = Local::default();
        l.set_sticky(
            StickyRoute {
                number: "1".into(),
                target: "m".into(),
                expires_ms: 100,
            },
            0,
        );
        assert!(l.sticky("1", 99).is_some());
        assert!(l.sticky("1", 100).is_none());
        l.set_cache("ns", "k", "v", 50, 0);
        assert_eq!(l.cache("ns", "k", 49).as_deref(), Some("v"));
        assert_eq!(l.cache("ns", "k", 50), None);
    }
}
