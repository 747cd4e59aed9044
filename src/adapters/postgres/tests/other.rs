//! History, blacklist and inventory.

use e173gw_core::at::cause::EndKind;
use e173gw_core::ports::{
    BlacklistEntry, BlacklistStore, HistoryStore, InventoryStore, MatchKind, ModemSeen,
    NumberHistory, Party, PartyScope, RecordStore, StoreError, Usage,
};

use super::{rec, TestDb, DAY, MIN, T0};

#[tokio::test]
async fn history_aggregates_over_a_window() {
    let db = TestDb::new("history").await;
    let s = &db.store;
    let n = "5511977770000";
    let mut unanswered_with_talk = rec("h7@x", "5511900000004", n, T0 + 5 * MIN, 486, 0);
    unanswered_with_talk.talk_ms = 1;
    let recs = vec![
        rec("h1@x", "5511900000001", n, T0 - 2 * DAY, 200, 120_000),
        rec("h2@x", "5511900000001", n, T0, 200, 2_000),
        rec("h3@x", "5511900000002", n, T0 + MIN, 486, 0),
        rec("h4@x", "5511900000003", n, T0 + 2 * MIN, 200, 60_000),
        rec("h5@x", n, "5511900000009", T0 + 3 * MIN, 200, 1_000),
        rec("h6@x", "5511900000003", n, T0 + 4 * MIN, 480, 0),
        unanswered_with_talk,
        // Next month: another partition, same history.
        rec("h8@x", "5511900000005", n, T0 + 10 * DAY, 200, 5_999),
    ];
    s.insert(&recs).await.expect("insert");
    let h = s
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
    let before = s
        .number_history(Party::Callee, n, T0 - 3 * DAY, 6_000)
        .await
        .expect("history");
    assert_eq!(before.attempts, 7);
    let caller = s
        .number_history(Party::Caller, n, 0, 6_000)
        .await
        .expect("history");
    assert_eq!(
        (
            caller.attempts,
            caller.answered,
            caller.short_calls,
            caller.distinct_peers
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(caller.last.map(|l| l.at_ms), Some(T0 + 3 * MIN));
    let future = s
        .number_history(Party::Callee, n, u64::MAX, 6_000)
        .await
        .expect("history");
    assert_eq!(future, NumberHistory::default());
}

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

#[tokio::test]
async fn blacklist_precedence_replacement_and_expiry() {
    let db = TestDb::new("blacklist").await;
    let b = &db.store;
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
    let find = |n: &'static str, p: Party, now: u64| async move {
        b.find(n, p, now)
            .await
            .expect("find")
            .map(|e| (e.pattern, e.kind))
    };
    let exact = Some(("5511999990000".to_string(), MatchKind::Exact));
    assert_eq!(find("5511999990000", Party::Callee, T0).await, exact);
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
        find("5511912345678", Party::Caller, T0).await,
        Some(("55119".into(), MatchKind::Prefix))
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
    assert_eq!(b.list(T0).await.expect("list").len(), 6);
    assert_eq!(b.list(T0 - 2).await.expect("list").len(), 7);
    assert_eq!(b.list(T0 + MIN).await.expect("list").len(), 5);

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
        .expect("again"));
    assert!(!b
        .remove("551199", MatchKind::Prefix, PartyScope::Both)
        .await
        .expect("other party"));
    assert_eq!(find("5511912345678", Party::Caller, T0).await, None);
    let r = b
        .add(&entry(
            "1",
            MatchKind::Exact,
            PartyScope::Both,
            Some(u64::MAX),
        ))
        .await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
}

#[tokio::test]
async fn inventory_keeps_first_seen_and_counts_usage() {
    let db = TestDb::new("inventory").await;
    let inv = &db.store;
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
    let u = Usage {
        calls: 3,
        answered: 2,
        talk_seconds: 95,
    };
    // Concurrent increments all count.
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let s = db.store.clone();
            let (imei, imsi) = (m.imei.clone(), m.imsi.clone());
            tokio::spawn(async move { s.add_usage(&imei, imsi.as_deref(), &u).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("usage");
    }
    let modems = inv.modems().await.expect("modems");
    assert_eq!(modems.len(), 1);
    assert_eq!(
        (modems[0].first_seen_ms, modems[0].last_seen_ms),
        (T0, T0 + DAY)
    );
    assert_eq!(
        modems[0].usage,
        Usage {
            calls: 30,
            answered: 20,
            talk_seconds: 950
        }
    );
    assert_eq!(modems[0].seen, m);

    let mut other = m.clone();
    other.imei = "354911021000013".into();
    other.modem_id = "m2".into();
    other.operator = None;
    inv.seen(&other, T0 + 2 * DAY).await.expect("seen");
    m.imsi = None;
    m.iccid = None;
    inv.seen(&m, T0 + 3 * DAY).await.expect("seen without SIM");
    inv.add_usage(
        &m.imei,
        None,
        &Usage {
            calls: 1,
            answered: 0,
            talk_seconds: 0,
        },
    )
    .await
    .expect("usage without SIM");
    let sims = inv.sims().await.expect("sims");
    assert_eq!(sims.len(), 1);
    let sim = &sims[0];
    assert_eq!(sim.imsi, "724020001000000");
    assert_eq!(sim.last_imei, "354911021000013");
    assert_eq!(sim.operator, None, "what was seen last");
    assert_eq!((sim.first_seen_ms, sim.last_seen_ms), (T0, T0 + 2 * DAY));
    assert_eq!(
        sim.usage,
        Usage {
            calls: 30,
            answered: 20,
            talk_seconds: 950
        }
    );
    let modems = inv.modems().await.expect("modems");
    let imeis: Vec<_> = modems.iter().map(|e| e.seen.imei.as_str()).collect();
    assert_eq!(imeis, ["354911021000005", "354911021000013"], "by IMEI");
    assert_eq!(modems[0].seen.imsi, None);
    assert_eq!(modems[0].usage.calls, 31);
    assert_eq!(modems[1].usage, Usage::default());
}

#[tokio::test]
async fn usage_before_the_first_sighting_is_kept() {
    let db = TestDb::new("early_usage").await;
    let inv = &db.store;
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

#[tokio::test]
async fn on_equal_times_the_later_insert_is_newer() {
    let db = TestDb::new("equal_times").await;
    let s = &db.store;
    let first = rec("1@x", "A", "B", T0, 200, 1000);
    let second = rec("2@x", "A", "B", T0, 503, 0);
    let third = rec("0@x", "A", "B", T0, 486, 0);
    s.insert(&[first, second]).await.expect("insert");
    let h = s
        .number_history(Party::Caller, "A", 0, 0)
        .await
        .expect("history");
    assert_eq!(h.last.map(|l| l.sip_status), Some(503));
    s.insert(&[third]).await.expect("insert");
    let h = s
        .number_history(Party::Callee, "B", 0, 0)
        .await
        .expect("history");
    assert_eq!(h.last.map(|l| l.sip_status), Some(486));
    let found = s.search(&Default::default()).await.expect("search");
    let ids: Vec<_> = found.iter().map(|r| r.call_id.as_str()).collect();
    assert_eq!(ids, ["0@x", "2@x", "1@x"]);
}
