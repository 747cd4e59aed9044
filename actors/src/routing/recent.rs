//! Sticky routes this node wrote in the last seconds, so the next call to a number finds
//! its route even while the store's write is still under way. The store stays the truth
//! (shared by nodes); entries here live a few seconds.

use std::collections::HashMap;

/// How long a route written here is taken from memory, ms.
const KEEP_MS: u64 = 10_000;
/// Past this many entries the expired ones are dropped.
const PRUNE_AT: usize = 10_000;

/// Key -> (target, written at).
#[derive(Debug, Default)]
pub(crate) struct RecentRoutes {
    map: HashMap<String, (String, u64)>,
}

impl RecentRoutes {
    /// Notes a route written at `now_ms`.
    pub(crate) fn set(&mut self, key: &str, target: &str, now_ms: u64) {
        if self.map.len() >= PRUNE_AT {
            self.map
                .retain(|_, (_, at)| now_ms.saturating_sub(*at) < KEEP_MS);
        }
        if self.map.len() < PRUNE_AT * 4 {
            self.map
                .insert(key.to_string(), (target.to_string(), now_ms));
        }
    }

    /// The route of `key` if it was written here lately.
    pub(crate) fn get(&self, key: &str, now_ms: u64) -> Option<String> {
        self.map
            .get(key)
            .filter(|(_, at)| now_ms.saturating_sub(*at) < KEEP_MS)
            .map(|(t, _)| t.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_kept_for_a_few_seconds_and_the_map_stays_bounded() {
        let mut r = RecentRoutes::default();
        r.set("5511", "724", 1_000);
        assert_eq!(r.get("5511", 1_000 + KEEP_MS - 1).as_deref(), Some("724"));
        assert_eq!(r.get("5511", 1_000 + KEEP_MS), None);
        r.set("5511", "725", 2_000);
        assert_eq!(r.get("5511", 2_000).as_deref(), Some("725"));
        for i in 0..PRUNE_AT * 5 {
            r.set(&i.to_string(), "x", 100_000 + i as u64 * KEEP_MS);
        }
        assert!(r.map.len() <= PRUNE_AT * 4, "{}", r.map.len());
    }
}
