//! Call records: idempotent batch inserts, all-or-nothing batches, search and count
//! filters, records across monthly partitions and inserts from many tasks at once.

use e173gw_core::at::cause::EndKind;
use e173gw_core::ports::*;
use e173gw_core::record::{Attempt, RecordTarget};

use crate::{rec, DAY, MIN, T0};

pub(crate) async fn records_are_idempotent(s: &Stores) {
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

pub(crate) async fn a_failing_batch_stores_nothing(s: &Stores) {
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
    assert!(
        s.inventory.modems().await.expect("modems").is_empty(),
        "nor any usage"
    );
    assert_eq!(s.records.insert(&[good]).await.expect("then it goes in"), 1);
}

pub(crate) async fn records_search_and_count(s: &Stores) {
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
        (q(&|q| q.answered = Some(true)), 15),
        (
            q(&|q| {
                q.answered = Some(false);
                q.trunk = Some("t1".into());
            }),
            5,
        ),
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
    let next = q(&|q| {
        q.limit = 7;
        q.offset = 7;
        q.trunk = Some("t2".into());
    });
    let found = s.records.search(&next).await.expect("search");
    let ids: Vec<_> = found.iter().map(|r| r.call_id.as_str()).collect();
    assert_eq!(
        ids,
        ["s22@x", "s21@x", "s20@x", "s19@x", "s18@x", "s17@x", "s16@x"],
        "the second page follows the first"
    );
    let past = q(&|q| q.offset = 30);
    assert!(s.records.search(&past).await.expect("search").is_empty());
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

pub(crate) async fn records_across_months(s: &Stores) {
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

pub(crate) async fn records_from_many_tasks(s: &Stores) {
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
