//! One contract for every storage port, run against both adapter families: the embedded
//! SQLite store, and PostgreSQL + Redis (the machine's real servers; each test gets its
//! own schema and key prefix and removes them afterwards).

use std::time::Duration;

use e173gw::adapters::postgres::PgStore;
use e173gw::adapters::redis::RedisStore;
use e173gw::adapters::sqlite::SqliteStore;
use e173gw_core::at::cause::EndKind;
use e173gw_core::ports::*;
use e173gw_core::record::{CallRecord, EndReason, RecordTarget};

const T0: u64 = 1_795_370_400_000; // 2026-11-22T18:00:00Z
const MIN: u64 = 60_000;
const DAY: u64 = 86_400_000;

fn pg_url() -> String {
    std::env::var("E173GW_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn redis_url() -> String {
    std::env::var("E173GW_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn unique(tag: &str) -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("c_{tag}_{}_{n}_{}", std::process::id(), t % 1_000_000)
}

/// A backend under test and how to clean up after it.
enum Backend {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Production { schema: String, prefix: String },
}

impl Backend {
    async fn cleanup(self) {
        if let Backend::Production { schema, prefix } = self {
            if let Ok((client, conn)) =
                tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls).await
            {
                tokio::spawn(conn);
                let _ = client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .await;
            }
            if let Ok(c) = redis::Client::open(redis_url()) {
                if let Ok(mut con) = c.get_multiplexed_async_connection().await {
                    let keys: Vec<String> = redis::cmd("KEYS")
                        .arg(format!("{prefix}*"))
                        .query_async(&mut con)
                        .await
                        .unwrap_or_default();
                    if !keys.is_empty() {
                        let _: redis::RedisResult<()> =
                            redis::cmd("DEL").arg(keys).query_async(&mut con).await;
                    }
                }
            }
        }
    }
}

async fn sqlite() -> (Backend, Stores) {
    let dir = tempfile::tempdir().expect("tmp");
    let store = SqliteStore::open(&dir.path().join("e173gw.db"))
        .await
        .expect("sqlite opens");
    (Backend::Sqlite(dir), store.stores())
}

async fn production(tag: &str) -> (Backend, Stores) {
    let schema = unique(tag);
    let prefix = format!("{schema}:");
    let pg = PgStore::connect(&pg_url(), &schema, 4, Duration::from_secs(5), true)
        .await
        .expect("postgres (is it running?)");
    let rd = RedisStore::connect(&redis_url(), &prefix, Duration::from_secs(2))
        .await
        .expect("redis (is it running?)");
    let stores = Stores {
        records: pg.clone(),
        history: pg.clone(),
        blacklist: pg.clone(),
        inventory: pg,
        sticky: rd.clone(),
        counters: rd.clone(),
        cache: rd,
    };
    (Backend::Production { schema, prefix }, stores)
}

/// Runs a contract against both backends.
macro_rules! contract {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let (b, s) = super::sqlite().await;
                super::$name(&s).await;
                b.cleanup().await;
            }

            #[tokio::test]
            async fn production() {
                let (b, s) = super::production(stringify!($name)).await;
                super::$name(&s).await;
                b.cleanup().await;
            }
        }
    };
}

fn rec(
    call_id: &str,
    caller: &str,
    callee: &str,
    received_ms: u64,
    status: u16,
    talk_ms: u64,
) -> CallRecord {
    let answered = status == 200;
    CallRecord {
        call_id: call_id.into(),
        trunk: Some("carrier-a".into()),
        caller: caller.into(),
        callee: callee.into(),
        target: RecordTarget::Modem {
            modem: "m1".into(),
            imei: Some("354911021000005".into()),
            imsi: Some("724020001000000".into()),
            iccid: None,
        },
        attempts: Vec::new(),
        received_ms,
        routed_ms: Some(received_ms + 5),
        alerting_ms: Some(received_ms + 1500),
        answered_ms: answered.then_some(received_ms + 3000),
        ended_ms: received_ms + 3000 + talk_ms,
        sip_status: status,
        end_reason: if answered {
            EndReason::CallerHangup
        } else {
            EndReason::Failed
        },
        gsm_end: Some(if answered {
            EndKind::Normal
        } else {
            EndKind::Busy
        }),
        q850: Some(if answered { 16 } else { 17 }),
        post_dial_delay_ms: Some(1495),
        talk_ms,
        verdict: vec!["blacklist: pass".into(), "phone: valid mobile".into()],
    }
}

