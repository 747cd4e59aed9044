//! A bounded in-memory map in front of a table, for values read on every call.
//!
//! Writes go to SQLite first and then to the map, while the writer connection is held,
//! so the map never runs ahead of the file and two writes reach it in commit order.
//! A read that missed fills the map only if no write happened since the miss (a
//! generation number tells), so a slow read cannot put back a value a write replaced.
//! Absence is cached too (`V` is usually an `Option`).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

use e173gw_core::ports::StoreError;

/// What the map knows about a key.
#[derive(Debug)]
pub(super) enum Lookup<V> {
    /// The value as last written or read.
    Hit(V),
    /// Not in the map; pass the generation to [`HotMap::fill`] after reading the table.
    Miss(u64),
}

struct Inner<K, V> {
    map: HashMap<K, V>,
    generation: u64,
}

/// A bounded map, coherent with the table behind it.
pub(super) struct HotMap<K, V> {
    inner: Mutex<Inner<K, V>>,
    capacity: usize,
}

impl<K, V> std::fmt::Debug for HotMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotMap")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl<K: Eq + Hash, V: Clone> HotMap<K, V> {
    /// A map holding at most `capacity` keys.
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                generation: 0,
            }),
            capacity: capacity.max(2),
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner<K, V>>, StoreError> {
        self.inner
            .lock()
            .map_err(|_| StoreError::Backend("storage cache lock poisoned".into()))
    }

    /// The cached value of `key`, or the generation to fill it with.
    pub(super) fn lookup(&self, key: &K) -> Result<Lookup<V>, StoreError> {
        let inner = self.lock()?;
        Ok(match inner.map.get(key) {
            Some(v) => Lookup::Hit(v.clone()),
            None => Lookup::Miss(inner.generation),
        })
    }

    /// Caches what a read found, unless a write happened since the lookup.
    pub(super) fn fill(&self, key: K, value: V, generation: u64) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        if inner.generation == generation {
            self.insert(&mut inner, key, value);
        }
        Ok(())
    }

    /// Caches what a write committed (call with the writer connection held).
    pub(super) fn put(&self, key: K, value: V) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        inner.generation = inner.generation.wrapping_add(1);
        self.insert(&mut inner, key, value);
        Ok(())
    }

    /// Forgets `key` (the next read goes to the table).
    pub(super) fn forget(&self, key: &K) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        inner.generation = inner.generation.wrapping_add(1);
        inner.map.remove(key);
        Ok(())
    }

    /// Keeps only the entries `keep` accepts (after a sweep of the table).
    pub(super) fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        inner.generation = inner.generation.wrapping_add(1);
        inner.map.retain(|k, v| keep(k, v));
        Ok(())
    }

    /// How many keys are cached.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().map(|i| i.map.len()).unwrap_or(0)
    }

    fn insert(&self, inner: &mut Inner<K, V>, key: K, value: V) {
        if inner.map.len() >= self.capacity && !inner.map.contains_key(&key) {
            // Full: drop every other entry. Amortised O(1) per insert, and a dropped
            // entry only costs one read of the table later.
            let mut odd = false;
            inner.map.retain(|_, _| {
                odd = !odd;
                odd
            });
        }
        inner.map.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_after_write_is_ignored() {
        let m: HotMap<u32, Option<u32>> = HotMap::new(8);
        let Ok(Lookup::Miss(g)) = m.lookup(&1) else {
            panic!("expected a miss")
        };
        m.put(1, Some(2)).expect("put");
        m.fill(1, Some(1), g).expect("fill");
        assert!(matches!(m.lookup(&1), Ok(Lookup::Hit(Some(2)))));
        let Ok(Lookup::Miss(g)) = m.lookup(&2) else {
            panic!("expected a miss")
        };
        m.fill(2, None, g).expect("fill");
        assert!(matches!(m.lookup(&2), Ok(Lookup::Hit(None))));
        m.forget(&2).expect("forget");
        assert!(matches!(m.lookup(&2), Ok(Lookup::Miss(_))));
    }

    #[test]
    fn stays_bounded() {
        let m: HotMap<u32, u32> = HotMap::new(10);
        for i in 0..1000 {
            m.put(i, i).expect("put");
            assert!(m.len() <= 10);
        }
        assert!(matches!(m.lookup(&999), Ok(Lookup::Hit(999))));
    }
}
