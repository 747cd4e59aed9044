//! Keeps sticky routes, counters and the lookup cache working when their shared store
//! (Redis) is down: reads and writes fall back to a local mirror, writes made meanwhile are
//! queued and replayed once the store answers again. The state is visible
//! ([`Resilient::degraded`], a log line at each change) and recovery needs no operator.
//!
//! While degraded, the store is not asked on every call (that would add its timeout to
//! every call): it is probed again after a backoff.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tracing::{info, warn};

use e173gw_core::ports::{
    Cache, CounterStore, Result, StickyRoute, StickyStore, StoreError, Window,
};

/// Writes held back while the store is down.
#[derive(Debug, Clone)]
enum Pending {
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
    Hit {
        key: String,
        at_ms: u64,
        span: Duration,
    },
    CacheSet {
        ns: String,
        key: String,
        value: String,
        now_ms: u64,
        ttl: Duration,
    },
}

/// Most writes held back; older ones are dropped past this (the local view stays right).
const MAX_PENDING: usize = 100_000;

#[derive(Debug, Default)]
struct Local {
    sticky: HashMap<String, StickyRoute>,
    counters: HashMap<(String, String), i64>,
    hits: HashMap<String, VecDeque<u64>>,
    cache: HashMap<(String, String), (String, u64)>,
    pending: VecDeque<Pending>,
    retry_at: Option<tokio::time::Instant>,
    backoff: Duration,
}

/// The resilient wrapper. See the module docs.
pub struct Resilient<S> {
    inner: Arc<S>,
    local: Mutex<Local>,
    degraded: AtomicBool,
}

impl<S> std::fmt::Debug for Resilient<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resilient")
            .field("degraded", &self.degraded.load(Ordering::Relaxed))
            .finish()
    }
}

impl<S> Resilient<S>
where
    S: StickyStore + CounterStore + Cache + 'static,
{
    /// Wraps a shared store.
    pub fn new(inner: Arc<S>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            local: Mutex::new(Local {
                backoff: Duration::from_millis(500),
                ..Local::default()
            }),
            degraded: AtomicBool::new(false),
        })
    }

    /// Whether the shared store is failing and local state is in use.
    pub fn degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    /// Writes waiting for the store.
    pub fn pending(&self) -> usize {
        self.local.lock().map_or(0, |l| l.pending.len())
    }

    fn with_local<T>(&self, f: impl FnOnce(&mut Local) -> T) -> Result<T> {
        let mut l = self
            .local
            .lock()
            .map_err(|_| StoreError::Backend("local state poisoned".into()))?;
        Ok(f(&mut l))
    }

    /// Whether to ask the store now (always when healthy; after the backoff when degraded).
    fn should_try(&self) -> bool {
        if !self.degraded() {
            return true;
        }
        self.with_local(|l| l.retry_at.is_none_or(|t| tokio::time::Instant::now() >= t))
            .unwrap_or(true)
    }

    fn failed(&self, e: &StoreError) {
        let was = self.degraded.swap(true, Ordering::Relaxed);
        let _ = self.with_local(|l| {
            l.retry_at = Some(tokio::time::Instant::now() + l.backoff);
            l.backoff = (l.backoff * 2).min(Duration::from_secs(10));
        });
        if !was {
            warn!(error = %e, "Shared store unavailable; sticky routes, counters and cache use local state.");
        }
    }

    fn queue(&self, p: Pending) {
        let _ = self.with_local(|l| {
            if l.pending.len() >= MAX_PENDING {
                l.pending.pop_front();
            }
            l.pending.push_back(p);
        });
    }

    /// The store answered: replay what was held back, then leave the degraded state.
    async fn recovered(&self) {
        if !self.degraded() {
            return;
        }
        while let Ok(Some(p)) = self.with_local(|l| l.pending.front().cloned()) {
            let r = match &p {
                Pending::StickySet {
                    number,
                    target,
                    now_ms,
                    ttl,
                } => StickyStore::set(&*self.inner, number, target, *now_ms, *ttl).await,
                Pending::StickyRemove { number } => StickyStore::remove(&*self.inner, number).await,
                Pending::Add {
                    key,
                    window,
                    at_ms,
                    delta,
                } => self
                    .inner
                    .add(key, *window, *at_ms, *delta)
                    .await
                    .map(|_| ()),
                Pending::Hit { key, at_ms, span } => {
                    self.inner.hit(key, *at_ms, *span).await.map(|_| ())
                }
                Pending::CacheSet {
                    ns,
                    key,
                    value,
                    now_ms,
                    ttl,
                } => Cache::set(&*self.inner, ns, key, value, *now_ms, *ttl).await,
            };
            match r {
                Ok(()) => {
                    let _ = self.with_local(|l| l.pending.pop_front());
                }
                Err(e) if e.is_retryable() => {
                    self.failed(&e);
                    return;
                }
                Err(e) => {
                    warn!(error = %e, "A held-back write was refused; dropped.");
                    let _ = self.with_local(|l| l.pending.pop_front());
                }
            }
        }
        let _ = self.with_local(|l| {
            l.backoff = Duration::from_millis(500);
            l.retry_at = None;
        });
        self.degraded.store(false, Ordering::Relaxed);
        info!("Shared store is back; local writes replayed.");
    }

    /// Runs `op` against the store when it may be asked; `None` means "use local state".
    async fn attempt<T, F>(&self, op: F) -> Option<T>
    where
        F: std::future::Future<Output = Result<T>>,
    {
        if !self.should_try() {
            return None;
        }
        match op.await {
            Ok(v) => {
                self.recovered().await;
                Some(v)
            }
            Err(e) => {
                if e.is_retryable() {
                    self.failed(&e);
                } else {
                    warn!(error = %e, "Shared store refused an operation; local state used.");
                }
                None
            }
        }
    }
}