// === records ===

async fn records_are_idempotent(s: &Stores) {
    let a = rec("a@x", "5511900000001", "5511988880001", T0, 200, 30_000);
    let b = rec("b@x", "5511900000002", "5511988880002", T0 + MIN, 486, 0);
    let c = rec(
        "c@x",
        "5511900000003",
        "5511988880003",
        T0 + 2 * MIN,
        200,
        4_000,
    );
    assert_eq!(
        s.records
            .insert(&[a.clone(), b.clone()])
            .await
            .expect("insert"),
        2
    );
    assert_eq!(
        s.records
            .insert(&[a.clone(), b.clone()])
            .await
            .expect("replay"),
        0,
        "a replay stores nothing twice"
    );
    assert_eq!(
        s.records
            .insert(&[b.clone(), c.clone()])
            .await
            .expect("mixed"),
        1
    );
    assert_eq!(s.records.insert(&[]).await.expect("empty"), 0);
    for r in [&a, &b, &c] {
        assert_eq!(
            s.records.get(&r.call_id).await.expect("get").as_ref(),
            Some(r),
            "round trip of {}",
            r.call_id
        );
    }
    assert_eq!(s.records.get("nope").await.expect("get"), None);
    assert_eq!(
        s.records
            .count(&RecordQuery::default())
            .await
            .expect("count"),
        3
    );
}

async fn records_search_and_count(s: &Stores) {
    let mut batch = Vec::new();
    for i in 0..30u64 {
        let mut r = rec(
            &format!("s{i}@x"),
            &format!("55119000000{:02}", i % 3),
            &format!("5511988880{:03}", i % 5),
            T0 + i * MIN,
            if i % 2 == 0 { 200 } else { 486 },
            i * 1000,
        );
        r.trunk = Some(if i < 10 { "t1" } else { "t2" }.into());
        if i >= 20 {
            r.target = RecordTarget::Agent {
                uri: "sip:agent@127.0.0.1".into(),
            };
        }
        batch.push(r);
    }
    s.records.insert(&batch).await.expect("insert");
    let q = |f: &dyn Fn(&mut RecordQuery)| {
        let mut q = RecordQuery::default();
        f(&mut q);
        q
    };
    let all = s
        .records
        .search(&RecordQuery::default())
        .await
        .expect("search");
    assert_eq!(all.len(), 30);
    assert!(
        all.windows(2).all(|w| w[0].received_ms >= w[1].received_ms),
        "newest first"
    );
    let cases: Vec<(RecordQuery, u64)> = vec![
        (q(&|q| q.caller = Some("5511900000001".into())), 10),
        (q(&|q| q.callee = Some("5511988880002".into())), 6),
        (q(&|q| q.number = Some("5511988880002".into())), 6),
        (q(&|q| q.number = Some("5511900000002".into())), 10),
        (q(&|q| q.trunk = Some("t1".into())), 10),
        (q(&|q| q.modem = Some("m1".into())), 20),
        (q(&|q| q.sip_status = Some(486)), 15),
        (
            q(&|q| {
                q.from_ms = Some(T0 + 10 * MIN);
                q.to_ms = Some(T0 + 20 * MIN);
            }),
            10,
        ),
        (
            q(&|q| {
                q.trunk = Some("t2".into());
                q.sip_status = Some(200);
            }),
            10,
        ),
        (q(&|q| q.callee = Some("none".into())), 0),
    ];
    for (query, want) in cases {
        assert_eq!(
            s.records.count(&query).await.expect("count"),
            want,
            "{query:?}"
        );
        let found = s.records.search(&query).await.expect("search");
        assert_eq!(found.len() as u64, want, "{query:?}");
    }
    let limited = s
        .records
        .search(&q(&|q| q.limit = 7))
        .await
        .expect("search");
    assert_eq!(limited.len(), 7);
    assert_eq!(limited[0].call_id, "s29@x");
    assert_eq!(
        s.records.count(&q(&|q| q.limit = 7)).await.expect("count"),
        30,
        "count ignores the limit"
    );
}

