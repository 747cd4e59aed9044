//! Tests of the embedded adapter, each on its own SQLite file.

mod kv;
mod misc;
mod records;

use std::sync::Arc;

use e173gw_core::at::cause::EndKind;
use e173gw_core::record::{Attempt, CallRecord, EndReason, RecordTarget};
use tempfile::TempDir;

use super::SqliteStore;

/// A store in a fresh directory (kept alive by the returned guard).
async fn store() -> (TempDir, Arc<SqliteStore>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = SqliteStore::open(&dir.path().join("gw.db"))
        .await
        .expect("open");
    (dir, s)
}

/// Rows in `table`, read straight from the file.
fn rows(s: &SqliteStore, table: &str) -> i64 {
    let sql = format!("SELECT count(*) FROM {table}");
    s.shared
        .db
        .read(|c| Ok(c.query_row(&sql, [], |r| r.get(0))?))
        .expect("count rows")
}

/// An answered modem call with every optional field set.
fn record(call_id: &str, caller: &str, callee: &str, received_ms: u64) -> CallRecord {
    CallRecord {
        call_id: call_id.into(),
        trunk: Some("pbx".into()),
        caller: caller.into(),
        callee: callee.into(),
        target: RecordTarget::Modem {
            modem: "m1".into(),
            imei: Some("356000000000001".into()),
            imsi: Some("724000000000001".into()),
            iccid: Some("8955000000000000001".into()),
        },
        attempts: vec![
            Attempt {
                modem: "m0".into(),
                end: Some(EndKind::Congestion),
                q850: Some(34),
                detail: "no circuit".into(),
            },
            Attempt {
                modem: "m1".into(),
                end: None,
                q850: None,
                detail: String::new(),
            },
        ],
        received_ms,
        routed_ms: Some(received_ms + 10),
        alerting_ms: Some(received_ms + 2_000),
        answered_ms: Some(received_ms + 5_000),
        ended_ms: received_ms + 65_000,
        sip_status: 200,
        end_reason: EndReason::CallerHangup,
        gsm_end: Some(EndKind::Normal),
        q850: Some(16),
        post_dial_delay_ms: Some(1_990),
        talk_ms: 60_000,
        verdict: vec!["blacklist: pass".into()],
        route: Vec::new(),
        history: Vec::new(),
        quality: None,
        direction: Default::default(),
    }
}

/// A call that failed before answer with `status`.
fn failed(call_id: &str, caller: &str, callee: &str, received_ms: u64, status: u16) -> CallRecord {
    CallRecord {
        answered_ms: None,
        alerting_ms: None,
        talk_ms: 0,
        sip_status: status,
        end_reason: EndReason::Failed,
        gsm_end: Some(EndKind::Busy),
        q850: Some(17),
        ..record(call_id, caller, callee, received_ms)
    }
}
