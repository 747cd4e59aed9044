//! The recorder actor over a record store that can fail, refuse or time out on big
//! batches (the real stores are exercised by the contract suite and the failure tests).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use async_trait::async_trait;

use e173gw_core::ports::{RecordQuery, RecordStore, Result, StoreError};
use e173gw_core::record::{CallRecord, CallStart, EndReason};

use super::{DrainRecords, MemorySink, Recorder, RecorderSpec, RecorderStatus, Starts};

/// A record store in memory: idempotent by Call-ID, as the real ones.
#[derive(Debug, Default)]
struct Store {
    rows: Mutex<Vec<CallRecord>>,
    /// Every insert fails as unavailable.
    down: AtomicBool,
    /// Inserts of more records than this fail as unavailable (a slow database timing out).
    max_batch: AtomicUsize,
    /// Records refused as invalid, by Call-ID.
    refuse: Mutex<HashSet<String>>,
    inserts: AtomicUsize,
}

#[async_trait]
impl RecordStore for Store {
    async fn insert(&self, records: &[CallRecord]) -> Result<usize> {
        self.inserts.fetch_add(1, Ordering::Relaxed);
        if self.down.load(Ordering::Relaxed) {
            return Err(StoreError::Unavailable("down".into()));
        }
        let max = self.max_batch.load(Ordering::Relaxed);
        if max > 0 && records.len() > max {
            return Err(StoreError::Unavailable("statement timeout".into()));
        }
        let refuse = self.refuse.lock().expect("refuse");
        if let Some(r) = records.iter().find(|r| refuse.contains(&r.call_id)) {
            return Err(StoreError::Invalid(format!("bad {}", r.call_id)));
        }
        let mut rows = self.rows.lock().expect("rows");
        let mut n = 0;
        for r in records {
            if !rows.iter().any(|x| x.call_id == r.call_id) {
                rows.push(r.clone());
                n += 1;
            }
        }
        Ok(n)
    }
    async fn get(&self, call_id: &str) -> Result<Option<CallRecord>> {
        let rows = self.rows.lock().expect("rows");
        Ok(rows.iter().find(|r| r.call_id == call_id).cloned())
    }
    async fn search(&self, _q: &RecordQuery) -> Result<Vec<CallRecord>> {
        Ok(Vec::new())
    }
    async fn count(&self, _q: &RecordQuery) -> Result<u64> {
        Ok(self.rows.lock().expect("rows").len() as u64)
    }
}

impl Store {
    fn ids(&self) -> Vec<String> {
        let rows = self.rows.lock().expect("rows");
        rows.iter().map(|r| r.call_id.clone()).collect()
    }
}

fn start(id: &str) -> CallStart {
    CallStart {
        call_id: id.into(),
        trunk: Some("t".into()),
        caller: "5511988887777".into(),
        callee: "5511912345678".into(),
        received_ms: 1_795_000_000_000,
    }
}

fn record(id: &str) -> CallRecord {
    let mut r = start(id).interrupted(1_795_000_001_000);
    r.end_reason = EndReason::CallerHangup;
    r.sip_status = 200;
    r
}

fn open(
    dir: &std::path::Path,
    store: Arc<Store>,
) -> (Recorder, Starts, Arc<Mutex<Vec<CallRecord>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut rec = Recorder::open(RecorderSpec {
        spool_dir: dir.to_path_buf(),
        segment_bytes: 1 << 20,
        store,
        sinks: vec![Box::new(MemorySink(seen.clone()))],
    })
    .expect("open recorder");
    let journal = rec.take_journal().expect("journal");
    (rec, journal, seen)
}

async fn drain(addr: &Addr<Recorder>) -> super::RecorderStats {
    addr.send(DrainRecords {
        timeout: Duration::from_secs(10),
    })
    .await
    .expect("drain")
}

