//! State shared between gateways: sticky routes, counters and rate windows, and the
//! lookup cache.

use std::time::Duration;

use e173gw_core::ports::*;

use crate::{DAY, T0};

// === sticky routes ===

pub(crate) async fn sticky_routes(s: &Stores) {
    let st = &s.sticky;
    assert_eq!(st.get("5511911110000", T0).await.expect("get"), None);
    st.set("5511911110000", "modem-a", T0, Duration::from_secs(3600))
        .await
        .expect("set");
    let r = st
        .get("5511911110000", T0 + 1000)
        .await
        .expect("get")
        .expect("route");
    assert_eq!(
        (r.number.as_str(), r.target.as_str(), r.expires_ms),
        ("5511911110000", "modem-a", T0 + 3_600_000)
    );
    assert!(st
        .get("5511911110000", T0 + 3_599_999)
        .await
        .expect("get")
        .is_some());
    assert_eq!(
        st.get("5511911110000", T0 + 3_600_000).await.expect("get"),
        None,
        "expired at now_ms"
    );
    st.set("5511911110000", "modem|b", T0 + 10, Duration::from_secs(60))
        .await
        .expect("refresh");
    assert_eq!(
        st.get("5511911110000", T0 + 20)
            .await
            .expect("get")
            .map(|r| r.target),
        Some("modem|b".into())
    );
    st.remove("5511911110000").await.expect("remove");
    assert_eq!(st.get("5511911110000", T0 + 20).await.expect("get"), None);
    st.remove("never-set").await.expect("remove absent");
    st.set("n", "m", T0, Duration::ZERO)
        .await
        .expect("zero ttl");
    assert_eq!(st.get("n", T0).await.expect("get"), None);
}

// === counters ===

pub(crate) async fn counters_windows_and_rates(s: &Stores) {
    let c = &s.counters;
    let key = "sim:724020001000000:seconds";
    assert_eq!(c.get(key, Window::Day, T0).await.expect("get"), 0);
    assert_eq!(c.add(key, Window::Day, T0, 90).await.expect("add"), 90);
    assert_eq!(
        c.add(key, Window::Day, T0 + 3 * 3_600_000, 60)
            .await
            .expect("add"),
        150
    );
    assert_eq!(
        c.add(key, Window::Day, T0, -30).await.expect("subtract"),
        120
    );
    assert_eq!(
        c.add(key, Window::Day, T0 + DAY, 5)
            .await
            .expect("next day"),
        5,
        "a new day starts at zero"
    );
    assert_eq!(c.get(key, Window::Day, T0).await.expect("get"), 120);
    for d in 0..3 {
        c.add(key, Window::Month, T0 + d * DAY, 100)
            .await
            .expect("month");
    }
    assert_eq!(
        c.get(key, Window::Month, T0 + 2 * DAY).await.expect("get"),
        300
    );
    assert_eq!(
        c.get(key, Window::Month, Window::Month.end_ms(T0))
            .await
            .expect("next month"),
        0
    );
    assert_eq!(
        c.get("other", Window::Day, T0).await.expect("get"),
        0,
        "keys are separate"
    );
    // A window long gone still counts.
    let old = T0 - 400 * DAY;
    assert_eq!(c.add(key, Window::Day, old, 7).await.expect("old"), 7);
    assert_eq!(c.get(key, Window::Day, old).await.expect("get"), 7);
}

pub(crate) async fn rate_windows_count_whole_seconds(s: &Stores) {
    let c = &s.counters;
    let span = Duration::from_secs(10);
    let k = "trunk:carrier-a:calls";
    let mut last = 0;
    for i in 0..5u64 {
        last = c.hit(k, T0 + i * 1000, span).await.expect("hit");
    }
    assert_eq!(last, 5);
    assert_eq!(
        c.hit(k, T0 + 4_999, span).await.expect("hit"),
        6,
        "same second"
    );
    assert_eq!(
        c.hit(k, T0 + 9_999, span).await.expect("hit"),
        7,
        "still in the span"
    );
    assert_eq!(
        c.hit(k, T0 + 12_000, span).await.expect("hit"),
        5,
        "seconds 0..2 fall out; 3, 4, 4, 9 and 12 remain"
    );
    assert_eq!(
        c.hit("other", T0 + 12_000, span).await.expect("hit"),
        1,
        "keys are separate"
    );
    // A span under a second counts the current second only.
    let one = Duration::from_millis(300);
    assert_eq!(c.hit("fast", T0, one).await.expect("hit"), 1);
    assert_eq!(c.hit("fast", T0 + 999, one).await.expect("hit"), 2);
    assert_eq!(c.hit("fast", T0 + 1000, one).await.expect("hit"), 1);
    // Concurrent hits all count.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.hit("burst", T0, Duration::from_secs(1)).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("hit");
    }
    assert_eq!(
        c.hit("burst", T0, Duration::from_secs(1))
            .await
            .expect("hit"),
        21
    );
}

// === cache ===

pub(crate) async fn cache_entries(s: &Stores) {
    let get = |ns: &'static str, now: u64| {
        let c = s.cache.clone();
        async move { c.get(ns, "5511", now).await.expect("get") }
    };
    let set = |ns: &'static str, value: &'static str, now: u64, ttl: u64| {
        let c = s.cache.clone();
        async move {
            c.set(ns, "5511", value, now, Duration::from_secs(ttl))
                .await
                .expect("set");
        }
    };
    assert_eq!(get("whatsapp", T0).await, None);
    set("whatsapp", "yes", T0, 60).await;
    set("portability", "TIM", T0, 60).await;
    assert_eq!(get("whatsapp", T0 + 59_999).await.as_deref(), Some("yes"));
    assert_eq!(
        get("portability", T0).await.as_deref(),
        Some("TIM"),
        "namespaces are separate"
    );
    assert_eq!(get("whatsapp", T0 + 60_000).await, None, "expired");
    set("whatsapp", "no", T0 + 1, 60).await;
    assert_eq!(
        get("whatsapp", T0 + 2).await.as_deref(),
        Some("no"),
        "overwritten"
    );
    set("whatsapp", "", T0 + 1, 60).await;
    assert_eq!(
        get("whatsapp", T0 + 2).await.as_deref(),
        Some(""),
        "an empty value is a value"
    );
    set("whatsapp", "x", T0, 0).await;
    assert_eq!(get("whatsapp", T0).await, None, "a zero TTL");
}
