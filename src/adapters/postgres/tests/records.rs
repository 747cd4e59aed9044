//! Call records: monthly partitions, the default partition, the JSONB columns.

use e173gw_core::ports::{RecordQuery, RecordStore};

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
    // The verdict trace is a JSONB array of its own too.
    let rows = db
        .sql("SELECT verdict FROM call_records WHERE call_id = 'nov@x'")
        .await;
    let verdict: serde_json::Value = rows[0].get(0);
    assert_eq!(
        verdict,
        serde_json::json!(["blacklist: pass", "phone: valid mobile"])
    );
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
    let other = super::reconnect(&db.schema, std::time::Duration::from_secs(5))
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
