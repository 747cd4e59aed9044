//! Sticky routes, the lookup cache, calendar counters and rate windows.
//!
//! Rows carry their expiry (`expires_ms`, or `window_end_ms` for counters) and are
//! compared with the `now_ms` the caller passes. An expired row found by a read is deleted
//! then and there; the rest go in a sweep that a write runs about once a minute.

use std::time::Duration;

use async_trait::async_trait;
use e173gw_core::ports::{Cache, CounterStore, Result, StickyRoute, StickyStore, Window};
use rusqlite::{params, Connection, OptionalExtension};

use super::db::{bound, check_text, from_i64, DbResult};
use super::hot::Lookup;
use super::{Shared, SqliteStore};

/// How long counters are kept after their window ends (a year of daily totals, for
/// reports), before a sweep deletes them.
const COUNTER_RETENTION_MS: u64 = 400 * 86_400_000;

/// `now_ms + ttl`, capped to what SQLite can store.
fn expiry(now_ms: u64, ttl: Duration) -> u64 {
    let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
    now_ms.saturating_add(ttl_ms).min(i64::MAX as u64)
}

// === impl StickyStore ===

fn read_sticky(c: &Connection, number: &str) -> DbResult<Option<StickyRoute>> {
    let row = c
        .prepare_cached("SELECT target, expires_ms FROM sticky_routes WHERE number = ?1")?
        .query_row([number], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })
        .optional()?;
    Ok(row.map(|(target, expires)| StickyRoute {
        number: number.to_owned(),
        target,
        expires_ms: from_i64(expires),
    }))
}

/// Deletes sticky routes expired at `now_ms`.
pub(super) fn sweep_sticky(s: &Shared, c: &Connection, now_ms: u64) -> DbResult<usize> {
    let n = c
        .prepare_cached("DELETE FROM sticky_routes WHERE expires_ms <= ?1")?
        .execute([bound(now_ms)])?;
    s.sticky
        .retain(|_, v| v.as_ref().is_none_or(|r| r.expires_ms > now_ms))?;
    Ok(n)
}

#[async_trait]
impl StickyStore for SqliteStore {
    async fn get(&self, number: &str, now_ms: u64) -> Result<Option<StickyRoute>> {
        check_text("number", number)?;
        let number = number.to_owned();
        let generation = match self.shared.sticky.lookup(&number)? {
            Lookup::Hit(None) => return Ok(None),
            Lookup::Hit(Some(r)) if r.expires_ms > now_ms => return Ok(Some(r)),
            Lookup::Hit(Some(_)) => None,
            Lookup::Miss(g) => Some(g),
        };
        self.blocking(move |s| {
            if let Some(g) = generation {
                match s.db.read(|c| read_sticky(c, &number))? {
                    Some(r) if r.expires_ms > now_ms => {
                        s.sticky.fill(number, Some(r.clone()), g)?;
                        return Ok(Some(r));
                    }
                    None => {
                        s.sticky.fill(number, None, g)?;
                        return Ok(None);
                    }
                    Some(_) => {}
                }
            }
            // Expired at `now_ms`: delete it now rather than wait for a sweep.
            s.db.write(|c| {
                c.prepare_cached(
                    "DELETE FROM sticky_routes WHERE number = ?1 AND expires_ms <= ?2",
                )?
                .execute(params![number, bound(now_ms)])?;
                s.sticky.forget(&number)?;
                Ok(None)
            })
        })
        .await
    }

