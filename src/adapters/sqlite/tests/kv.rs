//! Sticky routes, cache, counters, rate windows and the sweep.

use std::time::Duration;

use e173gw_core::ports::{days_from_civil, Cache, CounterStore, StickyRoute, StickyStore, Window};

use super::super::SweepReport;
use super::{rows, store};
use crate::adapters::sqlite::SqliteStore;

const DAY: u64 = 86_400_000;
/// 2026-11-22T18:00:00Z.
const T: u64 = 1_795_370_400_000;

fn midnight(y: i64, m: u32, d: u32) -> u64 {
    days_from_civil(y, m, d) as u64 * DAY
}

#[tokio::test]
async fn sticky_routes_expire_by_the_callers_clock() {
    let (_d, s) = store().await;
    let ttl = Duration::from_secs(60);
    assert_eq!(StickyStore::get(&*s, "5511", T).await, Ok(None));
    StickyStore::set(&*s, "5511", "m1", T, ttl)
        .await
        .expect("set");
    let route = StickyRoute {
        number: "5511".into(),
        target: "m1".into(),
        expires_ms: T + 60_000,
    };
    assert_eq!(
        StickyStore::get(&*s, "5511", T).await,
        Ok(Some(route.clone()))
    );
    assert_eq!(
        StickyStore::get(&*s, "5511", T + 59_999).await,
        Ok(Some(route))
    );
    assert_eq!(StickyStore::get(&*s, "5511", T + 60_000).await, Ok(None));
    assert_eq!(rows(&s, "sticky_routes"), 0, "deleted when found expired");

    // Refresh and retarget.
    StickyStore::set(&*s, "5511", "m1", T, ttl)
        .await
        .expect("set");
    StickyStore::set(&*s, "5511", "m2", T + 30_000, ttl)
        .await
        .expect("refresh");
    let got = StickyStore::get(&*s, "5511", T + 80_000)
        .await
        .expect("get");
    assert_eq!(
        got.map(|r| (r.target, r.expires_ms)),
        Some(("m2".into(), T + 90_000))
    );
    StickyStore::remove(&*s, "5511").await.expect("remove");
    assert_eq!(StickyStore::get(&*s, "5511", T).await, Ok(None));
    StickyStore::remove(&*s, "5511")
        .await
        .expect("remove twice");
}

#[tokio::test]
async fn sticky_routes_are_read_from_the_file_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gw.db");
    {
        let s = SqliteStore::open(&path).await.expect("open");
        StickyStore::set(&*s, "1", "m1", T, Duration::from_secs(600))
            .await
            .expect("set");
        StickyStore::set(&*s, "2", "m2", T, Duration::from_secs(600))
            .await
            .expect("set");
        assert!(StickyStore::get(&*s, "2", T).await.expect("get").is_some());
    }
    let s = SqliteStore::open(&path).await.expect("reopen");
    assert_eq!(s.shared.sticky.len(), 0);
    let got = StickyStore::get(&*s, "1", T + 1).await.expect("get");
    assert_eq!(got.map(|r| r.target), Some("m1".into()));
    assert_eq!(s.shared.sticky.len(), 1, "filled on read");
}

#[tokio::test]
async fn cache_is_per_namespace_with_ttl() {
    let (_d, s) = store().await;
    let ttl = Duration::from_millis(1_500);
    Cache::set(&*s, "whatsapp", "5511", "yes", T, ttl)
        .await
        .expect("set");
    Cache::set(&*s, "port", "5511", "vivo", T, ttl)
        .await
        .expect("set");
    assert_eq!(
        Cache::get(&*s, "whatsapp", "5511", T).await,
        Ok(Some("yes".into()))
    );
    assert_eq!(
        Cache::get(&*s, "port", "5511", T + 1_499).await,
        Ok(Some("vivo".into()))
    );
    assert_eq!(Cache::get(&*s, "other", "5511", T).await, Ok(None));
    assert_eq!(Cache::get(&*s, "port", "5511", T + 1_500).await, Ok(None));
    assert_eq!(rows(&s, "cache_entries"), 1);
    Cache::set(&*s, "whatsapp", "5511", "no", T + 10, ttl)
        .await
        .expect("overwrite");
    assert_eq!(
        Cache::get(&*s, "whatsapp", "5511", T + 1_505).await,
        Ok(Some("no".into()))
    );
    // A zero TTL stores something already expired.
    Cache::set(&*s, "x", "k", "v", T, Duration::ZERO)
        .await
        .expect("set");
    assert_eq!(Cache::get(&*s, "x", "k", T).await, Ok(None));
    // An enormous TTL does not overflow.
    Cache::set(&*s, "x", "k", "v", T, Duration::MAX)
        .await
        .expect("set");
    assert_eq!(
        Cache::get(&*s, "x", "k", T + 100 * 365 * DAY).await,
        Ok(Some("v".into()))
    );
}

