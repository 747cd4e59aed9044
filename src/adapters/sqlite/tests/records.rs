//! Call records and history.

use e173gw_core::at::cause::EndKind;
use e173gw_core::ports::{
    HistoryStore, LastOutcome, NumberHistory, Party, RecordQuery, RecordStore, StoreError,
};
use e173gw_core::record::{CallRecord, EndReason, RecordTarget};

use super::{failed, record, rows, store};

#[tokio::test]
async fn insert_is_idempotent_and_round_trips() {
    let (_d, s) = store().await;
    let batch = vec![
        record("a", "100", "200", 1_000),
        failed("b", "100", "300", 2_000, 486),
        CallRecord {
            target: RecordTarget::Agent {
                uri: "sip:agent@10.0.0.9".into(),
            },
            trunk: None,
            gsm_end: None,
            attempts: Vec::new(),
            verdict: Vec::new(),
            ..record("c", "101", "201", 3_000)
        },
    ];
    assert_eq!(RecordStore::insert(&*s, &batch).await, Ok(3));
    assert_eq!(RecordStore::insert(&*s, &batch).await, Ok(0));
    let more = vec![
        batch[0].clone(),
        record("d", "1", "2", 4_000),
        record("d", "1", "2", 4_000),
    ];
    assert_eq!(
        RecordStore::insert(&*s, &more).await,
        Ok(1),
        "only d is new"
    );
    assert_eq!(RecordStore::insert(&*s, &[]).await, Ok(0));
    for r in &batch {
        assert_eq!(RecordStore::get(&*s, &r.call_id).await, Ok(Some(r.clone())));
    }
    assert_eq!(RecordStore::get(&*s, "nope").await, Ok(None));
    assert_eq!(rows(&s, "call_records"), 4);
}

#[tokio::test]
async fn a_failing_batch_stores_nothing() {
    let (_d, s) = store().await;
    let mut nul = record("bad\0id", "1", "2", 5);
    let r = RecordStore::insert(&*s, &[record("x", "1", "2", 1), nul.clone()]).await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    // The bad record comes after a good one was written in the same transaction.
    nul.call_id = "y".into();
    nul.received_ms = u64::MAX;
    let r = RecordStore::insert(&*s, &[record("x", "1", "2", 1), nul]).await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    assert_eq!(RecordStore::get(&*s, "x").await, Ok(None));
    assert_eq!(rows(&s, "call_records"), 0);
    // The store still works afterwards.
    assert_eq!(
        RecordStore::insert(&*s, &[record("x", "1", "2", 1)]).await,
        Ok(1)
    );
}

