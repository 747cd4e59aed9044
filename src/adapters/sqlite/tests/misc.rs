//! Blacklist, inventory, opening, errors and concurrent use.

use std::sync::Arc;
use std::time::Duration;

use e173gw_core::ports::{
    BlacklistEntry, BlacklistStore, CounterStore, HistoryStore, InventoryStore, MatchKind,
    ModemSeen, Party, PartyScope, RecordQuery, RecordStore, StickyStore, StoreError, Usage, Window,
};
use rusqlite::ffi;

use super::super::db::classify;
use super::super::SqliteStore;
use super::{record, store};

fn entry(
    pattern: &str,
    kind: MatchKind,
    party: PartyScope,
    expires: Option<u64>,
) -> BlacklistEntry {
    BlacklistEntry {
        pattern: pattern.into(),
        kind,
        party,
        reason: format!("{pattern} {}", kind.as_str()),
        created_ms: 7,
        expires_ms: expires,
    }
}

#[tokio::test]
async fn blacklist_exact_then_longest_prefix() {
    let (_d, s) = store().await;
    let entries = [
        entry("55119", MatchKind::Prefix, PartyScope::Both, None),
        entry("551199", MatchKind::Prefix, PartyScope::Callee, None),
        entry(
            "5511999990000",
            MatchKind::Exact,
            PartyScope::Callee,
            Some(100),
        ),
        entry("5511999990000", MatchKind::Prefix, PartyScope::Caller, None),
        entry("+44", MatchKind::Prefix, PartyScope::Caller, None),
    ];
    for e in &entries {
        BlacklistStore::add(&*s, e).await.expect("add");
    }
    let find = |n: &'static str, p, now| {
        let s = s.clone();
        async move {
            s.find(n, p, now)
                .await
                .expect("find")
                .map(|e| (e.pattern, e.kind))
        }
    };
    let exact = Some(("5511999990000".to_owned(), MatchKind::Exact));
    assert_eq!(find("5511999990000", Party::Callee, 50).await, exact);
    assert_eq!(
        find("5511999990000", Party::Callee, 100).await,
        Some(("551199".into(), MatchKind::Prefix)),
        "exact entry expired"
    );
    assert_eq!(
        find("5511999990000", Party::Caller, 0).await,
        Some(("5511999990000".into(), MatchKind::Prefix))
    );
    assert_eq!(
        find("5511912345678", Party::Caller, 0).await,
        Some(("55119".into(), MatchKind::Prefix))
    );
    assert_eq!(
        find("+447700900000", Party::Caller, 0).await,
        Some(("+44".into(), MatchKind::Prefix))
    );
    assert_eq!(find("+447700900000", Party::Callee, 0).await, None);
    assert_eq!(find("5521", Party::Caller, 0).await, None);
    assert_eq!(find("", Party::Caller, 0).await, None);

    let all = s.list(50).await.expect("list");
    assert_eq!(all.len(), 5);
    assert_eq!(
        all.iter().find(|e| e.kind == MatchKind::Exact),
        Some(&entries[2])
    );
    assert_eq!(
        s.list(100).await.expect("list").len(),
        4,
        "expired left out"
    );

    // Same pattern, kind and party: replaced.
    let mut again = entries[0].clone();
    again.reason = "fraud".into();
    BlacklistStore::add(&*s, &again).await.expect("replace");
    assert_eq!(s.list(0).await.expect("list").len(), 5);
    let got = s
        .find("5511912345678", Party::Caller, 0)
        .await
        .expect("find");
    assert_eq!(got.map(|e| e.reason), Some("fraud".into()));

    assert_eq!(
        BlacklistStore::remove(&*s, "55119", MatchKind::Prefix, PartyScope::Both).await,
        Ok(true)
    );
    assert_eq!(
        BlacklistStore::remove(&*s, "55119", MatchKind::Prefix, PartyScope::Both).await,
        Ok(false)
    );
    assert_eq!(
        BlacklistStore::remove(&*s, "551199", MatchKind::Prefix, PartyScope::Both).await,
        Ok(false)
    );
    assert_eq!(find("5511912345678", Party::Caller, 0).await, None);

    // An empty prefix blocks everything.
    BlacklistStore::add(&*s, &entry("", MatchKind::Prefix, PartyScope::Caller, None))
        .await
        .expect("add");
    assert_eq!(
        find("123", Party::Caller, 0).await,
        Some((String::new(), MatchKind::Prefix))
    );
}

