//! A provider behind its guard: cache (yes and no answers kept for their own TTLs,
//! failures never), circuit breaker, concurrency limit and the caller's time budget.
//! Locks are never held across an await.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use e173gw_actors::filter::{LookupFuture, PortabilityLookup, PresenceLookup};
use e173gw_core::filter::guard::{read_yes_no, Breaker, GuardConfig, TtlCache};
use e173gw_core::filter::LookupFailure;

use super::http::{HttpLookup, ProviderError};
use e173gw_actors::wall_ms;

/// Where the value comes from: the HTTP provider, or anything that answers the same way
/// (tests).
pub trait Fetch: Send + Sync + 'static {
    /// The raw value for `e164`.
    fn fetch(
        &self,
        e164: &str,
    ) -> Pin<Box<dyn Future<Output = Result<serde_json::Value, ProviderError>> + Send + '_>>;
}

impl Fetch for HttpLookup {
    fn fetch(
        &self,
        e164: &str,
    ) -> Pin<Box<dyn Future<Output = Result<serde_json::Value, ProviderError>> + Send + '_>> {
        let e164 = e164.to_string();
        Box::pin(async move { HttpLookup::fetch(self, &e164).await })
    }
}

/// Counters of one guarded provider.
#[derive(Debug, Default)]
pub struct GuardStats {
    /// Answers from the cache.
    pub hits: AtomicU64,
    /// Requests sent.
    pub requests: AtomicU64,
    /// Requests that failed (timeout, transport, status, bad answer).
    pub failures: AtomicU64,
    /// Refused at once: breaker open.
    pub breaker_refusals: AtomicU64,
    /// Refused at once: too many in flight.
    pub busy: AtomicU64,
}

struct Inner<F> {
    fetch: F,
    cfg: GuardConfig,
    cache: Mutex<TtlCache<serde_json::Value>>,
    breaker: Mutex<Breaker>,
    slots: Semaphore,
    stats: GuardStats,
}

/// A guarded provider; cheap to clone.
pub struct Guarded<F> {
    inner: Arc<Inner<F>>,
}

impl<F> Clone for Guarded<F> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<F> std::fmt::Debug for Guarded<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guarded").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<F: Fetch> Guarded<F> {
    /// `fetch` behind the guard `cfg`.
    pub fn new(fetch: F, cfg: GuardConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                fetch,
                cache: Mutex::new(TtlCache::new(cfg.cache_max)),
                breaker: Mutex::new(Breaker::new(cfg.breaker)),
                slots: Semaphore::new(cfg.max_in_flight.max(1)),
                cfg,
                stats: GuardStats::default(),
            }),
        }
    }

    /// Its counters.
    pub fn stats(&self) -> &GuardStats {
        &self.inner.stats
    }

    /// The value for `e164` within `budget`, and whether it came from the cache.
    /// `is_positive` says which TTL a value gets.
    pub async fn value(
        &self,
        e164: &str,
        budget: Duration,
        is_positive: fn(&serde_json::Value) -> bool,
    ) -> (Result<serde_json::Value, LookupFailure>, bool) {
        let i = &self.inner;
        let now = wall_ms();
        if let Some(v) = lock(&i.cache).get(e164, now) {
            i.stats.hits.fetch_add(1, Ordering::Relaxed);
            return (Ok(v), true);
        }
        // A slot first: a half-open breaker's one trial must be able to go.
        let Ok(_slot) = i.slots.try_acquire() else {
            i.stats.busy.fetch_add(1, Ordering::Relaxed);
            return (Err(LookupFailure::Busy), false);
        };
        if !lock(&i.breaker).allow(now) {
            i.stats.breaker_refusals.fetch_add(1, Ordering::Relaxed);
            return (Err(LookupFailure::BreakerOpen), false);
        }
        i.stats.requests.fetch_add(1, Ordering::Relaxed);
        let got = tokio::time::timeout(budget, i.fetch.fetch(e164)).await;
        let done = wall_ms();
        match got {
            Ok(Ok(v)) => {
                lock(&i.breaker).success();
                let ttl_s = if is_positive(&v) {
                    i.cfg.positive_ttl_s
                } else {
                    i.cfg.negative_ttl_s
                };
                lock(&i.cache).put(e164, v.clone(), done, ttl_s.saturating_mul(1000));
                (Ok(v), false)
            }
            Ok(Err(e)) => {
                i.stats.failures.fetch_add(1, Ordering::Relaxed);
                lock(&i.breaker).failure(done);
                let f = match e {
                    ProviderError::Timeout => LookupFailure::Timeout,
                    other => LookupFailure::Error(other.to_string()),
                };
                (Err(f), false)
            }
            Err(_) => {
                i.stats.failures.fetch_add(1, Ordering::Relaxed);
                lock(&i.breaker).failure(done);
                (Err(LookupFailure::Timeout), false)
            }
        }
    }
}

impl<F: Fetch> PresenceLookup for Guarded<F> {
    fn presence(&self, e164: &str, budget: Duration) -> LookupFuture<bool> {
        let me = self.clone();
        let e164 = e164.to_string();
        Box::pin(async move {
            let (v, cached) = me
                .value(&e164, budget, |v| read_yes_no(v).unwrap_or(false))
                .await;
            let r = v.and_then(|v| read_yes_no(&v).map_err(LookupFailure::Error));
            (r, cached)
        })
    }
}

impl<F: Fetch> PortabilityLookup for Guarded<F> {
    fn operator(&self, e164: &str, budget: Duration) -> LookupFuture<Option<String>> {
        let me = self.clone();
        let e164 = e164.to_string();
        Box::pin(async move {
            let (v, cached) = me.value(&e164, budget, |v| v.is_string()).await;
            let r = v.and_then(|v| match v {
                serde_json::Value::String(s) if !s.trim().is_empty() => {
                    Ok(Some(s.trim().to_string()))
                }
                serde_json::Value::Null => Ok(None),
                serde_json::Value::String(_) => Ok(None),
                other => Err(LookupFailure::Error(format!(
                    "{other} is not an operator name"
                ))),
            });
            (r, cached)
        })
    }
}