#[actix::test]
async fn records_reach_the_store_in_order_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(Store::default());
    let (rec, mut journal, seen) = open(dir.path(), store.clone());
    let addr = rec.start();
    let ids: Vec<String> = (0..1200).map(|i| format!("c{i}")).collect();
    let records = journal.records();
    let mut last = None;
    for id in &ids {
        last = Some(journal.start(start(id)).expect("start"));
        records.record(record(id)).expect("record");
    }
    let st = drain(&addr).await;
    assert_eq!(store.ids(), ids, "every record, in order, once");
    assert_eq!(
        seen.lock().expect("seen").len(),
        1200,
        "sinks see each record"
    );
    assert_eq!((st.spooled, st.delivered, st.backlog), (1200, 1200, 0));
    assert_eq!(st.open_calls, 0);
    assert!(
        journal.is_written(last.expect("a ticket")),
        "the starts are written"
    );
    assert!(
        store.inserts.load(Ordering::Relaxed) < 1200,
        "records are batched"
    );
}

#[actix::test]
async fn an_outage_holds_records_in_the_spool_until_the_store_is_back() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(Store::default());
    store.down.store(true, Ordering::Relaxed);
    let (rec, journal, _) = open(dir.path(), store.clone());
    let addr = rec.start();
    for i in 0..50 {
        journal
            .records()
            .record(record(&format!("c{i}")))
            .expect("record");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let st = addr.send(RecorderStatus).await.expect("status");
    assert!(st.degraded && st.failures >= 1, "{st:?}");
    assert_eq!(st.backlog, 50);
    assert!(store.ids().is_empty());
    store.down.store(false, Ordering::Relaxed);
    let st = drain(&addr).await;
    assert_eq!(store.ids().len(), 50);
    assert!(!st.degraded);
    assert_eq!(st.backlog, 0);
}

#[actix::test]
async fn batches_shrink_until_a_slow_store_takes_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(Store::default());
    store.max_batch.store(40, Ordering::Relaxed);
    let (rec, journal, _) = open(dir.path(), store.clone());
    let addr = rec.start();
    // Queue a backlog first, so the first attempt is one big batch.
    store.down.store(true, Ordering::Relaxed);
    for i in 0..300 {
        journal
            .records()
            .record(record(&format!("c{i}")))
            .expect("record");
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    store.down.store(false, Ordering::Relaxed);
    let st = drain(&addr).await;
    assert_eq!(store.ids().len(), 300, "{st:?}");
    assert_eq!(st.backlog, 0);
}

#[actix::test]
async fn a_refused_record_goes_to_dead_jsonl_and_the_rest_are_delivered() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(Store::default());
    store.refuse.lock().expect("refuse").insert("c3".into());
    let (rec, journal, _) = open(dir.path(), store.clone());
    let addr = rec.start();
    for i in 0..6 {
        journal
            .records()
            .record(record(&format!("c{i}")))
            .expect("record");
    }
    let st = drain(&addr).await;
    assert_eq!(store.ids(), ["c0", "c1", "c2", "c4", "c5"]);
    assert_eq!(st.dead, 1);
    let dead = std::fs::read_to_string(dir.path().join("dead.jsonl")).expect("dead.jsonl");
    assert!(dead.contains("\"call_id\":\"c3\""), "{dead}");
}

#[actix::test]
async fn after_a_crash_open_calls_are_recorded_as_interrupted_and_undelivered_records_replayed() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(Store::default());
    {
        // A run whose store is down, that stops without draining: a crash.
        store.down.store(true, Ordering::Relaxed);
        let (rec, mut journal, _) = open(dir.path(), store.clone());
        journal.start(start("up")).expect("journal");
        let done = journal.start(start("done")).expect("journal");
        journal.records().record(record("done")).expect("record");
        let addr = rec.start();
        while !journal.is_written(done)
            || addr.send(RecorderStatus).await.expect("status").spooled < 1
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        System::current().stop_with_code(0);
    }
    store.down.store(false, Ordering::Relaxed);
    let (rec, _journal, seen) = open(dir.path(), store.clone());
    let st = drain(&rec.start()).await;
    let ids = store.ids();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&"done".to_string()) && ids.contains(&"up".to_string()));
    let rows = store.rows.lock().expect("rows").clone();
    let up = rows.iter().find(|r| r.call_id == "up").expect("up");
    assert_eq!(up.end_reason, EndReason::Interrupted);
    assert_eq!(st.interrupted, 1);
    let seen = seen.lock().expect("seen");
    assert_eq!(
        seen.len(),
        1,
        "only the new (interrupted) record reaches the sinks again"
    );
}
