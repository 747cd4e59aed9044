//! Keeps sticky routes, counters, rate windows and the lookup cache working when their
//! shared store (Redis) is down or slow.
//!
//! While healthy every operation goes to the store and its answer is mirrored locally.
//! When an operation fails for a retryable reason the wrapper turns **degraded**: calls are
//! answered from the local mirror at once (no call waits for a store timeout again), and
//! writes are applied locally and held back. A background task probes the store; when it
//! answers, the held-back writes are replayed (or, when the store came back without its
//! data, the local state is pushed back), counter totals are brought up to the local view,
//! and the wrapper is healthy again. The same task notices a store that lost its data while
//! healthy (a restart between two calls) by a marker key. Every change of state is logged
//! and visible in [`Resilient::status`] (exported as metrics).
//!
//! Rate windows are not replayed: they span seconds, so a gap of one span after an outage
//! is all that is lost.

mod local;
mod recover;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use tracing::warn;

use e173gw_core::ports::{
    Cache, CounterStore, Result, StickyRoute, StickyStore, StoreError, Window,
};

use local::{Local, Pending};
pub use recover::Timing;

/// What the wrapper reports about itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SharedStatus {
    /// The store is failing and local state is in use.
    pub degraded: bool,
    /// Writes waiting for the store.
    pub pending: u64,
    /// Times the store went down.
    pub outages: u64,
    /// Times the store came back without its data and local state was pushed back.
    pub resyncs: u64,
    /// Held-back writes dropped because too many waited.
    pub dropped: u64,
}

/// The resilient wrapper. See the module docs.
pub struct Resilient<S> {
    inner: Arc<S>,
    local: Mutex<Local>,
    /// Changed only under `local`'s lock, so an operation that saw it set queues its write
    /// before recovery can declare the queue empty.
    degraded: AtomicBool,
    outages: AtomicU64,
    resyncs: AtomicU64,
    /// The store has been seen holding the marker (so its absence means lost data).
    marker_seen: AtomicBool,
}