#[tokio::test]
async fn inventory_keeps_first_seen_and_adds_usage() {
    let (_d, s) = store().await;
    let mut m = ModemSeen {
        imei: "356000000000001".into(),
        modem_id: "m1".into(),
        model: Some("E173".into()),
        firmware: Some("11.126".into()),
        imsi: Some("724000000000001".into()),
        iccid: Some("8955".into()),
        operator: Some("Vivo".into()),
        own_number: None,
    };
    s.seen(&m, 1_000).await.expect("seen");
    m.operator = Some("TIM".into());
    m.own_number = Some("5511999990000".into());
    s.seen(&m, 2_000).await.expect("seen again");
    let usage = Usage {
        calls: 3,
        answered: 2,
        talk_seconds: 95,
    };
    s.add_usage(&m.imei, m.imsi.as_deref(), &usage)
        .await
        .expect("usage");
    s.add_usage(&m.imei, None, &usage)
        .await
        .expect("modem only");

    let modems = s.modems().await.expect("modems");
    assert_eq!(modems.len(), 1);
    assert_eq!(modems[0].seen, m);
    assert_eq!(
        (modems[0].first_seen_ms, modems[0].last_seen_ms),
        (1_000, 2_000)
    );
    assert_eq!(
        modems[0].usage,
        Usage {
            calls: 6,
            answered: 4,
            talk_seconds: 190
        }
    );
    let sims = s.sims().await.expect("sims");
    assert_eq!(sims.len(), 1);
    assert_eq!(sims[0].imsi, "724000000000001");
    assert_eq!(sims[0].operator.as_deref(), Some("TIM"));
    assert_eq!(sims[0].last_imei, m.imei);
    assert_eq!(
        (sims[0].first_seen_ms, sims[0].last_seen_ms),
        (1_000, 2_000)
    );
    assert_eq!(sims[0].usage, usage);

    // The SIM moves to another modem; the modem then runs without a SIM.
    let other = ModemSeen {
        imei: "356000000000002".into(),
        modem_id: "m2".into(),
        ..m.clone()
    };
    s.seen(&other, 3_000).await.expect("seen");
    m.imsi = None;
    s.seen(&m, 4_000).await.expect("seen");
    let sims = s.sims().await.expect("sims");
    assert_eq!(
        (sims[0].last_imei.as_str(), sims[0].first_seen_ms),
        (other.imei.as_str(), 1_000)
    );
    let modems = s.modems().await.expect("modems");
    assert_eq!(
        modems
            .iter()
            .map(|e| e.seen.imei.as_str())
            .collect::<Vec<_>>(),
        [&m.imei, &other.imei]
    );
    assert_eq!(modems[0].seen.imsi, None);

    // Usage reported before the modem was ever seen is kept.
    s.add_usage("999", Some("111"), &usage)
        .await
        .expect("usage");
    s.seen(
        &ModemSeen {
            imei: "999".into(),
            modem_id: "m9".into(),
            ..Default::default()
        },
        5_000,
    )
    .await
    .expect("seen");
    let modems = s.modems().await.expect("modems");
    let m9 = modems.iter().find(|e| e.seen.imei == "999").expect("m9");
    assert_eq!(
        (m9.first_seen_ms, m9.last_seen_ms, m9.usage),
        (5_000, 5_000, usage)
    );
    assert_eq!(s.sims().await.expect("sims").len(), 2);
}