#[async_trait]
impl<S> StickyStore for Resilient<S>
where
    S: StickyStore + CounterStore + Cache + 'static,
{
    async fn get(&self, number: &str, now_ms: u64) -> Result<Option<StickyRoute>> {
        if let Some(v) = self
            .attempt(StickyStore::get(&*self.inner, number, now_ms))
            .await
        {
            self.with_local(|l| match &v {
                Some(r) => {
                    l.sticky.insert(number.to_string(), r.clone());
                }
                None => {
                    l.sticky.remove(number);
                }
            })?;
            return Ok(v);
        }
        self.with_local(|l| {
            l.sticky
                .get(number)
                .filter(|r| r.expires_ms > now_ms)
                .cloned()
        })
    }

    async fn set(&self, number: &str, target: &str, now_ms: u64, ttl: Duration) -> Result<()> {
        let route = StickyRoute {
            number: number.into(),
            target: target.into(),
            expires_ms: now_ms + ttl.as_millis() as u64,
        };
        self.with_local(|l| l.sticky.insert(number.to_string(), route))?;
        if self
            .attempt(StickyStore::set(&*self.inner, number, target, now_ms, ttl))
            .await
            .is_none()
        {
            self.queue(Pending::StickySet {
                number: number.into(),
                target: target.into(),
                now_ms,
                ttl,
            });
        }
        Ok(())
    }

    async fn remove(&self, number: &str) -> Result<()> {
        self.with_local(|l| l.sticky.remove(number))?;
        if self
            .attempt(StickyStore::remove(&*self.inner, number))
            .await
            .is_none()
        {
            self.queue(Pending::StickyRemove {
                number: number.into(),
            });
        }
        Ok(())
    }
}

#[async_trait]
impl<S> CounterStore for Resilient<S>
where
    S: StickyStore + CounterStore + Cache + 'static,
{
    async fn add(&self, key: &str, window: Window, at_ms: u64, delta: i64) -> Result<i64> {
        let k = (key.to_string(), window.bucket(at_ms));
        if let Some(total) = self
            .attempt(self.inner.add(key, window, at_ms, delta))
            .await
        {
            self.with_local(|l| l.counters.insert(k, total))?;
            return Ok(total);
        }
        self.queue(Pending::Add {
            key: key.into(),
            window,
            at_ms,
            delta,
        });
        self.with_local(|l| {
            let v = l.counters.entry(k).or_insert(0);
            *v += delta;
            *v
        })
    }

    async fn get(&self, key: &str, window: Window, at_ms: u64) -> Result<i64> {
        let k = (key.to_string(), window.bucket(at_ms));
        if let Some(total) = self
            .attempt(CounterStore::get(&*self.inner, key, window, at_ms))
            .await
        {
            self.with_local(|l| l.counters.insert(k, total))?;
            return Ok(total);
        }
        self.with_local(|l| l.counters.get(&k).copied().unwrap_or(0))
    }

    async fn hit(&self, key: &str, at_ms: u64, span: Duration) -> Result<u64> {
        let local = self.with_local(|l| {
            let q = l.hits.entry(key.to_string()).or_default();
            q.push_back(at_ms / 1000);
            let first = (at_ms / 1000).saturating_sub(span.as_secs().saturating_sub(1));
            while q.front().is_some_and(|s| *s < first) {
                q.pop_front();
            }
            q.len() as u64
        })?;
        if let Some(n) = self.attempt(self.inner.hit(key, at_ms, span)).await {
            return Ok(n);
        }
        self.queue(Pending::Hit {
            key: key.into(),
            at_ms,
            span,
        });
        Ok(local)
    }
}

#[async_trait]
impl<S> Cache for Resilient<S>
where
    S: StickyStore + CounterStore + Cache + 'static,
{
    async fn get(&self, ns: &str, key: &str, now_ms: u64) -> Result<Option<String>> {
        if let Some(v) = self
            .attempt(Cache::get(&*self.inner, ns, key, now_ms))
            .await
        {
            return Ok(v);
        }
        self.with_local(|l| {
            l.cache
                .get(&(ns.to_string(), key.to_string()))
                .filter(|(_, exp)| *exp > now_ms)
                .map(|(v, _)| v.clone())
        })
    }

    async fn set(
        &self,
        ns: &str,
        key: &str,
        value: &str,
        now_ms: u64,
        ttl: Duration,
    ) -> Result<()> {
        let exp = now_ms + ttl.as_millis() as u64;
        self.with_local(|l| {
            l.cache
                .insert((ns.to_string(), key.to_string()), (value.to_string(), exp))
        })?;
        if self
            .attempt(Cache::set(&*self.inner, ns, key, value, now_ms, ttl))
            .await
            .is_none()
        {
            self.queue(Pending::CacheSet {
                ns: ns.into(),
                key: key.into(),
                value: value.into(),
                now_ms,
                ttl,
            });
        }
        Ok(())
    }
}
