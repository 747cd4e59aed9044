//! The wrapper over an in-process shared store that can be taken down and wiped (the real
//! Redis is exercised by the contract suite and the gateway's failure tests).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use e173gw_core::ports::{
    Cache, CounterStore, Result, StickyRoute, StickyStore, StoreError, Window,
};

use super::{Resilient, Timing};

#[derive(Debug, Default)]
struct Data {
    sticky: HashMap<String, StickyRoute>,
    counters: HashMap<(String, String), i64>,
    cache: HashMap<(String, String), (String, u64)>,
    hits: HashMap<String, u64>,
}

/// A shared store in memory that can fail (`down`), refuse (`refuse`) or lose its data.
#[derive(Debug, Default)]
struct Shared {
    down: AtomicBool,
    refuse: AtomicBool,
    calls: AtomicU64,
    data: Mutex<Data>,
}

impl Shared {
    fn op(&self) -> Result<std::sync::MutexGuard<'_, Data>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if self.down.load(Ordering::Relaxed) {
            return Err(StoreError::Unavailable("down".into()));
        }
        if self.refuse.load(Ordering::Relaxed) {
            return Err(StoreError::Invalid("refused".into()));
        }
        Ok(self.data.lock().expect("data"))
    }
    fn wipe(&self) {
        *self.data.lock().expect("data") = Data::default();
    }
    fn counter(&self, key: &str, w: Window, at: u64) -> i64 {
        let d = self.data.lock().expect("data");
        d.counters
            .get(&(key.to_string(), w.bucket(at)))
            .copied()
            .unwrap_or(0)
    }
    fn sticky(&self, number: &str) -> Option<String> {
        let d = self.data.lock().expect("data");
        d.sticky.get(number).map(|r| r.target.clone())
    }
}

#[async_trait]
impl StickyStore for Shared {
    async fn get(&self, number: &str, now_ms: u64) -> Result<Option<StickyRoute>> {
        Ok(self
            .op()?
            .sticky
            .get(number)
            .filter(|r| r.expires_ms > now_ms)
            .cloned())
    }
    async fn set(&self, number: &str, target: &str, now_ms: u64, ttl: Duration) -> Result<()> {
        let r = StickyRoute {
            number: number.into(),
            target: target.into(),
            expires_ms: now_ms + ttl.as_millis() as u64,
        };
        self.op()?.sticky.insert(number.into(), r);
        Ok(())
    }
    async fn remove(&self, number: &str) -> Result<()> {
        self.op()?.sticky.remove(number);
        Ok(())
    }
}

#[async_trait]
impl CounterStore for Shared {
    async fn add(&self, key: &str, window: Window, at_ms: u64, delta: i64) -> Result<i64> {
        let mut d = self.op()?;
        let v = d
            .counters
            .entry((key.into(), window.bucket(at_ms)))
            .or_insert(0);
        *v += delta;
        Ok(*v)
    }
    async fn get(&self, key: &str, window: Window, at_ms: u64) -> Result<i64> {
        Ok(self
            .op()?
            .counters
            .get(&(key.into(), window.bucket(at_ms)))
            .copied()
            .unwrap_or(0))
    }
    async fn hit(&self, key: &str, _at_ms: u64, _span: Duration) -> Result<u64> {
        let mut d = self.op()?;
        let v = d.hits.entry(key.into()).or_insert(0);
        *v += 1;
        Ok(*v)
    }
}

