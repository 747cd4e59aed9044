//! The port implementations of [`RedisStore`]; the key layout is in the module docs.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use e173gw_core::ports::{Cache, CounterStore, Result, StickyRoute, StickyStore, Window};

use super::{decode_expiring, encode_expiring, millis, RedisStore};

/// How long a counter stays readable after its window ends.
pub(super) fn grace(window: Window) -> Duration {
    match window {
        Window::Day => Duration::from_secs(2 * 86_400),
        Window::Month => Duration::from_secs(35 * 86_400),
    }
}

/// When a counter key expires (Unix ms): `grace` after its window ends, and never sooner
/// than `grace` after the server's present, so that a window the wall clock has already
/// left (a late write, a replay) stays readable for a while instead of vanishing at once.
pub(super) fn counter_expiry(window: Window, at_ms: u64, wall_ms: u64) -> u64 {
    let g = millis(grace(window));
    window
        .end_ms(at_ms)
        .saturating_add(g)
        .max(wall_ms.saturating_add(g))
}

/// The rate-window span in whole seconds (at least one).
pub(super) fn span_secs(span: Duration) -> i64 {
    let s = span.as_secs() + u64::from(span.subsec_nanos() > 0);
    i64::try_from(s.max(1)).unwrap_or(i64::MAX)
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, millis)
}

// === impl RedisStore ===

impl RedisStore {
    /// The payload at `key` and when it expires, if set and not expired at `now_ms`.
    async fn get_expiring(&self, key: &str, now_ms: u64) -> Result<Option<(u64, String)>> {
        let value: Option<String> = self.query(redis::cmd("GET").arg(key)).await?;
        Ok(value.as_deref().and_then(|v| {
            decode_expiring(v, now_ms)
                .map(|(expires_ms, payload)| (expires_ms, payload.to_string()))
        }))
    }

    /// Stores `payload` at `key` for `ttl` from `now_ms` (in the value, for readers that
    /// pass their own `now_ms`, and as the key's own expiry); a zero `ttl` deletes the key.
    async fn set_expiring(
        &self,
        key: &str,
        payload: &str,
        now_ms: u64,
        ttl: Duration,
    ) -> Result<()> {
        let ttl_ms = millis(ttl);
        if ttl_ms == 0 {
            return self.query(redis::cmd("DEL").arg(key)).await;
        }
        let value = encode_expiring(now_ms.saturating_add(ttl_ms), payload);
        self.query(redis::cmd("SET").arg(key).arg(value).arg("PX").arg(ttl_ms))
            .await
    }
}

#[async_trait]
impl StickyStore for RedisStore {
    async fn get(&self, number: &str, now_ms: u64) -> Result<Option<StickyRoute>> {
        let key = self.key(&["sticky", number]);
        let route = self.get_expiring(&key, now_ms).await?;
        Ok(route.map(|(expires_ms, target)| StickyRoute {
            number: number.to_string(),
            target,
            expires_ms,
        }))
    }

    async fn set(&self, number: &str, target: &str, now_ms: u64, ttl: Duration) -> Result<()> {
        let key = self.key(&["sticky", number]);
        self.set_expiring(&key, target, now_ms, ttl).await
    }

    async fn remove(&self, number: &str) -> Result<()> {
        let key = self.key(&["sticky", number]);
        self.query(redis::cmd("DEL").arg(&key)).await
    }
}

#[async_trait]
impl CounterStore for RedisStore {
    async fn add(&self, key: &str, window: Window, at_ms: u64, delta: i64) -> Result<i64> {
        let k = self.key(&["cnt", key, &window.bucket(at_ms)]);
        let expire_at = counter_expiry(window, at_ms, wall_ms());
        let (total, _): (i64, i64) = self
            .query_pipe(
                redis::pipe()
                    .atomic()
                    .cmd("INCRBY")
                    .arg(&k)
                    .arg(delta)
                    .cmd("PEXPIREAT")
                    .arg(&k)
                    .arg(expire_at),
            )
            .await?;
        Ok(total)
    }

    async fn get(&self, key: &str, window: Window, at_ms: u64) -> Result<i64> {
        let k = self.key(&["cnt", key, &window.bucket(at_ms)]);
        let total: Option<i64> = self.query(redis::cmd("GET").arg(&k)).await?;
        Ok(total.unwrap_or(0))
    }

    async fn hit(&self, key: &str, at_ms: u64, span: Duration) -> Result<u64> {
        let k = self.key(&["hit", key]);
        let sec = i64::try_from(at_ms / 1000).unwrap_or(i64::MAX);
        let oldest_out = sec.saturating_sub(span_secs(span));
        let keep_ms = millis(span).saturating_add(2000);
        let (_, _, count, _): (i64, i64, u64, i64) = self
            .query_pipe(
                redis::pipe()
                    .atomic()
                    .cmd("ZADD")
                    .arg(&k)
                    .arg(sec)
                    .arg(self.member(at_ms))
                    .cmd("ZREMRANGEBYSCORE")
                    .arg(&k)
                    .arg("-inf")
                    .arg(oldest_out)
                    .cmd("ZCOUNT")
                    .arg(&k)
                    .arg(format!("({oldest_out}"))
                    .arg(sec)
                    .cmd("PEXPIRE")
                    .arg(&k)
                    .arg(keep_ms),
            )
            .await?;
        Ok(count)
    }
}

#[async_trait]
impl Cache for RedisStore {
    async fn get(&self, ns: &str, key: &str, now_ms: u64) -> Result<Option<String>> {
        let k = self.key(&["cache", ns, key]);
        let entry = self.get_expiring(&k, now_ms).await?;
        Ok(entry.map(|(_, value)| value))
    }

    async fn set(
        &self,
        ns: &str,
        key: &str,
        value: &str,
        now_ms: u64,
        ttl: Duration,
    ) -> Result<()> {
        let k = self.key(&["cache", ns, key]);
        self.set_expiring(&k, value, now_ms, ttl).await
    }
}