#[tokio::test]
async fn everything_persists_across_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested/dir/gw.db");
    let t = 1_795_370_400_000;
    {
        let s = SqliteStore::open(&path)
            .await
            .expect("open creates the directory");
        RecordStore::insert(&*s, &[record("a", "1", "2", t)])
            .await
            .expect("insert");
        BlacklistStore::add(&*s, &entry("66", MatchKind::Prefix, PartyScope::Both, None))
            .await
            .expect("add");
        StickyStore::set(&*s, "2", "m1", t, Duration::from_secs(3_600))
            .await
            .expect("set");
        CounterStore::add(&*s, "sim", Window::Month, t, 42)
            .await
            .expect("add");
        s.seen(&ModemSeen::default(), t).await.expect("seen");
    }
    let s = SqliteStore::open(&path)
        .await
        .expect("reopen (migrations already applied)");
    assert_eq!(
        RecordStore::get(&*s, "a").await,
        Ok(Some(record("a", "1", "2", t)))
    );
    assert!(s
        .find("661", Party::Callee, t)
        .await
        .expect("find")
        .is_some());
    assert!(StickyStore::get(&*s, "2", t).await.expect("get").is_some());
    assert_eq!(
        CounterStore::get(&*s, "sim", Window::Month, t).await,
        Ok(42)
    );
    let modems = s.modems().await.expect("modems");
    let usage: Vec<_> = modems
        .iter()
        .map(|m| (m.seen.imei.as_str(), m.usage.calls))
        .collect();
    assert_eq!(
        usage,
        [("", 0), ("356000000000001", 1)],
        "the modem seen, and the record's with its call"
    );
    let stores = s.stores();
    assert_eq!(stores.records.count(&RecordQuery::default()).await, Ok(1));
}

#[tokio::test]
async fn in_memory_store_serves_every_port() {
    let s = SqliteStore::open_in_memory().await.expect("open");
    let stores = s.stores();
    assert_eq!(
        stores.records.insert(&[record("a", "1", "2", 5)]).await,
        Ok(1)
    );
    assert_eq!(
        stores.records.get("a").await,
        Ok(Some(record("a", "1", "2", 5)))
    );
    assert_eq!(stores.counters.add("k", Window::Day, 5, 2).await, Ok(2));
    let h = stores
        .history
        .number_history(Party::Caller, "1", 0, 0)
        .await
        .expect("history");
    assert_eq!(h.attempts, 1);
}

#[tokio::test]
async fn connections_have_their_page_cache_and_memory_temp_store() {
    let (_d, s) = store().await;
    let settings = |c: &rusqlite::Connection| {
        let cache: i64 = c.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
        let temp: i64 = c.query_row("PRAGMA temp_store", [], |r| r.get(0))?;
        let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
        let journal: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        Ok((cache, temp, sync, journal))
    };
    // Negative: KiB. temp_store 2: MEMORY. synchronous 1: NORMAL.
    assert_eq!(
        s.shared.db.write(|c| settings(c)),
        Ok((-65_536, 2, 1, "wal".to_owned()))
    );
    let (cache, temp, _, journal) = s.shared.db.read(settings).expect("reader settings");
    assert_eq!((cache, temp, journal.as_str()), (-8_192, 2, "wal"));
}

#[tokio::test]
async fn not_a_database_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("junk.db");
    std::fs::write(&path, vec![b'x'; 4096]).expect("write");
    let r = SqliteStore::open(&path).await;
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
    let r = SqliteStore::open(dir.path()).await;
    assert!(r.is_err(), "a directory is not a database");
}