#[async_trait]
impl Cache for Shared {
    async fn get(&self, ns: &str, key: &str, now_ms: u64) -> Result<Option<String>> {
        Ok(self
            .op()?
            .cache
            .get(&(ns.into(), key.into()))
            .filter(|(_, e)| *e > now_ms)
            .map(|(v, _)| v.clone()))
    }
    async fn set(
        &self,
        ns: &str,
        key: &str,
        value: &str,
        now_ms: u64,
        ttl: Duration,
    ) -> Result<()> {
        let e = now_ms + ttl.as_millis() as u64;
        self.op()?
            .cache
            .insert((ns.into(), key.into()), (value.into(), e));
        Ok(())
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

const TTL: Duration = Duration::from_secs(3600);

fn setup() -> (Arc<Shared>, Arc<Resilient<Shared>>) {
    let shared = Arc::new(Shared::default());
    let r = Resilient::with_timing(
        shared.clone(),
        Timing {
            check_every: Duration::from_millis(20),
            retry_min: Duration::from_millis(10),
            retry_max: Duration::from_millis(40),
        },
    );
    (shared, r)
}

async fn until(what: &str, f: impl Fn() -> bool) {
    for _ in 0..300 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for: {what}");
}

#[tokio::test]
async fn healthy_operations_go_to_the_store() {
    let (shared, r) = setup();
    let t = now();
    StickyStore::set(&*r, "5511", "modem1", t, TTL)
        .await
        .expect("set");
    assert_eq!(shared.sticky("5511").as_deref(), Some("modem1"));
    assert_eq!(
        r.add("sim:1:calls", Window::Day, t, 2).await.expect("add"),
        2
    );
    shared
        .data
        .lock()
        .expect("data")
        .counters
        .insert(("sim:1:calls".into(), Window::Day.bucket(t)), 7);
    assert_eq!(
        CounterStore::get(&*r, "sim:1:calls", Window::Day, t)
            .await
            .expect("get"),
        7,
        "reads come from the store, not the mirror"
    );
    assert!(!r.degraded());
    assert_eq!(r.status().outages, 0);
}

#[tokio::test]
async fn an_outage_is_answered_locally_and_replayed_in_order() {
    let (shared, r) = setup();
    let t = now();
    StickyStore::set(&*r, "5511", "modem1", t, TTL)
        .await
        .expect("set");
    r.add("k", Window::Day, t, 5).await.expect("add");
    until("marker set", || shared.status_marker()).await;
    shared.down.store(true, Ordering::Relaxed);

    // The first failing call turns the wrapper degraded; later ones never reach the store.
    assert_eq!(r.add("k", Window::Day, t, 1).await.expect("add"), 6);
    assert!(r.degraded());
    let calls = shared.calls.load(Ordering::Relaxed);
    assert_eq!(r.add("k", Window::Day, t, 1).await.expect("add"), 7);
    StickyStore::set(&*r, "5511", "modem2", t, TTL)
        .await
        .expect("set");
    StickyStore::set(&*r, "5522", "modem3", t, TTL)
        .await
        .expect("set");
    StickyStore::remove(&*r, "5522").await.expect("remove");
    let got = StickyStore::get(&*r, "5511", t).await.expect("get");
    assert_eq!(
        got.map(|g| g.target).as_deref(),
        Some("modem2"),
        "local state answers"
    );
    assert_eq!(
        CounterStore::get(&*r, "k", Window::Day, t)
            .await
            .expect("get"),
        7
    );
    assert!(
        shared.calls.load(Ordering::Relaxed) <= calls + 2,
        "degraded calls do not wait for the store (only the probe may ask)"
    );
    assert_eq!(r.status().pending, 5);
    assert_eq!(r.status().outages, 1);

    shared.down.store(false, Ordering::Relaxed);
    until("recovered", || !r.degraded()).await;
    assert_eq!(
        shared.counter("k", Window::Day, t),
        7,
        "deltas replayed once"
    );
    assert_eq!(shared.sticky("5511").as_deref(), Some("modem2"));
    assert_eq!(
        shared.sticky("5522"),
        None,
        "the remove replayed after the set"
    );
    assert_eq!(r.status().pending, 0);
    assert_eq!(r.status().resyncs, 0, "the store kept its data");
}

#[tokio::test]
async fn a_store_back_without_its_data_gets_the_local_state() {
    let (shared, r) = setup();
    let t = now();
    StickyStore::set(&*r, "5511", "modem1", t, TTL)
        .await
        .expect("set");
    r.add("k", Window::Month, t, 10).await.expect("add");
    Cache::set(&*r, "wa", "5511", "yes", t, TTL)
        .await
        .expect("cache");
    until("marker set", || shared.status_marker()).await;
    shared.down.store(true, Ordering::Relaxed);
    assert_eq!(r.add("k", Window::Month, t, 1).await.expect("add"), 11);
    shared.wipe();
    shared.down.store(false, Ordering::Relaxed);
    until("recovered", || !r.degraded()).await;
    assert_eq!(
        shared.counter("k", Window::Month, t),
        11,
        "total restored, not just the delta"
    );
    assert_eq!(shared.sticky("5511").as_deref(), Some("modem1"));
    assert_eq!(
        Cache::get(&*shared, "wa", "5511", t)
            .await
            .expect("cache")
            .as_deref(),
        Some("yes")
    );
    assert_eq!(r.status().resyncs, 1);
}

#[tokio::test]
async fn a_wipe_while_healthy_is_noticed() {
    let (shared, r) = setup();
    let t = now();
    StickyStore::set(&*r, "5511", "modem1", t, TTL)
        .await
        .expect("set");
    r.add("k", Window::Day, t, 3).await.expect("add");
    until("marker set", || shared.status_marker()).await;
    shared.wipe();
    until("state pushed back", || shared.sticky("5511").is_some()).await;
    until("counter pushed back", || {
        shared.counter("k", Window::Day, t) == 3
    })
    .await;
    assert!(!r.degraded());
    assert_eq!(r.status().outages, 0);
}

#[tokio::test]
async fn refusals_are_errors_not_outages() {
    let (shared, r) = setup();
    shared.refuse.store(true, Ordering::Relaxed);
    let t = now();
    assert!(matches!(
        StickyStore::set(&*r, "5511", "m", t, TTL).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        r.add("k", Window::Day, t, 1).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(!r.degraded());
}

#[tokio::test]
async fn rate_windows_fall_back_to_local_counts() {
    let (shared, r) = setup();
    let t = now();
    let span = Duration::from_secs(60);
    assert_eq!(r.hit("trunk:a", t, span).await.expect("hit"), 1);
    shared.down.store(true, Ordering::Relaxed);
    assert_eq!(
        r.hit("trunk:a", t, span).await.expect("hit"),
        2,
        "local window counts both"
    );
    assert_eq!(r.hit("trunk:a", t, span).await.expect("hit"), 3);
    assert_eq!(r.status().pending, 0, "rate hits are not replayed");
}

impl Shared {
    fn status_marker(&self) -> bool {
        self.data
            .lock()
            .expect("data")
            .cache
            .contains_key(&("e173gw".into(), "state-marker".into()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_during_outage_and_recovery_are_counted_once() {
    let (shared, r) = setup();
    let t = now();
    until("marker set", || shared.status_marker()).await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let r = r.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..300 {
                r.add("k", Window::Day, t, 1).await.expect("add");
                tokio::time::sleep(Duration::from_micros(300)).await;
            }
        }));
    }
    for round in 0..4 {
        tokio::time::sleep(Duration::from_millis(15)).await;
        shared.down.store(true, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(15)).await;
        if round % 2 == 1 {
            shared.wipe();
        }
        shared.down.store(false, Ordering::Relaxed);
    }
    for task in tasks {
        task.await.expect("task");
    }
    until("recovered", || !r.degraded() && r.status().pending == 0).await;
    // A wipe while healthy is noticed by the next check; wait for it to settle too.
    until("settled", || shared.counter("k", Window::Day, t) == 1200).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        shared.counter("k", Window::Day, t),
        1200,
        "no write lost or doubled"
    );
    assert!(r.status().outages >= 1);
}
