//! The HTTP provider and its guard against a real HTTP server on 127.0.0.1 that the test
//! makes right, slow, wrong or dead.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use e173gw_actors::filter::{PortabilityLookup, PresenceLookup};
use e173gw_core::config::lookup::HttpLookupConfig;
use e173gw_core::filter::guard::{BreakerConfig, GuardConfig};
use e173gw_core::filter::LookupFailure;

use super::{Guarded, HttpLookup, ProviderError};

const RIGHT: u8 = 0;
const SLOW: u8 = 1;
const STATUS_500: u8 = 2;
const NOT_JSON: u8 = 3;
const NO_FIELD: u8 = 4;
const NOT_BOOL: u8 = 5;
const HANG: u8 = 6;

/// A provider the test controls: WAHA's shape (`{"numberExists": bool}`) for
/// `/check?phone=<digits>`, OpenWA's (`{"exists": bool}`) for `/openwa/<digits>`, and an
/// operator for `/mnp/<digits>`. Numbers ending in 0 are not on WhatsApp.
struct Server {
    addr: std::net::SocketAddr,
    mode: Arc<AtomicU8>,
    hits: Arc<AtomicU64>,
}

async fn server() -> Server {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    let mode = Arc::new(AtomicU8::new(RIGHT));
    let hits = Arc::new(AtomicU64::new(0));
    let (m, h) = (mode.clone(), hits.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let (m, h) = (m.clone(), h.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut got = 0;
                while !buf[..got].windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf[got..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got += n,
                    }
                }
                h.fetch_add(1, Ordering::SeqCst);
                let req = String::from_utf8_lossy(&buf[..got]).to_string();
                let path = req.split_whitespace().nth(1).unwrap_or("").to_string();
                let digits: String = path
                    .chars()
                    .rev()
                    .take_while(char::is_ascii_digit)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                let authed = req
                    .to_ascii_lowercase()
                    .contains("x-api-key: bearer sekret");
                let yes = !digits.ends_with('0');
                let (status, body) = match m.load(Ordering::SeqCst) {
                    _ if !authed => (401, "{}".to_string()),
                    SLOW => {
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        (200, format!("{{\"numberExists\":{yes}}}"))
                    }
                    STATUS_500 => (500, "{}".into()),
                    NOT_JSON => (200, "<html>oops</html>".into()),
                    NO_FIELD => (200, "{\"other\":true}".into()),
                    NOT_BOOL => (200, "{\"numberExists\":\"perhaps\"}".into()),
                    HANG => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        return;
                    }
                    _ if path.starts_with("/openwa/") => {
                        (200, format!("{{\"number\":\"{digits}\",\"exists\":{yes}}}"))
                    }
                    _ if path.starts_with("/mnp/") => {
                        (200, "{\"carrier\":{\"name\":\"Claro\"}}".into())
                    }
                    _ => (
                        200,
                        format!("{{\"numberExists\":{yes},\"chatId\":\"{digits}@c.us\"}}"),
                    ),
                };
                let resp = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    Server { addr, mode, hits }
}

fn provider(url: String, answer: &str) -> HttpLookup {
    std::env::set_var("E173GW_TEST_WA_KEY", "sekret");
    let cfg = HttpLookupConfig {
        url,
        method: Default::default(),
        body: None,
        auth_header: Some("X-Api-Key".into()),
        auth_env: Some("E173GW_TEST_WA_KEY".into()),
        auth_prefix: "Bearer ".into(),
        answer: answer.into(),
    };
    HttpLookup::new(cfg, Duration::from_secs(5)).expect("provider")
}

fn guard(max_in_flight: usize, failures: u32, open_ms: u64) -> GuardConfig {
    GuardConfig {
        positive_ttl_s: 60,
        negative_ttl_s: 60,
        cache_max: 100,
        max_in_flight,
        breaker: BreakerConfig { failures, open_ms },
    }
}

const BUDGET: Duration = Duration::from_millis(300);

#[tokio::test]
async fn right_answers_are_read_cached_and_authenticated() {
    let s = server().await;
    let waha = Guarded::new(
        provider(
            format!("http://{}/check?phone={{digits}}", s.addr),
            "/numberExists",
        ),
        guard(4, 3, 1000),
    );
    assert_eq!(
        waha.presence("+5511987654321", BUDGET).await,
        (Ok(true), false)
    );
    assert_eq!(
        waha.presence("+5511987654320", BUDGET).await,
        (Ok(false), false)
    );
    assert_eq!(
        waha.presence("+5511987654321", BUDGET).await,
        (Ok(true), true)
    );
    assert_eq!(
        waha.presence("+5511987654320", BUDGET).await,
        (Ok(false), true)
    );
    assert_eq!(
        s.hits.load(Ordering::SeqCst),
        2,
        "cache hits never reach the server"
    );
    let openwa = Guarded::new(
        provider(format!("http://{}/openwa/{{digits}}", s.addr), "/exists"),
        guard(4, 3, 1000),
    );
    assert_eq!(
        openwa.presence("+5511987654320", BUDGET).await,
        (Ok(false), false)
    );
    let mnp = Guarded::new(
        provider(format!("http://{}/mnp/{{digits}}", s.addr), "/carrier/name"),
        guard(4, 3, 1000),
    );
    assert_eq!(
        mnp.operator("+5511987654321", BUDGET).await,
        (Ok(Some("Claro".into())), false)
    );
    // Without the credential the server refuses: an error, not an answer.
    let mut cfg_noauth = HttpLookupConfig {
        url: format!("http://{}/check?phone={{digits}}", s.addr),
        method: Default::default(),
        body: None,
        auth_header: None,
        auth_env: None,
        auth_prefix: String::new(),
        answer: "/numberExists".into(),
    };
    let noauth = HttpLookup::new(cfg_noauth.clone(), Duration::from_secs(5)).expect("provider");
    assert_eq!(
        noauth.fetch("+5511987654321").await,
        Err(ProviderError::Status(401))
    );
    cfg_noauth.auth_header = Some("X-Api-Key".into());
    cfg_noauth.auth_env = Some("E173GW_TEST_NO_SUCH_VAR".into());
    assert_eq!(
        HttpLookup::new(cfg_noauth, Duration::from_secs(5)).err(),
        Some(ProviderError::MissingCredential(
            "E173GW_TEST_NO_SUCH_VAR".into()
        ))
    );
}