#[test]
fn errors_are_classified() {
    let sql = |code| rusqlite::Error::SqliteFailure(ffi::Error::new(code), None);
    assert!(matches!(
        classify(&sql(ffi::SQLITE_BUSY)),
        StoreError::Unavailable(_)
    ));
    assert!(matches!(
        classify(&sql(ffi::SQLITE_LOCKED)),
        StoreError::Unavailable(_)
    ));
    assert!(matches!(
        classify(&sql(ffi::SQLITE_IOERR)),
        StoreError::Unavailable(_)
    ));
    assert!(matches!(
        classify(&sql(ffi::SQLITE_FULL)),
        StoreError::Unavailable(_)
    ));
    assert!(matches!(
        classify(&sql(ffi::SQLITE_CONSTRAINT)),
        StoreError::Invalid(_)
    ));
    assert!(matches!(
        classify(&sql(ffi::SQLITE_TOOBIG)),
        StoreError::Invalid(_)
    ));
    assert!(matches!(
        classify(&sql(ffi::SQLITE_CORRUPT)),
        StoreError::Backend(_)
    ));
    assert!(matches!(
        classify(&rusqlite::Error::QueryReturnedNoRows),
        StoreError::Backend(_)
    ));
}

#[tokio::test]
async fn a_write_lock_held_elsewhere_is_unavailable_not_a_hang() {
    let (d, s) = store().await;
    let other = rusqlite::Connection::open(d.path().join("gw.db")).expect("open");
    other.execute_batch("BEGIN IMMEDIATE").expect("lock");
    // Shorten the wait for the test.
    s.shared
        .db
        .write(|c| Ok(c.busy_timeout(Duration::from_millis(50))?))
        .expect("timeout");
    let r = StickyStore::set(&*s, "1", "m1", 0, Duration::from_secs(1)).await;
    assert!(matches!(&r, Err(e) if e.is_retryable()), "{r:?}");
    // Readers are not blocked by a writer in WAL mode.
    assert_eq!(RecordStore::get(&*s, "a").await, Ok(None));
    other.execute_batch("COMMIT").expect("unlock");
    StickyStore::set(&*s, "1", "m1", 0, Duration::from_secs(1))
        .await
        .expect("set");
}

async fn hammer(s: Arc<SqliteStore>, tasks: u64) {
    let t = 1_795_370_400_000;
    let mut handles = Vec::new();
    for task in 0..tasks {
        let s = s.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..20u64 {
                let id = format!("t{task}-{i}");
                let r = record(&id, &format!("{task}"), "callee", t + i);
                assert_eq!(RecordStore::insert(&*s, &[r.clone(), r]).await, Ok(1));
                CounterStore::add(&*s, "all", Window::Day, t, 1)
                    .await
                    .expect("add");
                s.hit("rate", t, Duration::from_secs(60))
                    .await
                    .expect("hit");
                let number = format!("n{}", i % 4);
                StickyStore::set(&*s, &number, &id, t, Duration::from_secs(60))
                    .await
                    .expect("set");
                assert!(StickyStore::get(&*s, &number, t)
                    .await
                    .expect("get")
                    .is_some());
                let q = RecordQuery {
                    caller: Some(format!("{task}")),
                    ..Default::default()
                };
                assert_eq!(RecordStore::count(&*s, &q).await, Ok(i + 1));
            }
        }));
    }
    for h in handles {
        h.await.expect("task");
    }
    let total = tasks as i64 * 20;
    assert_eq!(
        CounterStore::get(&*s, "all", Window::Day, t).await,
        Ok(total)
    );
    assert_eq!(
        s.hit("rate", t, Duration::from_secs(60)).await,
        Ok(total as u64 + 1)
    );
    assert_eq!(
        RecordStore::count(&*s, &RecordQuery::default()).await,
        Ok(total as u64)
    );
    let h = s
        .number_history(Party::Callee, "callee", 0, 0)
        .await
        .expect("history");
    assert_eq!((h.attempts, h.distinct_peers), (total as u64, tasks));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_tasks_on_a_multi_thread_runtime() {
    let (_d, s) = store().await;
    hammer(s, 32).await;
}

#[tokio::test]
async fn concurrent_tasks_on_a_current_thread_runtime() {
    let (_d, s) = store().await;
    hammer(s, 16).await;
}
