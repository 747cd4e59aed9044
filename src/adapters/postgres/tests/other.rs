//! History query plans, and what PostgreSQL refuses where the port leaves it open.

use e173gw_core::ports::{
    BlacklistEntry, BlacklistStore, MatchKind, PartyScope, RecordStore, StoreError,
};

use super::{rec, TestDb, T0};

#[tokio::test]
async fn history_queries_use_the_indexes() {
    let db = TestDb::new("explain").await;
    let s = &db.store;
    for chunk in 0..10u64 {
        let batch: Vec<_> = (0..1000u64)
            .map(|i| {
                let k = chunk * 1000 + i;
                rec(
                    &format!("e{k}@x"),
                    &format!("5511{:04}", k % 997),
                    &format!("5521{:04}", k % 991),
                    T0 + k * 1000,
                    200,
                    k,
                )
            })
            .collect();
        s.insert(&batch).await.expect("insert");
    }
    db.sql("ANALYZE call_records").await;
    for (sql, index) in [
        (
            super::super::history::CALLEE_AGG,
            "call_records_y2026m11_callee_received_ms",
        ),
        (
            super::super::history::CALLER_AGG,
            "call_records_y2026m11_caller_received_ms",
        ),
        (
            super::super::history::CALLEE_LAST,
            "call_records_y2026m11_callee_received_ms",
        ),
        (
            super::super::history::CALLER_LAST,
            "call_records_y2026m11_caller_received_ms",
        ),
    ] {
        let explained = sql
            .replace("$1", "'55210005'")
            .replace("$2", &T0.to_string())
            .replace("$3", "6000");
        let plan: Vec<String> = db
            .sql(&format!("EXPLAIN {explained}"))
            .await
            .iter()
            .map(|r| r.get(0))
            .collect();
        let plan = plan.join("\n");
        // Each partition's copy of the index is named after the partition and columns.
        assert!(plan.contains(index), "{sql}\n{plan}\n(expected {index})");
        assert!(
            !plan.contains("Seq Scan on call_records_y2026m11"),
            "{sql}\n{plan}\n(expected {index})"
        );
    }
}

/// An expiry past the `int8` column is refused (the SQLite store clamps it instead).
#[tokio::test]
async fn a_blacklist_expiry_out_of_range_is_invalid() {
    let db = TestDb::new("blacklist_range").await;
    let entry = BlacklistEntry {
        pattern: "1".into(),
        kind: MatchKind::Exact,
        party: PartyScope::Both,
        reason: String::new(),
        created_ms: T0,
        expires_ms: Some(u64::MAX),
    };
    let r = db.store.add(&entry).await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    assert!(db.store.list(0).await.expect("list").is_empty());
}