    async fn set(&self, number: &str, target: &str, now_ms: u64, ttl: Duration) -> Result<()> {
        check_text("number", number)?;
        check_text("target", target)?;
        let route = StickyRoute {
            number: number.to_owned(),
            target: target.to_owned(),
            expires_ms: expiry(now_ms, ttl),
        };
        self.blocking(move |s| {
            s.db.write(|c| {
                c.prepare_cached(
                    "INSERT INTO sticky_routes (number, target, expires_ms) VALUES (?1, ?2, ?3)
                     ON CONFLICT (number) DO UPDATE
                     SET target = excluded.target, expires_ms = excluded.expires_ms",
                )?
                .execute(params![
                    route.number,
                    route.target,
                    bound(route.expires_ms)
                ])?;
                s.sticky.put(route.number.clone(), Some(route))?;
                if s.sweeps.sticky.due(now_ms) {
                    sweep_sticky(s, c, now_ms)?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn remove(&self, number: &str) -> Result<()> {
        check_text("number", number)?;
        let number = number.to_owned();
        self.blocking(move |s| {
            s.db.write(|c| {
                c.prepare_cached("DELETE FROM sticky_routes WHERE number = ?1")?
                    .execute([&number])?;
                s.sticky.put(number, None)?;
                Ok(())
            })
        })
        .await
    }
}

// === impl Cache ===

/// Deletes cache entries expired at `now_ms`.
pub(super) fn sweep_cache(s: &Shared, c: &Connection, now_ms: u64) -> DbResult<usize> {
    let n = c
        .prepare_cached("DELETE FROM cache_entries WHERE expires_ms <= ?1")?
        .execute([bound(now_ms)])?;
    s.cache
        .retain(|_, v| v.as_ref().is_none_or(|(_, e)| *e > now_ms))?;
    Ok(n)
}

#[async_trait]
impl Cache for SqliteStore {
    async fn get(&self, ns: &str, key: &str, now_ms: u64) -> Result<Option<String>> {
        check_text("ns", ns)?;
        check_text("key", key)?;
        let k = (ns.to_owned(), key.to_owned());
        let generation = match self.shared.cache.lookup(&k)? {
            Lookup::Hit(None) => return Ok(None),
            Lookup::Hit(Some((v, e))) if e > now_ms => return Ok(Some(v)),
            Lookup::Hit(Some(_)) => None,
            Lookup::Miss(g) => Some(g),
        };
        self.blocking(move |s| {
            if let Some(g) = generation {
                let row = s.db.read(|c| {
                    Ok(c.prepare_cached(
                        "SELECT value, expires_ms FROM cache_entries WHERE ns = ?1 AND key = ?2",
                    )?
                    .query_row(params![k.0, k.1], |r| {
                        Ok((r.get::<_, String>(0)?, from_i64(r.get(1)?)))
                    })
                    .optional()?)
                })?;
                match row {
                    Some((v, e)) if e > now_ms => {
                        s.cache.fill(k, Some((v.clone(), e)), g)?;
                        return Ok(Some(v));
                    }
                    None => {
                        s.cache.fill(k, None, g)?;
                        return Ok(None);
                    }
                    Some(_) => {}
                }
            }
            s.db.write(|c| {
                c.prepare_cached(
                    "DELETE FROM cache_entries WHERE ns = ?1 AND key = ?2 AND expires_ms <= ?3",
                )?
                .execute(params![k.0, k.1, bound(now_ms)])?;
                s.cache.forget(&k)?;
                Ok(None)
            })
        })
        .await
    }

    async fn set(
        &self,
        ns: &str,
        key: &str,
        value: &str,
        now_ms: u64,
        ttl: Duration,
    ) -> Result<()> {
        check_text("ns", ns)?;
        check_text("key", key)?;
        check_text("value", value)?;
        let k = (ns.to_owned(), key.to_owned());
        let value = value.to_owned();
        let expires = expiry(now_ms, ttl);
        self.blocking(move |s| {
            s.db.write(|c| {
                c.prepare_cached(
                    "INSERT INTO cache_entries (ns, key, value, expires_ms) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (ns, key) DO UPDATE
                     SET value = excluded.value, expires_ms = excluded.expires_ms",
                )?
                .execute(params![k.0, k.1, value, bound(expires)])?;
                s.cache.put(k, Some((value, expires)))?;
                if s.sweeps.cache.due(now_ms) {
                    sweep_cache(s, c, now_ms)?;
                }
                Ok(())
            })
        })
        .await
    }
}

// === impl CounterStore ===

/// Deletes counters whose window ended more than the retention period before `now_ms`.
pub(super) fn sweep_counters(s: &Shared, c: &Connection, now_ms: u64) -> DbResult<usize> {
    let cutoff = now_ms.saturating_sub(COUNTER_RETENTION_MS);
    let n = c
        .prepare_cached("DELETE FROM counters WHERE window_end_ms <= ?1")?
        .execute([bound(cutoff)])?;
    if n > 0 {
        s.counters.retain(|_, _| false)?;
    }
    Ok(n)
}

/// Deletes rate-window seconds that no span reaches any more at `now_ms`.
pub(super) fn sweep_hits(c: &Connection, now_ms: u64) -> DbResult<usize> {
    Ok(
        c.prepare_cached("DELETE FROM rate_hits WHERE expires_ms <= ?1")?
            .execute([bound(now_ms)])?,
    )
}

#[async_trait]
impl CounterStore for SqliteStore {
    async fn add(&self, key: &str, window: Window, at_ms: u64, delta: i64) -> Result<i64> {
        check_text("key", key)?;
        let k = (key.to_owned(), window.bucket(at_ms));
        let end = window.end_ms(at_ms);
        self.blocking(move |s| {
            s.db.write(|c| {
                let total: i64 = c
                    .prepare_cached(
                        "INSERT INTO counters (key, bucket, total, window_end_ms)
                         VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (key, bucket) DO UPDATE SET total = total + excluded.total
                         RETURNING total",
                    )?
                    .query_row(params![k.0, k.1, delta, bound(end)], |r| r.get(0))?;
                s.counters.put(k, total)?;
                if s.sweeps.counters.due(at_ms) {
                    sweep_counters(s, c, at_ms)?;
                }
                Ok(total)
            })
        })
        .await
    }

    async fn get(&self, key: &str, window: Window, at_ms: u64) -> Result<i64> {
        check_text("key", key)?;
        let k = (key.to_owned(), window.bucket(at_ms));
        let generation = match self.shared.counters.lookup(&k)? {
            Lookup::Hit(total) => return Ok(total),
            Lookup::Miss(g) => g,
        };
        self.blocking(move |s| {
            let total = s.db.read(|c| {
                Ok(
                    c.prepare_cached("SELECT total FROM counters WHERE key = ?1 AND bucket = ?2")?
                        .query_row(params![k.0, k.1], |r| r.get::<_, i64>(0))
                        .optional()?
                        .unwrap_or(0),
                )
            })?;
            s.counters.fill(k, total, generation)?;
            Ok(total)
        })
        .await
    }

    async fn hit(&self, key: &str, at_ms: u64, span: Duration) -> Result<u64> {
        check_text("key", key)?;
        let key = key.to_owned();
        let span_s = span.as_secs().max(1);
        let second = at_ms / 1000;
        let expires = second.saturating_add(span_s).saturating_mul(1000);
        self.blocking(move |s| {
            s.db.write(|c| {
                c.prepare_cached(
                    "INSERT INTO rate_hits (key, second, hits, expires_ms) VALUES (?1, ?2, 1, ?3)
                     ON CONFLICT (key, second) DO UPDATE
                     SET hits = hits + 1, expires_ms = max(expires_ms, excluded.expires_ms)",
                )?
                .execute(params![key, bound(second), bound(expires)])?;
                let hits: i64 = c
                    .prepare_cached(
                        "SELECT coalesce(sum(hits), 0) FROM rate_hits
                         WHERE key = ?1 AND second > ?2 AND second <= ?3",
                    )?
                    .query_row(
                        params![key, bound(second) - bound(span_s), bound(second)],
                        |r| r.get(0),
                    )?;
                if s.sweeps.hits.due(at_ms) {
                    sweep_hits(c, at_ms)?;
                }
                Ok(from_i64(hits))
            })
        })
        .await
    }
}