async fn records_across_months(s: &Stores) {
    let oct = rec("oct@x", "1", "2", T0 - 40 * DAY, 200, 1000);
    let nov = rec("nov@x", "1", "2", T0, 200, 1000);
    let dec = rec("dec@x", "1", "2", T0 + 15 * DAY, 200, 1000);
    assert_eq!(
        s.records
            .insert(&[oct.clone(), nov.clone(), dec.clone()])
            .await
            .expect("insert"),
        3
    );
    assert_eq!(
        s.records
            .insert(std::slice::from_ref(&dec))
            .await
            .expect("replay"),
        0
    );
    assert_eq!(s.records.get("oct@x").await.expect("get"), Some(oct));
    assert_eq!(s.records.get("dec@x").await.expect("get"), Some(dec));
    let q = RecordQuery {
        from_ms: Some(T0 - 50 * DAY),
        to_ms: Some(T0 + 20 * DAY),
        ..RecordQuery::default()
    };
    assert_eq!(s.records.count(&q).await.expect("count"), 3);
}

async fn records_from_many_tasks(s: &Stores) {
    let mut tasks = Vec::new();
    for t in 0..8u64 {
        let store = s.records.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25u64 {
                let r = rec(
                    &format!("p{t}-{i}@x"),
                    "1",
                    "2",
                    T0 + t * 1000 + i,
                    200,
                    100,
                );
                assert_eq!(store.insert(&[r]).await.expect("insert"), 1);
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(
        s.records
            .count(&RecordQuery::default())
            .await
            .expect("count"),
        200
    );
}

// === history ===

async fn history_aggregates(s: &Stores) {
    let n = "5511977770000";
    let recs = vec![
        rec("h1@x", "5511900000001", n, T0 - 2 * DAY, 200, 120_000), // before the window
        rec("h2@x", "5511900000001", n, T0, 200, 2_000),             // short
        rec("h3@x", "5511900000002", n, T0 + MIN, 486, 0),
        rec("h4@x", "5511900000003", n, T0 + 2 * MIN, 200, 60_000),
        rec("h5@x", n, "5511900000009", T0 + 3 * MIN, 200, 1_000), // n as caller
        rec("h6@x", "5511900000003", n, T0 + 4 * MIN, 480, 0),     // last as callee
    ];
    s.records.insert(&recs).await.expect("insert");
    let h = s
        .history
        .number_history(Party::Callee, n, T0 - DAY, 6_000)
        .await
        .expect("history");
    assert_eq!(
        (h.attempts, h.answered, h.short_calls, h.distinct_peers),
        (4, 2, 1, 3),
        "{h:?}"
    );
    let last = h.last.expect("last");
    assert_eq!(
        (last.at_ms, last.sip_status, last.talk_ms),
        (T0 + 4 * MIN, 480, 0)
    );
    assert_eq!(last.gsm_end, Some(EndKind::Busy));
    let all = s
        .history
        .number_history(Party::Callee, n, 0, 6_000)
        .await
        .expect("history");
    assert_eq!(all.attempts, 5);
    let as_caller = s
        .history
        .number_history(Party::Caller, n, 0, 6_000)
        .await
        .expect("history");
    assert_eq!(
        (
            as_caller.attempts,
            as_caller.answered,
            as_caller.short_calls,
            as_caller.distinct_peers
        ),
        (1, 1, 1, 1)
    );
    let none = s
        .history
        .number_history(Party::Caller, "000", 0, 6_000)
        .await
        .expect("history");
    assert_eq!(none, NumberHistory::default());
}

// === blacklist ===

fn entry(
    pattern: &str,
    kind: MatchKind,
    party: PartyScope,
    expires_ms: Option<u64>,
) -> BlacklistEntry {
    BlacklistEntry {
        pattern: pattern.into(),
        kind,
        party,
        reason: format!("{pattern} {kind:?}"),
        created_ms: T0,
        expires_ms,
    }
}

async fn blacklist_precedence_and_expiry(s: &Stores) {
    let b = &s.blacklist;
    b.add(&entry("55119", MatchKind::Prefix, PartyScope::Both, None))
        .await
        .expect("add");
    b.add(&entry(
        "551199",
        MatchKind::Prefix,
        PartyScope::Callee,
        None,
    ))
    .await
    .expect("add");
    b.add(&entry(
        "5511999990000",
        MatchKind::Exact,
        PartyScope::Callee,
        Some(T0 + MIN),
    ))
    .await
    .expect("add");
    b.add(&entry(
        "5521",
        MatchKind::Prefix,
        PartyScope::Caller,
        Some(T0 - 1),
    ))
    .await
    .expect("add");
    let find = |n: &'static str, p: Party, now: u64| {
        let b = b.clone();
        async move {
            b.find(n, p, now)
                .await
                .expect("find")
                .map(|e| (e.pattern, e.kind))
        }
    };
    assert_eq!(
        find("5511999990000", Party::Callee, T0).await,
        Some(("5511999990000".into(), MatchKind::Exact))
    );
    assert_eq!(
        find("5511999990000", Party::Callee, T0 + MIN).await,
        Some(("551199".into(), MatchKind::Prefix)),
        "exact expired"
    );
    assert_eq!(
        find("5511999990000", Party::Caller, T0).await,
        Some(("55119".into(), MatchKind::Prefix)),
        "callee-only entries skip callers"
    );
    assert_eq!(
        find("5521987654321", Party::Caller, T0).await,
        None,
        "expired"
    );
    assert_eq!(find("4411", Party::Caller, T0).await, None);
    assert_eq!(b.list(T0).await.expect("list").len(), 3);
    // Replace: same pattern, kind and party.
    let mut again = entry("55119", MatchKind::Prefix, PartyScope::Both, None);
    again.reason = "replaced".into();
    b.add(&again).await.expect("replace");
    let listed = b.list(T0).await.expect("list");
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().any(|e| e.reason == "replaced"));
    assert!(b
        .remove("55119", MatchKind::Prefix, PartyScope::Both)
        .await
        .expect("remove"));
    assert!(!b
        .remove("55119", MatchKind::Prefix, PartyScope::Both)
        .await
        .expect("remove again"));
    assert_eq!(find("5511912345678", Party::Caller, T0).await, None);
}

