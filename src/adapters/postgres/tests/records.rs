//! Call records: round trips, idempotency, partitions, atomicity, search.

use e173gw_core::ports::{RecordQuery, RecordStore, StoreError};
use e173gw_core::record::{Attempt, RecordTarget};

use super::{rec, TestDb, DAY, MIN, T0};

/// The partition a stored record sits in.
async fn partition_of(db: &TestDb, call_id: &str) -> String {
    let rows = db
        .sql(&format!(
            "SELECT c.relname::text FROM call_records r JOIN pg_class c ON c.oid = r.tableoid \
             WHERE r.call_id = '{call_id}'"
        ))
        .await;
    assert_eq!(rows.len(), 1, "{call_id} stored once");
    rows[0].get(0)
}

#[tokio::test]
async fn round_trip_of_every_field_and_idempotency() {
    let db = TestDb::new("roundtrip").await;
    let s = &db.store;
    let mut a = rec("a@x", "5511900000001", "5511988880001", T0, 200, 30_000);
    a.attempts = vec![
        Attempt {
            modem: "m0".into(),
            end: Some(e173gw_core::at::cause::EndKind::Congestion),
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
    a.received_ms = T0 + 1;
    let mut b = rec("b@x", "5511900000002", "5511988880002", T0 + MIN, 486, 0);
    b.target = RecordTarget::Agent {
        uri: "sip:agent@127.0.0.1".into(),
    };
    b.trunk = None;
    b.gsm_end = None;
    b.q850 = None;
    b.answered_ms = None;
    b.verdict = Vec::new();
    let mut c = rec("c@x", "1", "2", T0 + 2 * MIN, 0, 0);
    c.target = RecordTarget::None;
    c.routed_ms = None;
    c.alerting_ms = None;
    c.post_dial_delay_ms = None;
    c.ended_ms = u64::try_from(i64::MAX).expect("fits");

    assert_eq!(s.insert(&[a.clone(), b.clone()]).await.expect("insert"), 2);
    assert_eq!(s.insert(&[a.clone(), b.clone()]).await.expect("replay"), 0);
    assert_eq!(
        s.insert(&[b.clone(), c.clone(), c.clone()])
            .await
            .expect("mixed"),
        1
    );
    // Same Call-ID, other contents (even another receive time): the stored one stays.
    let mut a2 = a.clone();
    a2.received_ms = T0 + 40 * DAY;
    a2.sip_status = 503;
    assert_eq!(s.insert(&[a2]).await.expect("same call id"), 0);
    for r in [&a, &b, &c] {
        assert_eq!(s.get(&r.call_id).await.expect("get").as_ref(), Some(r));
    }
    assert_eq!(s.get("nope").await.expect("get"), None);
    assert_eq!(s.count(&RecordQuery::default()).await.expect("count"), 3);
    // The verdict trace is a JSONB array of its own too.
    let rows = db
        .sql("SELECT verdict FROM call_records WHERE call_id = 'a@x'")
        .await;
    let verdict: serde_json::Value = rows[0].get(0);
    assert_eq!(
        verdict,
        serde_json::json!(["blacklist: pass", "phone: valid mobile"])
    );
}

#[tokio::test]
async fn partitions_per_month_and_the_default_partition() {
    let db = TestDb::new("partitions").await;
    let s = &db.store;
    // A row of May 2031 that reached the default partition before its month had one.
    db.sql(
        "INSERT INTO call_records (call_id, received_ms, caller, callee, target_kind, ended_ms, \
         sip_status, end_reason, talk_ms, verdict, record) \
         VALUES ('early@x', 1937700000000, '1', '2', 'none', 1937700000000, 0, 'rejected', 0, \
         '[]', '{}') RETURNING call_id",
    )
    .await;
    assert_eq!(partition_of(&db, "early@x").await, "call_records_default");

    let oct = rec("oct@x", "1", "2", T0 - 40 * DAY, 200, 1000);
    let nov = rec("nov@x", "1", "2", T0, 200, 1000);
    let ancient = rec("ancient@x", "1", "2", 1_000, 200, 1000);
    let may31 = rec("may31@x", "1", "2", 1_937_800_000_000, 200, 1000);
    let n = s
        .insert(&[oct.clone(), nov.clone(), ancient.clone(), may31.clone()])
        .await
        .expect("insert");
    assert_eq!(n, 4);
    assert_eq!(partition_of(&db, "oct@x").await, "call_records_y2026m10");
    assert_eq!(partition_of(&db, "nov@x").await, "call_records_y2026m11");
    assert_eq!(partition_of(&db, "ancient@x").await, "call_records_default");
    assert_eq!(partition_of(&db, "may31@x").await, "call_records_y2031m05");
    assert_eq!(
        partition_of(&db, "early@x").await,
        "call_records_y2031m05",
        "rows of a new month leave the default partition"
    );
    for r in [&oct, &nov, &ancient, &may31] {
        assert_eq!(s.get(&r.call_id).await.expect("get").as_ref(), Some(r));
    }
    assert_eq!(s.insert(&[oct, ancient]).await.expect("replay"), 0);
    // The partitions carry the parent's indexes (the unique key among them).
    let rows = db
        .sql(
            "SELECT count(*) FROM pg_indexes \
             WHERE schemaname = current_schema() AND tablename = 'call_records_y2026m10'",
        )
        .await;
    let indexes: i64 = rows[0].get(0);
    assert_eq!(indexes, 7, "unique key + 6 indexes");
    // A store that has not seen the month yet finds the partition already there.
    let other = super::PgStore::connect(
        &super::pg_url(),
        &db.schema,
        1,
        std::time::Duration::from_secs(5),
        false,
    )
    .await
    .expect("connect");
    let late = rec("late@x", "1", "2", T0 + MIN, 200, 0);
    assert_eq!(other.insert(&[late]).await.expect("insert"), 1);
    assert_eq!(partition_of(&db, "late@x").await, "call_records_y2026m11");
}

#[tokio::test]
async fn a_partition_that_cannot_be_created_leaves_the_rows_in_the_default_one() {
    let db = TestDb::new("no_partition").await;
    // The name is taken (by a type), so CREATE TABLE fails.
    db.sql("CREATE TYPE call_records_y2032m01 AS (a int)").await;
    let jan = rec("jan@x", "1", "2", 1_956_528_000_000 + DAY, 200, 1000);
    assert_eq!(
        db.store
            .insert(std::slice::from_ref(&jan))
            .await
            .expect("insert"),
        1
    );
    assert_eq!(partition_of(&db, "jan@x").await, "call_records_default");
    assert_eq!(db.store.get("jan@x").await.expect("get"), Some(jan));
}

#[tokio::test]
async fn concurrent_first_inserts_into_a_new_month() {
    let db = TestDb::new("concurrent").await;
    let mut tasks = Vec::new();
    for t in 0..8u64 {
        let s = db.store.clone();
        tasks.push(tokio::spawn(async move {
            let batch: Vec<_> = (0..10u64)
                .map(|i| {
                    rec(
                        &format!("p{t}-{i}@x"),
                        "1",
                        "2",
                        T0 + 50 * DAY + t * 100 + i,
                        200,
                        1,
                    )
                })
                .collect();
            s.insert(&batch).await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("task").expect("insert"), 10);
    }
    let q = RecordQuery::default();
    assert_eq!(db.store.count(&q).await.expect("count"), 80);
}

#[tokio::test]
async fn a_failing_batch_stores_nothing() {
    let db = TestDb::new("atomic").await;
    let s = &db.store;
    let good = rec("good@x", "1", "2", T0, 200, 1000);
    let bad = rec("bad@x", "1\u{0}1", "2", T0 + 1, 200, 1000);
    let r = s.insert(&[good.clone(), bad]).await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    let mut huge = rec("huge@x", "1", "2", T0, 200, 1000);
    huge.talk_ms = u64::MAX;
    let r = s.insert(&[good.clone(), huge]).await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    assert_eq!(s.count(&RecordQuery::default()).await.expect("count"), 0);
    assert_eq!(s.get("good@x").await.expect("get"), None);
    assert_eq!(s.insert(&[good]).await.expect("then it goes in"), 1);
}

#[tokio::test]
async fn search_filters_order_and_limits() {
    let db = TestDb::new("search").await;
    let s = &db.store;
    let batch: Vec<_> = (0..30u64)
        .map(|i| {
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
            r
        })
        .collect();
    assert_eq!(s.insert(&batch).await.expect("insert"), 30);
    let all = s.search(&RecordQuery::default()).await.expect("search");
    assert_eq!(all.len(), 30);
    assert_eq!(all[0].call_id, "s29@x", "newest first");
    assert!(all.windows(2).all(|w| w[0].received_ms > w[1].received_ms));
    let cases = [
        (
            RecordQuery {
                caller: Some("5511900000001".into()),
                ..Default::default()
            },
            10,
        ),
        (
            RecordQuery {
                number: Some("5511988880002".into()),
                ..Default::default()
            },
            6,
        ),
        (
            RecordQuery {
                modem: Some("m1".into()),
                ..Default::default()
            },
            20,
        ),
        (
            RecordQuery {
                sip_status: Some(486),
                trunk: Some("t2".into()),
                ..Default::default()
            },
            10,
        ),
        (
            RecordQuery {
                from_ms: Some(T0 + 10 * MIN),
                to_ms: Some(T0 + 20 * MIN),
                ..Default::default()
            },
            10,
        ),
        (
            RecordQuery {
                from_ms: Some(u64::MAX),
                ..Default::default()
            },
            0,
        ),
        (
            RecordQuery {
                to_ms: Some(u64::MAX),
                ..Default::default()
            },
            30,
        ),
        (
            RecordQuery {
                callee: Some("'; DROP TABLE call_records; --".into()),
                ..Default::default()
            },
            0,
        ),
    ];
    for (q, want) in cases {
        assert_eq!(s.count(&q).await.expect("count"), want, "{q:?}");
        assert_eq!(
            s.search(&q).await.expect("search").len() as u64,
            want,
            "{q:?}"
        );
    }
    let q = RecordQuery {
        limit: 7,
        trunk: Some("t2".into()),
        ..Default::default()
    };
    let page = s.search(&q).await.expect("search");
    let ids: Vec<_> = page.iter().map(|r| r.call_id.as_str()).collect();
    assert_eq!(
        ids,
        ["s29@x", "s28@x", "s27@x", "s26@x", "s25@x", "s24@x", "s23@x"]
    );
    assert_eq!(
        s.count(&q).await.expect("count"),
        20,
        "count ignores the limit"
    );
    let q = RecordQuery {
        limit: 5000,
        ..Default::default()
    };
    assert_eq!(
        s.search(&q).await.expect("search").len(),
        30,
        "capped at 1000"
    );
}

/// A rough figure for the batch path (run with `--ignored --nocapture`).
#[tokio::test]
#[ignore]
async fn batch_insert_throughput() {
    let db = TestDb::new("throughput").await;
    let total = 50_000u64;
    let started = tokio::time::Instant::now();
    for chunk in 0..(total / 500) {
        let batch: Vec<_> = (0..500u64)
            .map(|i| {
                let n = chunk * 500 + i;
                rec(
                    &format!("t{n}@x"),
                    &format!("55119{:08}", n % 9973),
                    &format!("55118{:08}", n % 7919),
                    T0 + n * 10,
                    200,
                    1000,
                )
            })
            .collect();
        assert_eq!(db.store.insert(&batch).await.expect("insert"), 500);
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{total} records in {secs:.2} s: {:.0}/s",
        total as f64 / secs
    );
}