#[tokio::test]
async fn counters_follow_calendar_windows() {
    let (_d, s) = store().await;
    let nov30_late = midnight(2026, 12, 1) - 1;
    let dec1 = midnight(2026, 12, 1);
    let add = |w, at, d| {
        let s = s.clone();
        async move {
            CounterStore::add(&*s, "sim:1:calls", w, at, d)
                .await
                .expect("add")
        }
    };
    let get = |w, at| {
        let s = s.clone();
        async move {
            CounterStore::get(&*s, "sim:1:calls", w, at)
                .await
                .expect("get")
        }
    };
    assert_eq!(get(Window::Day, T).await, 0);
    assert_eq!(add(Window::Day, midnight(2026, 11, 30), 1).await, 1);
    assert_eq!(add(Window::Day, nov30_late, 2).await, 3);
    assert_eq!(add(Window::Day, dec1, 1).await, 1, "a new day");
    assert_eq!(add(Window::Month, nov30_late, 10).await, 10);
    assert_eq!(add(Window::Month, dec1, 5).await, 5, "a new month");
    assert_eq!(
        add(Window::Month, midnight(2026, 12, 31) + DAY - 1, 5).await,
        10
    );
    assert_eq!(
        add(Window::Month, midnight(2027, 1, 1), -2).await,
        -2,
        "a new year"
    );
    assert_eq!(get(Window::Day, midnight(2026, 11, 30) + 5).await, 3);
    assert_eq!(get(Window::Day, dec1 + DAY - 1).await, 1);
    assert_eq!(get(Window::Day, dec1 + DAY).await, 0);
    assert_eq!(get(Window::Month, midnight(2026, 11, 1)).await, 10);
    assert_eq!(get(Window::Month, dec1 + 20 * DAY).await, 10);
    assert_eq!(
        CounterStore::get(&*s, "sim:2:calls", Window::Month, dec1).await,
        Ok(0),
        "keys are separate"
    );
    assert_eq!(rows(&s, "counters"), 5);
}

#[tokio::test]
async fn counters_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gw.db");
    {
        let s = SqliteStore::open(&path).await.expect("open");
        for _ in 0..3 {
            CounterStore::add(&*s, "k", Window::Day, T, 60)
                .await
                .expect("add");
        }
    }
    let s = SqliteStore::open(&path).await.expect("reopen");
    assert_eq!(CounterStore::get(&*s, "k", Window::Day, T).await, Ok(180));
    assert_eq!(
        CounterStore::add(&*s, "k", Window::Day, T, 1).await,
        Ok(181)
    );
    assert_eq!(CounterStore::get(&*s, "k", Window::Day, T).await, Ok(181));
}

#[tokio::test]
async fn hits_count_whole_seconds_over_the_span() {
    let (_d, s) = store().await;
    let span = Duration::from_secs(10);
    let t0 = T + 400; // mid-second
    let hit = |key: &'static str, at, span| {
        let s = s.clone();
        async move { s.hit(key, at, span).await.expect("hit") }
    };
    assert_eq!(hit("trunk:a", t0, span).await, 1);
    assert_eq!(hit("trunk:a", t0 + 100, span).await, 2);
    assert_eq!(hit("trunk:a", t0 + 5_000, span).await, 3);
    assert_eq!(hit("trunk:b", t0 + 5_000, span).await, 1, "per key");
    // The second of t0 is still in a 10 s span at t0 + 9.5 s (same whole-second count)…
    assert_eq!(hit("trunk:a", t0 + 9_500, span).await, 4);
    // …and has left it one second later.
    assert_eq!(hit("trunk:a", t0 + 10_000, span).await, 3);
    assert_eq!(
        hit("trunk:a", t0 + 10_000, Duration::from_secs(60)).await,
        6
    );
    // A span under a second counts the current second.
    assert_eq!(hit("trunk:c", t0, Duration::from_millis(10)).await, 1);
    assert_eq!(hit("trunk:c", t0 + 1, Duration::from_millis(10)).await, 2);
    assert_eq!(
        hit("trunk:c", t0 + 1_000, Duration::from_millis(10)).await,
        1
    );
}

#[tokio::test]
async fn sweep_removes_what_expired() {
    let (_d, s) = store().await;
    let min = Duration::from_secs(60);
    StickyStore::set(&*s, "1", "m1", T, min).await.expect("set");
    StickyStore::set(&*s, "2", "m1", T, min * 10)
        .await
        .expect("set");
    Cache::set(&*s, "ns", "1", "v", T, min).await.expect("set");
    s.hit("k", T, Duration::from_secs(10)).await.expect("hit");
    CounterStore::add(&*s, "k", Window::Day, T, 1)
        .await
        .expect("add");
    CounterStore::add(&*s, "k", Window::Month, T, 1)
        .await
        .expect("add");

    let report = s.sweep(T + 120_000).await.expect("sweep");
    assert_eq!(
        report,
        SweepReport {
            sticky: 1,
            cache: 1,
            counters: 0,
            hits: 1,
        }
    );
    assert_eq!(rows(&s, "sticky_routes"), 1);
    let report = s.sweep(T + 400 * DAY + DAY).await.expect("a year later");
    assert_eq!(
        (report.sticky, report.counters),
        (1, 1),
        "day counter past retention"
    );
    assert_eq!(CounterStore::get(&*s, "k", Window::Day, T).await, Ok(0));
    assert_eq!(CounterStore::get(&*s, "k", Window::Month, T).await, Ok(1));
}

#[tokio::test]
async fn writes_sweep_their_own_table() {
    let (_d, s) = store().await;
    let min = Duration::from_secs(60);
    // Another port's far-future clock does not expire sticky routes.
    CounterStore::add(&*s, "k", Window::Day, T + 365 * DAY, 1)
        .await
        .expect("add");
    StickyStore::set(&*s, "1", "m1", 1_000, min)
        .await
        .expect("set");
    StickyStore::set(&*s, "2", "m1", 2_000, min * 10)
        .await
        .expect("set");
    assert_eq!(rows(&s, "sticky_routes"), 2);
    // A write a minute past the last sweep sweeps the sticky table.
    StickyStore::set(&*s, "3", "m1", 1_000 + 3 * 60_000, min)
        .await
        .expect("set");
    assert_eq!(rows(&s, "sticky_routes"), 2, "route 1 swept");
    assert_eq!(StickyStore::get(&*s, "1", 1_000).await, Ok(None));
    assert!(StickyStore::get(&*s, "2", 3_000)
        .await
        .expect("get")
        .is_some());
}
