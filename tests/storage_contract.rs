//! One contract for every storage port, run against both adapter families: the embedded
//! SQLite store, and PostgreSQL + Redis (the machine's real servers; each test gets its
//! own schema and key prefix and removes them afterwards).

use std::time::Duration;

use e173gw::adapters::postgres::PgStore;
use e173gw::adapters::redis::RedisStore;
use e173gw::adapters::sqlite::SqliteStore;
use e173gw_core::at::cause::EndKind;
use e173gw_core::ports::*;
use e173gw_core::record::{Attempt, CallRecord, EndReason, RecordTarget};

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
    // Every field round-trips: attempts with quotes and non-ASCII text, an agent target
    // with the optional fields unset, no target at all and the largest end time.
    let mut a = rec("a@x", "5511900000001", "5511988880001", T0 + 1, 200, 30_000);
    a.attempts = vec![
        Attempt {
            modem: "m0".into(),
            end: Some(EndKind::Congestion),
            q850: Some(34),
            detail: "congestion, \"quoted\" and ünïcödé".into(),
        },
        Attempt {
            modem: "m1".into(),
            end: None,
            q850: None,
            detail: String::new(),
        },
    ];
    let mut b = rec("b@x", "5511900000002", "5511988880002", T0 + MIN, 486, 0);
    b.target = RecordTarget::Agent {
        uri: "sip:agent@127.0.0.1".into(),
    };
    b.trunk = None;
    b.gsm_end = None;
    b.q850 = None;
    b.answered_ms = None;
    b.verdict = Vec::new();
    let mut c = rec("c@x", "5511900000003", "5511988880003", T0 + 2 * MIN, 0, 0);
    c.target = RecordTarget::None;
    c.routed_ms = None;
    c.alerting_ms = None;
    c.post_dial_delay_ms = None;
    c.ended_ms = u64::try_from(i64::MAX).expect("fits");
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
            .insert(&[b.clone(), c.clone(), c.clone()])
            .await
            .expect("mixed"),
        1,
        "a Call-ID twice in one batch is stored once"
    );
    assert_eq!(s.records.insert(&[]).await.expect("empty"), 0);
    // Same Call-ID, other contents (even another month): the stored one stays.
    let mut a2 = a.clone();
    a2.received_ms = T0 + 40 * DAY;
    a2.sip_status = 503;
    assert_eq!(s.records.insert(&[a2]).await.expect("same call id"), 0);
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

async fn a_failing_batch_stores_nothing(s: &Stores) {
    let good = rec("good@x", "1", "2", T0, 200, 1000);
    let nul = rec("nul@x", "1\u{0}1", "2", T0 + 1, 200, 1000);
    let r = s.records.insert(&[good.clone(), nul]).await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "NUL byte: {r:?}");
    let mut huge = rec("huge@x", "1", "2", T0, 200, 1000);
    huge.talk_ms = u64::MAX;
    let r = s.records.insert(&[good.clone(), huge]).await;
    assert!(
        matches!(r, Err(StoreError::Invalid(_))),
        "out of range: {r:?}"
    );
    assert_eq!(
        s.records
            .count(&RecordQuery::default())
            .await
            .expect("count"),
        0
    );
    assert_eq!(s.records.get("good@x").await.expect("get"), None);
    assert_eq!(s.records.insert(&[good]).await.expect("then it goes in"), 1);
}

