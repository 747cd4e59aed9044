//! Redis: sticky routes, counters, rate windows and the lookup cache.
//!
//! [`RedisStore`] implements [`StickyStore`](e173gw_core::ports::StickyStore),
//! [`CounterStore`](e173gw_core::ports::CounterStore) and
//! [`Cache`](e173gw_core::ports::Cache) over one multiplexed
//! [`ConnectionManager`] (it reconnects by itself). Every command is bounded by the
//! configured timeout; a Redis that is down or slow is [`StoreError::Unavailable`].
//! Key expiry does the cleanup: nothing here scans or deletes old keys.
//!
//! # Key layout (`<p>` is the configured prefix)
//!
//! | Key | Type | Value | Expiry |
//! |-----|------|-------|--------|
//! | `<p>sticky:<number>` | string | `<expires_ms>\|<target>` | `PX` the route's TTL |
//! | `<p>cnt:<key>:<bucket>` | string | the window's total (`INCRBY`) | `PEXPIREAT` window end + grace |
//! | `<p>hit:<key>` | sorted set | one member per hit, scored by its Unix second | `PEXPIRE` span + 2 s |
//! | `<p>cache:<ns>:<key>` | string | `<expires_ms>\|<value>` | `PX` the entry's TTL |
//!
//! `<bucket>` is [`Window::bucket`](e173gw_core::ports::Window::bucket) (`d20261122`,
//! `m202611`). Sticky routes and cache entries carry their own expiry time so that `get`
//! honours the `now_ms` it is given exactly, whatever Redis's clock says; Redis's expiry
//! only removes them afterwards. Rate windows are sorted sets rather than per-second
//! keys so that a long span costs no more than a short one: a hit adds a member, trims
//! the members older than the span and counts the rest, in one `MULTI`.

mod ports;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use e173gw_core::ports::StoreError;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, FromRedisValue, RedisError};

/// How many times the connection manager retries a reconnection before the command that
/// triggered it fails (the next command tries again).
const RECONNECT_RETRIES: usize = 2;

/// The Redis store: one connection manager and a key prefix.
pub struct RedisStore {
    /// The multiplexed connection (cheap to clone, reconnects by itself).
    conn: ConnectionManager,
    /// Prefix of every key.
    prefix: String,
    /// Bound on every command.
    timeout: Duration,
    /// Random per store, so rate-window members from several gateways never collide.
    instance: u64,
    /// Sequence of rate-window members from this store.
    seq: AtomicU64,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

// === impl RedisStore ===

impl RedisStore {
    /// Connects to `url`; every key starts with `prefix` and every command is bounded by
    /// `timeout`. A Redis that cannot be reached within `timeout` is
    /// [`StoreError::Unavailable`]; a malformed URL is [`StoreError::Invalid`].
    pub async fn connect(
        url: &str,
        prefix: &str,
        timeout: Duration,
    ) -> Result<Arc<RedisStore>, StoreError> {
        let timeout = timeout.max(Duration::from_millis(1));
        let client = client(url)?;
        let conn = within(
            timeout,
            client.get_connection_manager_with_config(manager_config(timeout)),
        )
        .await?;
        tracing::debug!(prefix, "Redis store ready.");
        Ok(Self::with(conn, prefix, timeout))
    }

    /// Like [`Self::connect`] without connecting now: the first command connects, so a
    /// gateway can start while Redis is down (its commands are
    /// [`StoreError::Unavailable`] until Redis is back). Only a malformed URL fails.
    /// Needs a Tokio runtime.
    pub fn connect_lazy(
        url: &str,
        prefix: &str,
        timeout: Duration,
    ) -> Result<Arc<RedisStore>, StoreError> {
        let timeout = timeout.max(Duration::from_millis(1));
        let conn = client(url)?
            .get_connection_manager_lazy(manager_config(timeout))
            .map_err(|e| redis_error(&e))?;
        Ok(Self::with(conn, prefix, timeout))
    }

    fn with(conn: ConnectionManager, prefix: &str, timeout: Duration) -> Arc<RedisStore> {
        let instance = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        Arc::new(RedisStore {
            conn,
            prefix: prefix.to_string(),
            timeout,
            instance,
            seq: AtomicU64::new(0),
        })
    }

    /// Checks that Redis answers within the timeout (for health checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let pong: String = self.query(&redis::cmd("PING")).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(StoreError::Backend(format!("PING answered {pong:?}")))
        }
    }

    /// The full name of a key.
    fn key(&self, parts: &[&str]) -> String {
        let mut k = self.prefix.clone();
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                k.push(':');
            }
            k.push_str(p);
        }
        k
    }

    /// A unique member for a rate window.
    fn member(&self, at_ms: u64) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        format!("{at_ms}:{:016x}:{n}", self.instance)
    }

    /// Runs one command within the timeout.
    async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        within(self.timeout, cmd.query_async(&mut conn)).await
    }

    /// Runs a pipeline (atomic when built with `atomic()`) within the timeout.
    async fn query_pipe<T: FromRedisValue>(&self, pipe: &redis::Pipeline) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        within(self.timeout, pipe.query_async(&mut conn)).await
    }
}

/// Waits for Redis's reply, at most `timeout`.
async fn within<T>(
    timeout: Duration,
    reply: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(timeout, reply)
        .await
        .map_err(|_| StoreError::Unavailable("Redis did not answer in time".into()))?
        .map_err(|e| redis_error(&e))
}

fn client(url: &str) -> Result<redis::Client, StoreError> {
    redis::Client::open(url).map_err(|e| StoreError::Invalid(format!("Redis URL: {e}")))
}

fn manager_config(timeout: Duration) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(RECONNECT_RETRIES)
        .set_max_delay(timeout)
}

/// Maps a client error: a wrong reply type or a command the server refused is a bug
/// ([`StoreError::Backend`]); anything else (I/O, refused or dropped connection, time-out,
/// a server loading or read-only) is [`StoreError::Unavailable`].
fn redis_error(e: &RedisError) -> StoreError {
    let bug = match e.kind() {
        ErrorKind::UnexpectedReturnType
        | ErrorKind::Client
        | ErrorKind::InvalidClientConfig
        | ErrorKind::Extension => true,
        ErrorKind::Server(_) => matches!(e.retry_method(), redis::RetryMethod::NoRetry),
        _ => false,
    };
    if bug {
        StoreError::Backend(e.to_string())
    } else {
        StoreError::Unavailable(e.to_string())
    }
}

/// A value stored with its own expiry: `<expires_ms>|<payload>`.
fn encode_expiring(expires_ms: u64, payload: &str) -> String {
    format!("{expires_ms}|{payload}")
}

/// The payload of a value stored by [`encode_expiring`] if still valid at `now_ms`
/// (`None` when expired or not in that form).
fn decode_expiring(value: &str, now_ms: u64) -> Option<(u64, &str)> {
    let (expires, payload) = value.split_once('|')?;
    let expires: u64 = expires.parse().ok()?;
    (expires > now_ms).then_some((expires, payload))
}

/// A duration in whole milliseconds, for `PX`.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
