//! The recovery task: probes a failed store, replays held-back writes or pushes the local
//! state back, and notices a store that lost its data while healthy.

use std::sync::atomic::Ordering;
use std::sync::Weak;
use std::time::Duration;

use tokio::time::Instant;

use tracing::{debug, info, warn};

use e173gw_core::ports::{Cache, CounterStore, Result, StickyStore, StoreError};

use super::local::{Counter, Pending};
use super::{Resilient, SharedStore};
use e173gw_actors::wall_ms;

/// Cache namespace and key of the marker that tells a store that kept its data from one
/// that restarted empty.
const MARKER_NS: &str = "e173gw";
const MARKER_KEY: &str = "state-marker";
/// How long the marker lives (renewed at every probe).
const MARKER_TTL: Duration = Duration::from_secs(30 * 86_400);
/// Rounds of replay before giving up until the next probe (writes keep arriving).
const REPLAY_ROUNDS: usize = 8;

/// Probe intervals.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// While healthy: how often the marker is checked.
    pub check_every: Duration,
    /// While degraded: first retry after this, doubling up to `retry_max`.
    pub retry_min: Duration,
    /// Longest wait between probes of a failed store.
    pub retry_max: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            check_every: Duration::from_secs(2),
            retry_min: Duration::from_millis(250),
            retry_max: Duration::from_secs(5),
        }
    }
}

/// Runs until the wrapper is dropped.
pub(super) async fn monitor<S: SharedStore>(me: Weak<Resilient<S>>, t: Timing) {
    let mut backoff = t.retry_min;
    let mut first = true;
    loop {
        let wait = match me.upgrade() {
            // The first check at once, so the marker is there before any outage.
            Some(_) if first => Duration::ZERO,
            Some(r) if r.degraded() => backoff,
            Some(_) => t.check_every,
            None => return,
        };
        first = false;
        tokio::time::sleep(wait).await;
        let Some(r) = me.upgrade() else { return };
        let done = if r.degraded() {
            r.recover().await
        } else {
            r.check().await
        };
        match done {
            Ok(()) => backoff = t.retry_min,
            Err(e) => {
                if e.is_retryable() {
                    if let Ok(mut l) = r.lock() {
                        r.mark_down(&mut l, &e);
                    }
                } else {
                    warn!(error = %e, "Shared store probe refused.");
                }
                backoff = (backoff * 2).min(t.retry_max);
                debug!(error = %e, retry_in = ?backoff, "Shared store still unavailable.");
            }
        }
    }
}

impl<S: SharedStore> Resilient<S> {
    /// Whether the store lost its data: the marker is gone after it was seen. (A store
    /// never seen with the marker is new, or was never reached: nothing was lost there.)
    async fn lost_data(&self) -> Result<bool> {
        let present = Cache::get(&*self.inner, MARKER_NS, MARKER_KEY, wall_ms())
            .await?
            .is_some();
        let seen = self.marker_seen.load(Ordering::Relaxed);
        if present {
            self.marker_seen.store(true, Ordering::Relaxed);
        }
        Ok(seen && !present)
    }

    async fn set_marker(&self) -> Result<()> {
        let now = wall_ms();
        Cache::set(
            &*self.inner,
            MARKER_NS,
            MARKER_KEY,
            &now.to_string(),
            now,
            MARKER_TTL,
        )
        .await
    }