#[tokio::test]
async fn search_filters_newest_first_with_limit() {
    let (_d, s) = store().await;
    let mut recs = Vec::new();
    for i in 0..30u64 {
        let mut r = record(
            &format!("r{i:02}"),
            "100",
            &format!("2{}", i % 3),
            i * 1_000,
        );
        if i % 5 == 0 {
            r = failed(&r.call_id, "111", &r.callee, r.received_ms, 486);
            r.trunk = Some("other".into());
            r.target = RecordTarget::None;
        }
        recs.push(r);
    }
    assert_eq!(RecordStore::insert(&*s, &recs).await, Ok(30));
    let ids = |v: Vec<CallRecord>| v.into_iter().map(|r| r.call_id).collect::<Vec<_>>();

    let all = RecordStore::search(&*s, &RecordQuery::default())
        .await
        .expect("all");
    assert_eq!(all.len(), 30);
    assert_eq!(all[0].call_id, "r29");
    assert_eq!(all[29].call_id, "r00");
    assert_eq!(all[0], recs[29]);

    let q = RecordQuery {
        limit: 3,
        ..Default::default()
    };
    assert_eq!(
        ids(RecordStore::search(&*s, &q).await.expect("limit")),
        ["r29", "r28", "r27"]
    );
    assert_eq!(
        RecordStore::count(&*s, &q).await,
        Ok(30),
        "count ignores the limit"
    );

    let q = RecordQuery {
        number: Some("111".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(RecordStore::search(&*s, &q).await.expect("number")),
        ["r25", "r20", "r15", "r10", "r05", "r00"]
    );
    let q = RecordQuery {
        number: Some("21".into()),
        sip_status: Some(200),
        from_ms: Some(10_000),
        to_ms: Some(22_000),
        ..Default::default()
    };
    // callee 21: i % 3 == 1 -> 10 (failed), 13, 16, 19, 22 (excluded by to_ms).
    assert_eq!(
        ids(RecordStore::search(&*s, &q).await.expect("combined")),
        ["r19", "r16", "r13"]
    );
    let count = |q: RecordQuery| {
        let s = s.clone();
        async move { RecordStore::count(&*s, &q).await.expect("count") }
    };
    let caller = |c: &str| RecordQuery {
        caller: Some(c.into()),
        ..Default::default()
    };
    assert_eq!(count(caller("100")).await, 24);
    assert_eq!(count(caller("200")).await, 0);
    let q = RecordQuery {
        callee: Some("20".into()),
        ..Default::default()
    };
    assert_eq!(count(q).await, 10);
    let q = RecordQuery {
        trunk: Some("other".into()),
        ..Default::default()
    };
    assert_eq!(count(q).await, 6);
    let q = RecordQuery {
        modem: Some("m1".into()),
        ..Default::default()
    };
    assert_eq!(count(q).await, 24, "calls never routed have no modem");
    let q = RecordQuery {
        sip_status: Some(486),
        ..Default::default()
    };
    assert_eq!(count(q).await, 6);
    let q = RecordQuery {
        from_ms: Some(u64::MAX),
        ..Default::default()
    };
    assert_eq!(count(q).await, 0);
}

#[tokio::test]
async fn search_caps_the_limit() {
    let (_d, s) = store().await;
    let recs: Vec<_> = (0..1_100u64)
        .map(|i| record(&format!("c{i}"), "1", "2", i))
        .collect();
    assert_eq!(RecordStore::insert(&*s, &recs).await, Ok(1_100));
    let q = |limit| RecordQuery {
        limit,
        ..Default::default()
    };
    let len = |limit| {
        let s = s.clone();
        async move {
            RecordStore::search(&*s, &q(limit))
                .await
                .expect("search")
                .len()
        }
    };
    assert_eq!(len(0).await, 100);
    assert_eq!(len(5_000).await, 1_000);
    assert_eq!(len(7).await, 7);
}

#[tokio::test]
async fn number_history_aggregates() {
    let (_d, s) = store().await;
    let short = |id: &str, caller: &str, callee: &str, at: u64| CallRecord {
        talk_ms: 4_000,
        end_reason: EndReason::CalleeHangup,
        ..record(id, caller, callee, at)
    };
    let recs = vec![
        record("old", "A", "B", 500),      // before the window
        record("1", "A", "B", 1_000),      // answered, long
        short("2", "A", "C", 2_000),       // answered, short
        failed("3", "A", "B", 3_000, 486), // busy
        failed("4", "A", "D", 4_000, 480), // no answer
        record("5", "X", "A", 4_500),      // A as callee
        short("6", "Y", "A", 4_600),       // A as callee, short
        record("7", "Z", "B", 4_700),      // other numbers
    ];
    assert_eq!(RecordStore::insert(&*s, &recs).await, Ok(8));

    let h = s
        .number_history(Party::Caller, "A", 1_000, 5_000)
        .await
        .expect("caller history");
    assert_eq!(
        h,
        NumberHistory {
            attempts: 4,
            answered: 2,
            short_calls: 1,
            distinct_peers: 3,
            consecutive_failures: 2,
            last: Some(LastOutcome {
                at_ms: 4_000,
                sip_status: 480,
                gsm_end: Some(EndKind::Busy),
                talk_ms: 0,
            }),
        }
    );
    let h = s
        .number_history(Party::Callee, "A", 0, 5_000)
        .await
        .expect("callee history");
    assert_eq!(
        (h.attempts, h.answered, h.short_calls, h.distinct_peers),
        (2, 2, 1, 2)
    );
    assert_eq!(h.last.map(|l| (l.at_ms, l.talk_ms)), Some((4_600, 4_000)));

    let h = s
        .number_history(Party::Callee, "B", 0, 0)
        .await
        .expect("no short calls at 0");
    assert_eq!(
        (h.attempts, h.answered, h.short_calls, h.distinct_peers),
        (4, 3, 0, 2)
    );

    let h = s
        .number_history(Party::Caller, "A", 10_000, 5_000)
        .await
        .expect("empty window");
    assert_eq!(h, NumberHistory::default());
    let h = s
        .number_history(Party::Caller, "nobody", 0, 5_000)
        .await
        .expect("unknown");
    assert_eq!(h, NumberHistory::default());
}

#[tokio::test]
async fn history_last_prefers_the_later_insert_on_equal_times() {
    let (_d, s) = store().await;
    let recs = vec![
        record("1", "A", "B", 1_000),
        failed("2", "A", "B", 1_000, 503),
    ];
    assert_eq!(RecordStore::insert(&*s, &recs).await, Ok(2));
    let h = s
        .number_history(Party::Caller, "A", 0, 0)
        .await
        .expect("history");
    assert_eq!(h.last.map(|l| l.sip_status), Some(503));
}

/// The plan of each history query, one line per step (`EXPLAIN QUERY PLAN`).
fn plan(s: &super::SqliteStore, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Vec<String> {
    s.shared
        .db
        .read(|c| {
            let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let rows = stmt.query_map(args, |r| r.get::<_, String>(3))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .expect("query plan")
}

/// The history queries run on every call the filters see; a busy number has hundreds of
/// calls in their window. They must be answered from one index (no table lookups, no
/// full sort), so a schema change that drops a column from those indexes fails here.
#[tokio::test]
async fn history_queries_read_only_a_covering_index() {
    use super::super::records::{CALLEE_LAST, CALLEE_STATS, CALLER_LAST, CALLER_STATS};

    let (_d, s) = store().await;
    let queries = [
        (
            "caller stats",
            CALLER_STATS,
            "call_records_caller_history",
            3,
        ),
        ("caller last", CALLER_LAST, "call_records_caller_history", 2),
        (
            "callee stats",
            CALLEE_STATS,
            "call_records_callee_history",
            3,
        ),
        ("callee last", CALLEE_LAST, "call_records_callee_history", 2),
    ];
    for (name, sql, index, params) in queries {
        let args: [&dyn rusqlite::ToSql; 3] = [&"5511987654321", &0i64, &6_000i64];
        let steps = plan(&s, sql, &args[..params]);
        let search = format!("SEARCH call_records USING COVERING INDEX {index} (");
        assert!(
            steps.iter().any(|p| p.starts_with(&search)),
            "{name}: {steps:?}"
        );
        // A single search step; a sort may only order ties on received_ms by rowid (SQLite
        // sorts each block of equal received_ms and stops at the LIMIT), never all rows.
        let others: Vec<&String> = steps
            .iter()
            .filter(|p| {
                !p.starts_with(&search)
                    && ![
                        "USE TEMP B-TREE FOR count(DISTINCT)",
                        "USE TEMP B-TREE FOR LAST TERM OF ORDER BY",
                        "USE TEMP B-TREE FOR RIGHT PART OF ORDER BY",
                        // The consecutive-failure count's subquery (its own search step
                        // is the same covering index, checked above).
                        "SCALAR SUBQUERY 1",
                    ]
                    .contains(&p.as_str())
            })
            .collect();
        assert!(others.is_empty(), "{name}: {steps:?}");
    }
}