async fn records_search_and_count(s: &Stores) {
    let mut batch = Vec::new();
    for i in 0..30u64 {
        let mut r = rec(
            &format!("s{i:02}@x"),
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
    assert_eq!(s.records.insert(&batch).await.expect("insert"), 30);
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
    assert_eq!(all[0].call_id, "s29@x", "newest first");
    assert!(all.windows(2).all(|w| w[0].received_ms > w[1].received_ms));
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
        (q(&|q| q.from_ms = Some(u64::MAX)), 0),
        (q(&|q| q.to_ms = Some(u64::MAX)), 30),
        (
            q(&|q| {
                q.trunk = Some("t2".into());
                q.sip_status = Some(200);
            }),
            10,
        ),
        (
            q(&|q| {
                q.trunk = Some("t2".into());
                q.sip_status = Some(486);
            }),
            10,
        ),
        (q(&|q| q.callee = Some("none".into())), 0),
        (
            q(&|q| q.callee = Some("'; DROP TABLE call_records; --".into())),
            0,
        ),
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
    let page = q(&|q| {
        q.limit = 7;
        q.trunk = Some("t2".into());
    });
    let found = s.records.search(&page).await.expect("search");
    let ids: Vec<_> = found.iter().map(|r| r.call_id.as_str()).collect();
    assert_eq!(
        ids,
        ["s29@x", "s28@x", "s27@x", "s26@x", "s25@x", "s24@x", "s23@x"]
    );
    assert_eq!(
        s.records.count(&page).await.expect("count"),
        20,
        "count ignores the limit"
    );
    assert_eq!(
        s.records
            .search(&q(&|q| q.limit = 5000))
            .await
            .expect("search")
            .len(),
        30,
        "a limit above the cap"
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
    let mut unanswered_with_talk = rec("h7@x", "5511900000004", n, T0 + 5 * MIN, 486, 0);
    unanswered_with_talk.talk_ms = 1;
    let recs = vec![
        rec("h1@x", "5511900000001", n, T0 - 2 * DAY, 200, 120_000), // before the window
        rec("h2@x", "5511900000001", n, T0, 200, 2_000),             // short
        rec("h3@x", "5511900000002", n, T0 + MIN, 486, 0),
        rec("h4@x", "5511900000003", n, T0 + 2 * MIN, 200, 60_000),
        rec("h5@x", n, "5511900000009", T0 + 3 * MIN, 200, 1_000), // n as caller
        rec("h6@x", "5511900000003", n, T0 + 4 * MIN, 480, 0),
        unanswered_with_talk, // not short: not answered
        // Next month, and the last call as callee.
        rec("h8@x", "5511900000005", n, T0 + 10 * DAY, 200, 5_999),
    ];
    s.records.insert(&recs).await.expect("insert");
    let h = s
        .history
        .number_history(Party::Callee, n, T0 - DAY, 6_000)
        .await
        .expect("history");
    assert_eq!(
        (h.attempts, h.answered, h.short_calls, h.distinct_peers),
        (6, 3, 2, 5),
        "{h:?}"
    );
    let last = h.last.expect("last");
    assert_eq!(
        (last.at_ms, last.sip_status, last.talk_ms),
        (T0 + 10 * DAY, 200, 5_999)
    );
    assert_eq!(last.gsm_end, Some(EndKind::Normal));
    let all = s
        .history
        .number_history(Party::Callee, n, 0, 6_000)
        .await
        .expect("history");
    assert_eq!(all.attempts, 7);
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
    assert_eq!(as_caller.last.map(|l| l.at_ms), Some(T0 + 3 * MIN));
    let none = s
        .history
        .number_history(Party::Caller, "000", 0, 6_000)
        .await
        .expect("history");
    assert_eq!(none, NumberHistory::default());
    let future = s
        .history
        .number_history(Party::Callee, n, u64::MAX, 6_000)
        .await
        .expect("history");
    assert_eq!(future, NumberHistory::default());
}

async fn on_equal_times_the_later_insert_is_newer(s: &Stores) {
    let first = rec("1@x", "A", "B", T0, 200, 1000);
    let second = rec("2@x", "A", "B", T0, 503, 0);
    let third = rec("0@x", "A", "B", T0, 486, 0);
    s.records.insert(&[first, second]).await.expect("insert");
    let h = s
        .history
        .number_history(Party::Caller, "A", 0, 0)
        .await
        .expect("history");
    assert_eq!(h.last.map(|l| l.sip_status), Some(503));
    s.records.insert(&[third]).await.expect("insert");
    let h = s
        .history
        .number_history(Party::Callee, "B", 0, 0)
        .await
        .expect("history");
    assert_eq!(h.last.map(|l| l.sip_status), Some(486));
    let found = s
        .records
        .search(&RecordQuery::default())
        .await
        .expect("search");
    let ids: Vec<_> = found.iter().map(|r| r.call_id.as_str()).collect();
    assert_eq!(ids, ["0@x", "2@x", "1@x"]);
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
    for e in [
        entry("55119", MatchKind::Prefix, PartyScope::Both, None),
        entry("551199", MatchKind::Prefix, PartyScope::Callee, None),
        entry(
            "5511999990000",
            MatchKind::Exact,
            PartyScope::Callee,
            Some(T0 + MIN),
        ),
        entry("5511999990000", MatchKind::Prefix, PartyScope::Caller, None),
        entry("5521", MatchKind::Prefix, PartyScope::Caller, Some(T0 - 1)),
        entry("55%", MatchKind::Prefix, PartyScope::Both, None),
        entry("5531", MatchKind::Exact, PartyScope::Both, None),
    ] {
        b.add(&e).await.expect("add");
    }
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
        "exact expired at now_ms"
    );
    assert_eq!(
        find("5511999990000", Party::Caller, T0).await,
        Some(("5511999990000".into(), MatchKind::Prefix)),
        "a prefix as long as the number"
    );
    assert_eq!(
        find("5511999991111", Party::Caller, T0).await,
        Some(("55119".into(), MatchKind::Prefix)),
        "callee-only entries skip callers"
    );
    assert_eq!(
        find("5521987654321", Party::Caller, T0).await,
        None,
        "expired"
    );
    assert_eq!(
        find("5521987654321", Party::Caller, T0 - 2)
            .await
            .map(|e| e.0),
        Some("5521".into())
    );
    assert_eq!(
        find("5599", Party::Caller, T0).await,
        None,
        "patterns are not LIKE patterns"
    );
    assert_eq!(
        find("553", Party::Callee, T0).await,
        None,
        "an exact entry is not a prefix"
    );
    assert_eq!(find("55311", Party::Callee, T0).await, None);
    assert_eq!(find("4411", Party::Caller, T0).await, None);
    assert_eq!(b.list(T0).await.expect("list").len(), 6);
    assert_eq!(b.list(T0 - 2).await.expect("list").len(), 7);
    assert_eq!(b.list(T0 + MIN).await.expect("list").len(), 5);
    // Replace: same pattern, kind and party.
    let mut again = entry("55119", MatchKind::Prefix, PartyScope::Both, Some(T0 + DAY));
    again.reason = "replaced".into();
    b.add(&again).await.expect("replace");
    let listed = b.list(T0).await.expect("list");
    assert_eq!(listed.len(), 6);
    assert!(listed.contains(&again), "{listed:?}");
    assert!(b
        .remove("55119", MatchKind::Prefix, PartyScope::Both)
        .await
        .expect("remove"));
    assert!(!b
        .remove("55119", MatchKind::Prefix, PartyScope::Both)
        .await
        .expect("remove again"));
    assert!(!b
        .remove("551199", MatchKind::Prefix, PartyScope::Both)
        .await
        .expect("other party"));
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

async fn counters_windows_and_rates(s: &Stores) {
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

async fn rate_windows_count_whole_seconds(s: &Stores) {
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

async fn cache_entries(s: &Stores) {
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
    assert!(inv.modems().await.expect("modems").is_empty());
    inv.seen(&m, T0).await.expect("seen");
    m.firmware = Some("11.126.85.00.210".into());
    inv.seen(&m, T0 + DAY).await.expect("seen again");
    // Concurrent increments all count.
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let inv = inv.clone();
            let (imei, imsi) = (m.imei.clone(), m.imsi.clone());
            tokio::spawn(async move {
                let u = Usage {
                    calls: 3,
                    answered: 2,
                    talk_seconds: 95,
                };
                inv.add_usage(&imei, imsi.as_deref(), &u).await
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("usage");
    }
    let total = Usage {
        calls: 30,
        answered: 20,
        talk_seconds: 950,
    };
    let modems = inv.modems().await.expect("modems");
    assert_eq!(modems.len(), 1);
    assert_eq!(
        (modems[0].first_seen_ms, modems[0].last_seen_ms),
        (T0, T0 + DAY)
    );
    assert_eq!(modems[0].usage, total);
    assert_eq!(modems[0].seen, m, "identity fields as seen last");
    // The SIM moves to another modem (a swap); both stay known.
    let mut other = m.clone();
    other.imei = "354911021000013".into();
    other.modem_id = "m2".into();
    other.operator = None;
    inv.seen(&other, T0 + 2 * DAY).await.expect("seen");
    m.imsi = None;
    m.iccid = None;
    inv.seen(&m, T0 + 3 * DAY).await.expect("seen without SIM");
    let one_call = Usage {
        calls: 1,
        answered: 0,
        talk_seconds: 0,
    };
    inv.add_usage(&m.imei, None, &one_call)
        .await
        .expect("usage without SIM");
    let sims = inv.sims().await.expect("sims");
    assert_eq!(sims.len(), 1);
    let sim = &sims[0];
    assert_eq!(sim.imsi, "724020001000000");
    assert_eq!(sim.last_imei, "354911021000013");
    assert_eq!(sim.operator, None, "what was seen last");
    assert_eq!((sim.first_seen_ms, sim.last_seen_ms), (T0, T0 + 2 * DAY));
    assert_eq!(sim.usage, total);
    let modems = inv.modems().await.expect("modems");
    let imeis: Vec<_> = modems.iter().map(|e| e.seen.imei.as_str()).collect();
    assert_eq!(imeis, ["354911021000005", "354911021000013"], "by IMEI");
    assert_eq!(modems[0].seen.imsi, None);
    assert_eq!(modems[0].usage.calls, 31);
    assert_eq!(modems[1].usage, Usage::default());
}

async fn usage_before_the_first_sighting_is_kept(s: &Stores) {
    let inv = &s.inventory;
    let u = Usage {
        calls: 2,
        answered: 1,
        talk_seconds: 30,
    };
    inv.add_usage("imei-1", Some("imsi-1"), &u)
        .await
        .expect("usage");
    let modems = inv.modems().await.expect("modems");
    assert_eq!(modems.len(), 1);
    assert_eq!(
        (modems[0].seen.modem_id.as_str(), modems[0].first_seen_ms),
        ("", 0)
    );
    assert_eq!(modems[0].usage, u);
    let m = ModemSeen {
        imei: "imei-1".into(),
        modem_id: "m1".into(),
        imsi: Some("imsi-1".into()),
        ..ModemSeen::default()
    };
    inv.seen(&m, T0).await.expect("seen");
    inv.seen(&m, T0 + DAY).await.expect("seen");
    let modems = inv.modems().await.expect("modems");
    assert_eq!(
        (modems[0].first_seen_ms, modems[0].last_seen_ms),
        (T0, T0 + DAY)
    );
    assert_eq!(modems[0].seen, m);
    assert_eq!(modems[0].usage, u);
    let sims = inv.sims().await.expect("sims");
    assert_eq!(
        (sims[0].first_seen_ms, sims[0].last_seen_ms),
        (T0, T0 + DAY)
    );
    assert_eq!((sims[0].last_imei.as_str(), sims[0].usage), ("imei-1", u));
}

contract!(records_are_idempotent);
contract!(a_failing_batch_stores_nothing);
contract!(records_search_and_count);
contract!(records_across_months);
contract!(records_from_many_tasks);
contract!(history_aggregates);
contract!(on_equal_times_the_later_insert_is_newer);
contract!(blacklist_precedence_and_expiry);
contract!(sticky_routes);
contract!(counters_windows_and_rates);
contract!(rate_windows_count_whole_seconds);
contract!(cache_entries);
contract!(inventory_first_last_and_usage);
contract!(usage_before_the_first_sighting_is_kept);