    /// Healthy: a store that lost its data (restarted empty between two calls) is treated
    /// as an outage: calls use local state while it is pushed back.
    async fn check(&self) -> Result<()> {
        if self.lost_data().await? {
            {
                let _held = self.lock()?;
                self.degraded.store(true, Ordering::Relaxed);
            }
            return self.recover_with(true).await;
        }
        self.set_marker().await?;
        self.marker_seen.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Degraded: bring the store up to date, then answer from it again.
    async fn recover(&self) -> Result<()> {
        let lost = self.lost_data().await?;
        self.recover_with(lost).await
    }

    async fn recover_with(&self, lost: bool) -> Result<()> {
        let started = Instant::now();
        let mut pushed = 0;
        if lost {
            warn!("Shared store lost its data; pushing local state back.");
            pushed = self.push_snapshot().await?;
            self.resyncs.fetch_add(1, Ordering::Relaxed);
        }
        let mut replayed = 0;
        for _ in 0..REPLAY_ROUNDS {
            replayed += self.replay().await?;
            self.set_marker().await?;
            self.marker_seen.store(true, Ordering::Relaxed);
            let l = self.lock()?;
            if l.pending.is_empty() {
                self.degraded.store(false, Ordering::Relaxed);
                drop(l);
                info!(
                    replayed,
                    pushed,
                    lost_data = lost,
                    took_ms = started.elapsed().as_millis() as u64,
                    "Shared store is back; answering from it again."
                );
                return Ok(());
            }
        }
        Err(StoreError::Unavailable(
            "writes arrive faster than they replay".into(),
        ))
    }

    /// Replays held-back writes in order; returns how many.
    async fn replay(&self) -> Result<u64> {
        let mut n = 0;
        loop {
            let Some(p) = self.lock()?.pending.front().cloned() else {
                return Ok(n);
            };
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
                } => self.inner.add(key, *window, *at_ms, *delta).await.map(drop),
                Pending::CacheSet {
                    ns,
                    key,
                    value,
                    now_ms,
                    ttl,
                } => Cache::set(&*self.inner, ns, key, value, *now_ms, *ttl).await,
            };
            match r {
                Ok(()) => {}
                Err(e) if e.is_retryable() => return Err(e),
                Err(e) => warn!(error = %e, "A held-back write was refused; dropped."),
            }
            let mut l = self.lock()?;
            if l.pending.front() == Some(&p) {
                l.pending.pop_front();
            }
            n += 1;
        }
    }

    /// Pushes the local state, as of now, to a store that lost its data: live sticky routes
    /// and cache entries, and counter windows still open (raised to the local totals, never
    /// lowered: other nodes may have counted more). Writes held back so far are in that
    /// state and are dropped from the queue; later ones are replayed after. Returns how
    /// many entries were pushed.
    async fn push_snapshot(&self) -> Result<u64> {
        let now = wall_ms();
        let (sticky, cache, counters) = {
            let mut l = self.lock()?;
            l.pending.clear();
            l.epoch += 1;
            let sticky: Vec<_> = l
                .sticky
                .values()
                .filter(|r| r.expires_ms > now)
                .cloned()
                .collect();
            let cache: Vec<_> = l
                .cache
                .iter()
                .filter(|(_, (_, exp))| *exp > now)
                .map(|((ns, k), (v, exp))| (ns.clone(), k.clone(), v.clone(), *exp))
                .collect();
            let counters: Vec<(String, Counter)> = l
                .counters
                .iter()
                .filter(|(_, c)| c.window.end_ms(c.at_ms) > now)
                .map(|((k, _), c)| (k.clone(), *c))
                .collect();
            (sticky, cache, counters)
        };
        let mut n = 0;
        for r in sticky {
            let ttl = Duration::from_millis(r.expires_ms - now);
            StickyStore::set(&*self.inner, &r.number, &r.target, now, ttl).await?;
            n += 1;
        }
        for (ns, k, v, exp) in cache {
            Cache::set(
                &*self.inner,
                &ns,
                &k,
                &v,
                now,
                Duration::from_millis(exp - now),
            )
            .await?;
            n += 1;
        }
        for (key, c) in counters {
            let shared = CounterStore::get(&*self.inner, &key, c.window, c.at_ms).await?;
            if shared < c.total() {
                self.inner
                    .add(&key, c.window, c.at_ms, c.total() - shared)
                    .await?;
                n += 1;
            }
        }
        Ok(n)
    }
}
