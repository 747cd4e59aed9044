//! Redis store tests, against the machine's real server (`E173GW_TEST_REDIS_URL`,
//! default `redis://127.0.0.1:6379`). Each test uses a key prefix of its own and deletes
//! its keys when it ends (even when it fails).

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use e173gw_core::ports::{Cache, CounterStore, StickyStore, StoreError, Window};

use super::ports::{counter_expiry, grace, span_secs};
use super::{decode_expiring, encode_expiring, RedisStore};
use crate::adapters::postgres::tests::proxy::{closed_port, Proxy};

/// 2026-11-22T18:00:00Z.
const T0: u64 = 1_795_370_400_000;
const DAY: u64 = 86_400_000;
/// The PTTL of a key that does not exist.
const GONE: RangeInclusive<i64> = -2..=-2;

fn redis_url() -> String {
    std::env::var("E173GW_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A PTTL of up to `ms`, and at most a few seconds less (the test's own run time).
fn near(ms: u64) -> RangeInclusive<i64> {
    let ms = i64::try_from(ms).expect("fits");
    ms - 5_000..=ms
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

    /// Checks the remaining time to live of `key` (under the store's prefix).
    async fn assert_pttl(&self, key: &str, want: RangeInclusive<i64>) {
        let pttl: i64 = self
            .raw(redis::cmd("PTTL").arg(format!("{}{key}", self.prefix)))
            .await;
        assert!(want.contains(&pttl), "PTTL of {key}: {pttl}, want {want:?}");
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
async fn routes_cache_entries_and_rate_windows_expire_in_redis() {
    let r = TestRedis::new("ttl").await;
    let s = &*r.store;
    StickyStore::set(s, "5511911110000", "modem-a", T0, Duration::from_secs(3600))
        .await
        .expect("set");
    r.assert_pttl("sticky:5511911110000", 3_590_000..=3_600_000)
        .await;
    StickyStore::set(s, "5511911110000", "modem-b", T0, Duration::from_secs(60))
        .await
        .expect("refresh");
    r.assert_pttl("sticky:5511911110000", 50_000..=60_000).await;
    StickyStore::set(s, "5511911110000", "modem-c", T0, Duration::ZERO)
        .await
        .expect("zero ttl");
    r.assert_pttl("sticky:5511911110000", GONE).await;

    Cache::set(s, "whatsapp", "5511", "yes", T0, Duration::from_secs(60))
        .await
        .expect("set");
    r.assert_pttl("cache:whatsapp:5511", 50_000..=60_000).await;
    Cache::set(s, "whatsapp", "5511", "no", T0, Duration::ZERO)
        .await
        .expect("zero ttl");
    r.assert_pttl("cache:whatsapp:5511", GONE).await;

    // A rate window outlives its span a little, and no more.
    let k = "trunk:carrier-a:calls";
    for i in 0..5u64 {
        s.hit(k, T0 + i * 1000, Duration::from_secs(10))
            .await
            .expect("hit");
    }
    r.assert_pttl(&format!("hit:{k}"), 10_000..=12_000).await;
}

#[tokio::test]
async fn counters_expire_a_grace_period_after_their_window() {
    let r = TestRedis::new("counters").await;
    let c: &dyn CounterStore = &*r.store;
    let key = "sim:724020001000000:seconds";
    let now = wall_ms();
    c.add(key, Window::Day, now, 90).await.expect("add");
    c.add(key, Window::Month, now, 100).await.expect("month");
    let day_end = Window::Day.end_ms(now) + 2 * DAY - wall_ms();
    r.assert_pttl(
        &format!("cnt:{key}:{}", Window::Day.bucket(now)),
        near(day_end),
    )
    .await;
    let month_end = Window::Month.end_ms(now) + 35 * DAY - wall_ms();
    r.assert_pttl(
        &format!("cnt:{key}:{}", Window::Month.bucket(now)),
        near(month_end),
    )
    .await;
    // A window long gone stays readable for the grace period from now.
    let old = now - 400 * DAY;
    c.add(key, Window::Day, old, 7).await.expect("old");
    r.assert_pttl(
        &format!("cnt:{key}:{}", Window::Day.bucket(old)),
        near(2 * DAY),
    )
    .await;
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
    let proxy = Proxy::start(target.as_str()).await;
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