// === sticky routes ===

async fn sticky_routes(s: &Stores) {
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
        (r.target.as_str(), r.expires_ms),
        ("modem-a", T0 + 3_600_000)
    );
    assert_eq!(
        st.get("5511911110000", T0 + 3_600_000).await.expect("get"),
        None,
        "expired at now_ms"
    );
    st.set("5511911110000", "modem-b", T0 + 10, Duration::from_secs(60))
        .await
        .expect("refresh");
    assert_eq!(
        st.get("5511911110000", T0 + 20)
            .await
            .expect("get")
            .map(|r| r.target),
        Some("modem-b".into())
    );
    st.remove("5511911110000").await.expect("remove");
    assert_eq!(st.get("5511911110000", T0 + 20).await.expect("get"), None);
    st.remove("never-set").await.expect("remove absent");
}

// === counters ===

async fn counters_windows_and_rates(s: &Stores) {
    let c = &s.counters;
    let key = "sim:724020001000000:seconds";
    assert_eq!(c.get(key, Window::Day, T0).await.expect("get"), 0);
    assert_eq!(c.add(key, Window::Day, T0, 90).await.expect("add"), 90);
    assert_eq!(
        c.add(key, Window::Day, T0 + 3 * 3_600_000, 30)
            .await
            .expect("add"),
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
        c.get(key, Window::Month, T0 + 30 * DAY)
            .await
            .expect("next month"),
        0
    );
    assert_eq!(
        c.get("other", Window::Day, T0).await.expect("get"),
        0,
        "keys are separate"
    );
    // Sliding rate window over whole seconds.
    let span = Duration::from_secs(10);
    let mut last = 0;
    for i in 0..5u64 {
        last = c
            .hit("trunk:carrier-a:calls", T0 + i * 1000, span)
            .await
            .expect("hit");
    }
    assert_eq!(last, 5);
    assert_eq!(
        c.hit("trunk:carrier-a:calls", T0 + 12_000, span)
            .await
            .expect("hit"),
        3,
        "hits older than the span fall out"
    );
}

// === cache ===