impl<S> std::fmt::Debug for Resilient<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resilient")
            .field("degraded", &self.degraded.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// What the wrapper needs of the store it wraps.
pub trait SharedStore: StickyStore + CounterStore + Cache + 'static {}
impl<T: StickyStore + CounterStore + Cache + 'static> SharedStore for T {}

impl<S: SharedStore> Resilient<S> {
    /// Wraps a shared store and starts the recovery task (on the current Tokio runtime).
    pub fn new(inner: Arc<S>) -> Arc<Self> {
        Self::with_timing(inner, Timing::default())
    }

    /// [`Resilient::new`] with other probe intervals.
    pub fn with_timing(inner: Arc<S>, timing: Timing) -> Arc<Self> {
        let me = Arc::new(Self {
            inner,
            local: Mutex::new(Local::default()),
            degraded: AtomicBool::new(false),
            outages: AtomicU64::new(0),
            resyncs: AtomicU64::new(0),
            marker_seen: AtomicBool::new(false),
        });
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(recover::monitor(Arc::downgrade(&me), timing));
            }
            Err(_) => warn!("No runtime: the shared store will not be probed after a failure."),
        }
        me
    }

    /// Whether the store is failing and local state is in use.
    pub fn degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    /// The state, for metrics and health.
    pub fn status(&self) -> SharedStatus {
        let (pending, dropped) = self
            .lock()
            .map_or((0, 0), |l| (l.pending.len() as u64, l.dropped));
        SharedStatus {
            degraded: self.degraded(),
            pending,
            outages: self.outages.load(Ordering::Relaxed),
            resyncs: self.resyncs.load(Ordering::Relaxed),
            dropped,
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Local>> {
        self.local
            .lock()
            .map_err(|_| StoreError::Backend("local state poisoned".into()))
    }

    /// Turns degraded (under the lock); logs the change.
    fn mark_down(&self, _held: &mut Local, e: &StoreError) {
        if !self.degraded.swap(true, Ordering::Relaxed) {
            self.outages.fetch_add(1, Ordering::Relaxed);
            warn!(error = %e, "Shared store unavailable; sticky routes, counters and cache use local state.");
        }
    }

    /// A failed call: degraded if retryable (answered locally), else the error.
    fn on_error(&self, e: StoreError) -> Result<()> {
        if !e.is_retryable() {
            return Err(e);
        }
        let mut l = self.lock()?;
        self.mark_down(&mut l, &e);
        Ok(())
    }

    /// A write: applied locally by `apply`; sent to the store when healthy, else held back.
    /// A retryable failure holds it back too.
    async fn write<T, F>(
        &self,
        apply: impl FnOnce(&mut Local) -> T,
        pending: Pending,
        send: F,
    ) -> Result<T>
    where
        F: std::future::Future<Output = Result<()>>,
    {
        let v = {
            let mut l = self.lock()?;
            let v = apply(&mut l);
            if self.degraded() {
                l.queue(pending);
                return Ok(v);
            }
            v
        };
        match send.await {
            Ok(()) => Ok(v),
            Err(e) if e.is_retryable() => {
                let mut l = self.lock()?;
                self.mark_down(&mut l, &e);
                l.queue(pending);
                Ok(v)
            }
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl<S: SharedStore> StickyStore for Resilient<S> {
    async fn get(&self, number: &str, now_ms: u64) -> Result<Option<StickyRoute>> {
        if !self.degraded() {
            match StickyStore::get(&*self.inner, number, now_ms).await {
                Ok(v) => {
                    let mut l = self.lock()?;
                    match &v {
                        Some(r) => l.set_sticky(r.clone(), now_ms),
                        None => {
                            l.sticky.remove(number);
                        }
                    }
                    return Ok(v);
                }
                Err(e) => self.on_error(e)?,
            }
        }
        Ok(self.lock()?.sticky(number, now_ms))
    }

    async fn set(&self, number: &str, target: &str, now_ms: u64, ttl: Duration) -> Result<()> {
        let route = StickyRoute {
            number: number.into(),
            target: target.into(),
            expires_ms: now_ms.saturating_add(ttl.as_millis() as u64),
        };
        let pending = Pending::StickySet {
            number: number.into(),
            target: target.into(),
            now_ms,
            ttl,
        };
        self.write(
            |l| l.set_sticky(route, now_ms),
            pending,
            StickyStore::set(&*self.inner, number, target, now_ms, ttl),
        )
        .await
    }

    async fn remove(&self, number: &str) -> Result<()> {
        self.write(
            |l| {
                l.sticky.remove(number);
            },
            Pending::StickyRemove {
                number: number.into(),
            },
            StickyStore::remove(&*self.inner, number),
        )
        .await
    }
}

#[async_trait]
impl<S: SharedStore> CounterStore for Resilient<S> {
    async fn add(&self, key: &str, window: Window, at_ms: u64, delta: i64) -> Result<i64> {
        let pending = Pending::Add {
            key: key.into(),
            window,
            at_ms,
            delta,
        };
        let epoch = {
            let mut l = self.lock()?;
            if self.degraded() {
                l.queue(pending);
                return Ok(l.add_counter(key, window, at_ms, delta));
            }
            l.add_own(key, window, at_ms, delta);
            l.epoch
        };
        match self.inner.add(key, window, at_ms, delta).await {
            // Never below this node's own count: a store that lost its data answers low
            // until the probe pushes the totals back.
            Ok(total) => Ok(self.lock()?.see(key, window, at_ms, total)),
            Err(e) if e.is_retryable() => {
                let mut l = self.lock()?;
                self.mark_down(&mut l, &e);
                // A push of the whole state since this add began already carried it.
                if l.epoch == epoch {
                    l.queue(pending);
                    l.add_seen(key, window, at_ms, delta);
                }
                Ok(l.counter(key, window, at_ms))
            }
            Err(e) => Err(e),
        }
    }

    async fn get(&self, key: &str, window: Window, at_ms: u64) -> Result<i64> {
        if !self.degraded() {
            match CounterStore::get(&*self.inner, key, window, at_ms).await {
                Ok(total) => return Ok(self.lock()?.see(key, window, at_ms, total)),
                Err(e) => self.on_error(e)?,
            }
        }
        Ok(self.lock()?.counter(key, window, at_ms))
    }

    async fn hit(&self, key: &str, at_ms: u64, span: Duration) -> Result<u64> {
        let local = self.lock()?.hit(key, at_ms, span);
        if !self.degraded() {
            match self.inner.hit(key, at_ms, span).await {
                Ok(n) => return Ok(n),
                Err(e) => self.on_error(e)?,
            }
        }
        Ok(local)
    }
}

#[async_trait]
impl<S: SharedStore> Cache for Resilient<S> {
    async fn get(&self, ns: &str, key: &str, now_ms: u64) -> Result<Option<String>> {
        if !self.degraded() {
            match Cache::get(&*self.inner, ns, key, now_ms).await {
                Ok(v) => return Ok(v),
                Err(e) => self.on_error(e)?,
            }
        }
        Ok(self.lock()?.cache(ns, key, now_ms))
    }

    async fn set(
        &self,
        ns: &str,
        key: &str,
        value: &str,
        now_ms: u64,
        ttl: Duration,
    ) -> Result<()> {
        let expires = now_ms.saturating_add(ttl.as_millis() as u64);
        self.write(
            |l| l.set_cache(ns, key, value, expires, now_ms),
            Pending::CacheSet {
                ns: ns.into(),
                key: key.into(),
                value: value.into(),
                now_ms,
                ttl,
            },
            Cache::set(&*self.inner, ns, key, value, now_ms, ttl),
        )
        .await
    }
}
