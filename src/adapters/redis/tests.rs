//! Redis store tests, against the machine's real server (`E173GW_TEST_REDIS_URL`,
//! default `redis://127.0.0.1:6379`). Each test uses a key prefix of its own and deletes
//! its keys when it ends (even when it fails).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use e173gw_core::ports::{Cache, CounterStore, StickyStore, StoreError, Window};

use super::ports::{counter_expiry, grace, span_secs};
use super::{decode_expiring, encode_expiring, RedisStore};
use crate::adapters::postgres::tests::proxy::{closed_port, Proxy};

/// 2026-11-22T18:00:00Z.
const T0: u64 = 1_795_370_400_000;
const DAY: u64 = 86_400_000;

fn redis_url() -> String {
    std::env::var("E173GW_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A store with a fresh prefix; deletes the prefix's keys when dropped.
struct TestRedis {
    store: Arc<RedisStore>,
    prefix: String,
}

impl TestRedis {
    async fn new(tag: &str) -> TestRedis {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let prefix = format!(
            "e173gw-test:{tag}:{}:{n}:{}:",
            std::process::id(),
            wall_ms()
        );
        let store = RedisStore::connect(&redis_url(), &prefix, Duration::from_secs(2))
            .await
            .expect("Redis (is it running?)");
        TestRedis { store, prefix }
    }

    /// Runs a raw command on a connection of its own.
    async fn raw<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> T {
        let client = redis::Client::open(redis_url()).expect("url");
        let mut con = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        cmd.query_async(&mut con).await.expect("command")
    }

    async fn pttl(&self, key: &str) -> i64 {
        self.raw(redis::cmd("PTTL").arg(format!("{}{key}", self.prefix)))
            .await
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let prefix = self.prefix.clone();
        let done = std::thread::spawn(move || {
            let Ok(client) = redis::Client::open(redis_url()) else {
                return;
            };
            let Ok(mut con) = client.get_connection() else {
                return;
            };
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{prefix}*"))
                .query(&mut con)
                .unwrap_or_default();
            if !keys.is_empty() {
                let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut con);
            }
        });
        let _ = done.join();
    }
}

#[test]
fn expiring_values_and_spans() {
    assert_eq!(
        decode_expiring(&encode_expiring(10, "a|b"), 9),
        Some((10, "a|b"))
    );
    assert_eq!(decode_expiring(&encode_expiring(10, "a"), 10), None);
    assert_eq!(decode_expiring("garbage", 0), None);
    assert_eq!(span_secs(Duration::from_secs(10)), 10);
    assert_eq!(span_secs(Duration::from_millis(1500)), 2);
    assert_eq!(span_secs(Duration::ZERO), 1);
    let end = Window::Month.end_ms(T0);
    let g = grace(Window::Month).as_millis() as u64;
    assert_eq!(counter_expiry(Window::Month, T0, T0), end + g);
    assert_eq!(
        counter_expiry(Window::Month, T0, end + DAY),
        end + DAY + g,
        "a past window"
    );
}

#[tokio::test]
async fn ping_answers() {
    let r = TestRedis::new("ping").await;
    r.store.ping().await.expect("ping");
    let lazy = RedisStore::connect_lazy(&redis_url(), &r.prefix, Duration::from_secs(2))
        .expect("lazy store");
    lazy.ping().await.expect("the first command connects");
}

#[tokio::test]
async fn sticky_routes_honour_now_ms_and_expire_in_redis() {
    let r = TestRedis::new("sticky").await;
    let s: &dyn StickyStore = &*r.store;
    assert_eq!(s.get("5511911110000", T0).await.expect("get"), None);
    s.set("5511911110000", "modem-a", T0, Duration::from_secs(3600))
        .await
        .expect("set");
    let route = s
        .get("5511911110000", T0 + 1000)
        .await
        .expect("get")
        .expect("route");
    assert_eq!(
        (route.number.as_str(), route.target.as_str()),
        ("5511911110000", "modem-a")
    );
    assert_eq!(route.expires_ms, T0 + 3_600_000);
    assert!(s
        .get("5511911110000", T0 + 3_599_999)
        .await
        .expect("get")
        .is_some());
    assert_eq!(
        s.get("5511911110000", T0 + 3_600_000).await.expect("get"),
        None
    );
    let pttl = r.pttl("sticky:5511911110000").await;
    assert!((3_590_000..=3_600_000).contains(&pttl), "PTTL {pttl}");
    s.set("5511911110000", "modem|b", T0 + 10, Duration::from_secs(60))
        .await
        .expect("refresh");
    assert_eq!(
        s.get("5511911110000", T0 + 20)
            .await
            .expect("get")
            .map(|r| r.target),
        Some("modem|b".into())
    );
    assert!(r.pttl("sticky:5511911110000").await <= 60_000);
    s.remove("5511911110000").await.expect("remove");
    assert_eq!(s.get("5511911110000", T0 + 20).await.expect("get"), None);
    s.remove("never-set").await.expect("remove absent");
    s.set("n", "m", T0, Duration::ZERO).await.expect("zero ttl");
    assert_eq!(s.get("n", T0).await.expect("get"), None);
}

#[tokio::test]
async fn counters_per_window_with_expiry_after_the_window() {
    let r = TestRedis::new("counters").await;
    let c: &dyn CounterStore = &*r.store;
    let key = "sim:724020001000000:seconds";
    let now = wall_ms();
    assert_eq!(c.get(key, Window::Day, now).await.expect("get"), 0);
    assert_eq!(c.add(key, Window::Day, now, 90).await.expect("add"), 90);
    assert_eq!(
        c.add(key, Window::Day, now, -30).await.expect("subtract"),
        60
    );
    assert_eq!(
        c.add(key, Window::Day, now + DAY, 5)
            .await
            .expect("next day"),
        5
    );
    assert_eq!(c.get(key, Window::Day, now).await.expect("get"), 60);
    assert_eq!(
        c.add(key, Window::Month, now, 100).await.expect("month"),
        100
    );
    assert_eq!(c.get(key, Window::Month, now).await.expect("get"), 100);
    assert_eq!(
        c.get(key, Window::Month, Window::Month.end_ms(now))
            .await
            .expect("get"),
        0
    );
    assert_eq!(c.get("other", Window::Day, now).await.expect("get"), 0);

    // The keys expire a grace period after their window ends.
    let day_key = format!("cnt:{key}:{}", Window::Day.bucket(now));
    let want = (Window::Day.end_ms(now) + 2 * DAY - wall_ms()) as i64;
    let pttl = r.pttl(&day_key).await;
    assert!(
        (want - 5_000..=want).contains(&pttl),
        "day PTTL {pttl}, want ~{want}"
    );
    let month_key = format!("cnt:{key}:{}", Window::Month.bucket(now));
    let want = (Window::Month.end_ms(now) + 35 * DAY - wall_ms()) as i64;
    let pttl = r.pttl(&month_key).await;
    assert!(
        (want - 5_000..=want).contains(&pttl),
        "month PTTL {pttl}, want ~{want}"
    );
    // A window long gone stays readable for the grace period from now.
    let old = now - 400 * DAY;
    assert_eq!(c.add(key, Window::Day, old, 7).await.expect("old"), 7);
    assert_eq!(c.get(key, Window::Day, old).await.expect("get"), 7);
    let pttl = r
        .pttl(&format!("cnt:{key}:{}", Window::Day.bucket(old)))
        .await;
    assert!(
        pttl > (2 * DAY - 5_000) as i64 && pttl <= (2 * DAY) as i64,
        "{pttl}"
    );
}

#[tokio::test]
async fn rate_windows_count_whole_seconds() {
    let r = TestRedis::new("hits").await;
    let c: &dyn CounterStore = &*r.store;
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
    assert_eq!(c.hit("other", T0 + 12_000, span).await.expect("hit"), 1);
    let pttl = r.pttl(&format!("hit:{k}")).await;
    assert!((10_000..=12_000).contains(&pttl), "PTTL {pttl}");
    // A one-second span counts the current second only.
    let one = Duration::from_millis(300);
    assert_eq!(c.hit("fast", T0, one).await.expect("hit"), 1);
    assert_eq!(c.hit("fast", T0 + 999, one).await.expect("hit"), 2);
    assert_eq!(c.hit("fast", T0 + 1000, one).await.expect("hit"), 1);
    // Concurrent hits are all counted.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let s = r.store.clone();
            tokio::spawn(async move { s.hit("burst", T0, Duration::from_secs(1)).await })
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

#[tokio::test]
async fn cache_entries_honour_now_ms() {
    let r = TestRedis::new("cache").await;
    let c: &dyn Cache = &*r.store;
    assert_eq!(c.get("whatsapp", "5511", T0).await.expect("get"), None);
    c.set("whatsapp", "5511", "yes", T0, Duration::from_secs(60))
        .await
        .expect("set");
    c.set("portability", "5511", "TIM", T0, Duration::from_secs(60))
        .await
        .expect("set");
    assert_eq!(
        c.get("whatsapp", "5511", T0 + 59_999)
            .await
            .expect("get")
            .as_deref(),
        Some("yes")
    );
    assert_eq!(
        c.get("portability", "5511", T0)
            .await
            .expect("get")
            .as_deref(),
        Some("TIM")
    );
    assert_eq!(
        c.get("whatsapp", "5511", T0 + 60_000).await.expect("get"),
        None
    );
    assert!((50_000..=60_000).contains(&r.pttl("cache:whatsapp:5511").await));
    c.set("whatsapp", "5511", "", T0 + 1, Duration::from_secs(60))
        .await
        .expect("empty");
    assert_eq!(
        c.get("whatsapp", "5511", T0 + 2)
            .await
            .expect("get")
            .as_deref(),
        Some("")
    );
    c.set("whatsapp", "5511", "x", T0, Duration::ZERO)
        .await
        .expect("zero ttl");
    assert_eq!(c.get("whatsapp", "5511", T0).await.expect("get"), None);
}

#[tokio::test]
async fn unreachable_or_silent_redis_is_unavailable_within_the_timeout() {
    let timeout = Duration::from_millis(300);
    let started = tokio::time::Instant::now();
    let r = RedisStore::connect(
        &format!("redis://127.0.0.1:{}", closed_port()),
        "x:",
        timeout,
    )
    .await;
    assert!(matches!(r, Err(StoreError::Unavailable(_))), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(matches!(
        RedisStore::connect("not a url", "x:", timeout).await,
        Err(StoreError::Invalid(_))
    ));

    // A lazy store starts without Redis and fails each command within the timeout.
    let lazy = RedisStore::connect_lazy(
        &format!("redis://127.0.0.1:{}", closed_port()),
        "x:",
        timeout,
    )
    .expect("lazy store");
    let started = tokio::time::Instant::now();
    let got = Cache::get(&*lazy, "ns", "k", T0).await;
    assert!(matches!(got, Err(StoreError::Unavailable(_))), "{got:?}");
    assert!(started.elapsed() < Duration::from_secs(2));

    // Up, then silent: every command gives up after the timeout.
    let target = redis::Client::open(redis_url())
        .expect("url")
        .get_connection_info()
        .addr()
        .to_string();
    let target = tokio::net::lookup_host(target.as_str())
        .await
        .expect("resolve")
        .next()
        .expect("address");
    let proxy = Proxy::start(target).await;
    let prefix = format!("e173gw-test:silent:{}:{}:", std::process::id(), wall_ms());
    let store = RedisStore::connect(&format!("redis://{}", proxy.addr), &prefix, timeout)
        .await
        .expect("connect through the proxy");
    store.ping().await.expect("ping");
    proxy.freeze();
    let started = tokio::time::Instant::now();
    let got = StickyStore::get(&*store, "n", T0).await;
    assert!(matches!(got, Err(StoreError::Unavailable(_))), "{got:?}");
    let added = store.add("k", Window::Day, T0, 1).await;
    assert!(
        matches!(added, Err(StoreError::Unavailable(_))),
        "{added:?}"
    );
    assert!(matches!(
        store.ping().await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(started.elapsed() < Duration::from_secs(3));
}