async fn cache_entries(s: &Stores) {
    let c = &s.cache;
    assert_eq!(c.get("whatsapp", "5511", T0).await.expect("get"), None);
    c.set("whatsapp", "5511", "yes", T0, Duration::from_secs(60))
        .await
        .expect("set");
    c.set("portability", "5511", "TIM", T0, Duration::from_secs(60))
        .await
        .expect("set");
    assert_eq!(
        c.get("whatsapp", "5511", T0 + 59_000)
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
        Some("TIM"),
        "namespaces are separate"
    );
    assert_eq!(
        c.get("whatsapp", "5511", T0 + 60_000).await.expect("get"),
        None,
        "expired"
    );
    c.set("whatsapp", "5511", "no", T0 + 1, Duration::from_secs(60))
        .await
        .expect("overwrite");
    assert_eq!(
        c.get("whatsapp", "5511", T0 + 2)
            .await
            .expect("get")
            .as_deref(),
        Some("no")
    );
}

// === inventory ===

async fn inventory_first_last_and_usage(s: &Stores) {
    let inv = &s.inventory;
    let mut m = ModemSeen {
        imei: "354911021000005".into(),
        modem_id: "m1".into(),
        model: Some("E173".into()),
        firmware: Some("11.126.85.00.209".into()),
        imsi: Some("724020001000000".into()),
        iccid: Some("8955020000001000002".into()),
        operator: Some("TIM BRASIL".into()),
        own_number: Some("+5511900000000".into()),
    };
    inv.seen(&m, T0).await.expect("seen");
    inv.seen(&m, T0 + DAY).await.expect("seen again");
    inv.add_usage(
        &m.imei,
        m.imsi.as_deref(),
        &Usage {
            calls: 3,
            answered: 2,
            talk_seconds: 95,
        },
    )
    .await
    .expect("usage");
    inv.add_usage(
        &m.imei,
        m.imsi.as_deref(),
        &Usage {
            calls: 1,
            answered: 1,
            talk_seconds: 5,
        },
    )
    .await
    .expect("usage");
    let modems = inv.modems().await.expect("modems");
    assert_eq!(modems.len(), 1);
    assert_eq!(
        (modems[0].first_seen_ms, modems[0].last_seen_ms),
        (T0, T0 + DAY)
    );
    assert_eq!(
        modems[0].usage,
        Usage {
            calls: 4,
            answered: 3,
            talk_seconds: 100
        }
    );
    assert_eq!(modems[0].seen, m);
    // The SIM moves to another modem (a swap); both stay known.
    let mut other = m.clone();
    other.imei = "354911021000013".into();
    other.modem_id = "m2".into();
    inv.seen(&other, T0 + 2 * DAY).await.expect("seen");
    m.imsi = None;
    m.iccid = None;
    inv.seen(&m, T0 + 2 * DAY).await.expect("seen without SIM");
    let sims = inv.sims().await.expect("sims");
    assert_eq!(sims.len(), 1);
    let sim = &sims[0];
    assert_eq!(sim.imsi, "724020001000000");
    assert_eq!(sim.last_imei, "354911021000013");
    assert_eq!((sim.first_seen_ms, sim.last_seen_ms), (T0, T0 + 2 * DAY));
    assert_eq!(
        sim.usage,
        Usage {
            calls: 4,
            answered: 3,
            talk_seconds: 100
        }
    );
    assert_eq!(inv.modems().await.expect("modems").len(), 2);
}

contract!(records_are_idempotent);
contract!(records_search_and_count);
contract!(records_across_months);
contract!(records_from_many_tasks);
contract!(history_aggregates);
contract!(blacklist_precedence_and_expiry);
contract!(sticky_routes);
contract!(counters_windows_and_rates);
contract!(cache_entries);
contract!(inventory_first_last_and_usage);

/// An unreachable backend is `Unavailable` within its timeout: never a hang or a panic.
#[tokio::test]
async fn unreachable_backends_are_unavailable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let started = tokio::time::Instant::now();
    let pg = PgStore::connect(
        &format!("postgres://postgres@127.0.0.1:{port}/test"),
        "x",
        1,
        Duration::from_millis(500),
        true,
    )
    .await;
    assert!(
        matches!(pg, Err(StoreError::Unavailable(_))),
        "{:?}",
        pg.err()
    );
    let rd = RedisStore::connect(
        &format!("redis://127.0.0.1:{port}"),
        "x:",
        Duration::from_millis(500),
    )
    .await;
    if let Ok(r) = rd {
        // The connection manager may connect lazily; the first command must fail cleanly.
        let got = StickyStore::get(&*r, "n", T0).await;
        assert!(matches!(got, Err(StoreError::Unavailable(_))), "{got:?}");
    }
    assert!(started.elapsed() < Duration::from_secs(10));
}