#[tokio::test]
async fn slow_wrong_and_dead_providers_fail_within_the_budget_and_are_not_cached() {
    let s = server().await;
    let url = format!("http://{}/check?phone={{digits}}", s.addr);
    let g = Guarded::new(provider(url, "/numberExists"), guard(8, 100, 1000));
    // (mode, what the call gets)
    type Want = fn(&LookupFailure) -> bool;
    let cases: &[(u8, Want)] = &[
        (SLOW, |f| *f == LookupFailure::Timeout),
        (HANG, |f| *f == LookupFailure::Timeout),
        (
            STATUS_500,
            |f| matches!(f, LookupFailure::Error(e) if e.contains("500")),
        ),
        (
            NOT_JSON,
            |f| matches!(f, LookupFailure::Error(e) if e.contains("not JSON")),
        ),
        (
            NO_FIELD,
            |f| matches!(f, LookupFailure::Error(e) if e.contains("nothing at")),
        ),
        (
            NOT_BOOL,
            |f| matches!(f, LookupFailure::Error(e) if e.contains("not a yes or no")),
        ),
    ];
    for (mode, want) in cases {
        s.mode.store(*mode, Ordering::SeqCst);
        let t0 = tokio::time::Instant::now();
        let (r, cached) = g.presence("+5511987654321", BUDGET).await;
        let took = t0.elapsed();
        assert!(!cached);
        let e = r.expect_err("a failure");
        assert!(want(&e), "mode {mode}: {e:?}");
        assert!(
            took < BUDGET + Duration::from_millis(500),
            "mode {mode} took {took:?}"
        );
    }
    // A dead port.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let g = Guarded::new(
        provider(
            format!("http://{dead}/check?phone={{digits}}"),
            "/numberExists",
        ),
        guard(8, 100, 1000),
    );
    let (r, _) = g.presence("+5511987654321", BUDGET).await;
    assert!(
        matches!(r, Err(LookupFailure::Error(ref e)) if e.contains("transport")),
        "{r:?}"
    );
}

#[tokio::test]
async fn the_breaker_stops_requests_after_failures_and_lets_one_through_later() {
    let s = server().await;
    s.mode.store(STATUS_500, Ordering::SeqCst);
    let url = format!("http://{}/check?phone={{digits}}", s.addr);
    let g = Guarded::new(provider(url, "/numberExists"), guard(8, 3, 400));
    for _ in 0..3 {
        let (r, _) = g.presence("+5511987654321", BUDGET).await;
        assert!(matches!(r, Err(LookupFailure::Error(_))));
    }
    for _ in 0..10 {
        let (r, _) = g.presence("+5511987654321", BUDGET).await;
        assert_eq!(r, Err(LookupFailure::BreakerOpen));
    }
    assert_eq!(s.hits.load(Ordering::SeqCst), 3, "no request while open");
    tokio::time::sleep(Duration::from_millis(450)).await;
    s.mode.store(RIGHT, Ordering::SeqCst);
    assert_eq!(
        g.presence("+5511987654321", BUDGET).await,
        (Ok(true), false)
    );
    assert_eq!(
        g.presence("+5511987654322", BUDGET).await,
        (Ok(true), false)
    );
    assert_eq!(s.hits.load(Ordering::SeqCst), 5, "closed again");
}

#[tokio::test]
async fn over_the_concurrency_limit_lookups_are_busy_at_once() {
    let s = server().await;
    s.mode.store(SLOW, Ordering::SeqCst);
    let url = format!("http://{}/check?phone={{digits}}", s.addr);
    let g = Guarded::new(provider(url, "/numberExists"), guard(2, 100, 1000));
    let long = Duration::from_secs(3);
    let a = tokio::spawn({
        let g = g.clone();
        async move { g.presence("+5511987654321", long).await }
    });
    let b = tokio::spawn({
        let g = g.clone();
        async move { g.presence("+5511987654322", long).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t0 = tokio::time::Instant::now();
    assert_eq!(
        g.presence("+5511987654323", long).await,
        (Err(LookupFailure::Busy), false)
    );
    assert!(
        t0.elapsed() < Duration::from_millis(100),
        "busy is answered at once"
    );
    assert_eq!(a.await.expect("join"), (Ok(true), false));
    assert_eq!(b.await.expect("join"), (Ok(true), false));
}
