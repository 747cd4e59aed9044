//! Inventory: modems and SIMs with their first and last sightings, and usage totals
//! (including usage reported before the first sighting).

use e173gw_core::ports::*;

use crate::{rec, DAY, T0};

pub(crate) async fn inventory_first_last_and_usage(s: &Stores) {
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

pub(crate) async fn usage_before_the_first_sighting_is_kept(s: &Stores) {
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

pub(crate) async fn a_stored_record_adds_its_usage_once(s: &Stores) {
    let usage = |calls, answered, talk_seconds| Usage {
        calls,
        answered,
        talk_seconds,
    };
    let totals = || async {
        let modems = s.inventory.modems().await.expect("modems");
        let sims = s.inventory.sims().await.expect("sims");
        (
            modems
                .iter()
                .map(|m| (m.seen.imei.clone(), m.usage))
                .collect::<Vec<_>>(),
            sims.iter()
                .map(|m| (m.imsi.clone(), m.usage))
                .collect::<Vec<_>>(),
        )
    };
    let (imei, imsi) = ("354911021000005".to_string(), "724020001000000".to_string());
    let answered = rec("a@x", "1", "2", T0, 200, 61_999);
    let busy = rec("b@x", "1", "3", T0 + 1, 486, 0);
    let mut agent = rec("c@x", "1", "4", T0 + 2, 200, 30_000);
    agent.target = e173gw_core::record::RecordTarget::Agent {
        uri: "sip:agent@127.0.0.1".into(),
    };
    assert_eq!(
        s.records
            .insert(&[answered.clone(), busy, agent])
            .await
            .expect("insert"),
        3
    );
    let once = (
        vec![(imei.clone(), usage(2, 1, 61))],
        vec![(imsi.clone(), usage(2, 1, 61))],
    );
    assert_eq!(totals().await, once, "the agent call uses no modem");
    // Replayed records (the spool after a crash, a second node) add nothing; a new one in
    // the same batch, and one twice in a batch, count once.
    let late = rec("d@x", "1", "5", T0 + 3, 200, 5_000);
    assert_eq!(
        s.records
            .insert(&[answered, late.clone(), late])
            .await
            .expect("insert"),
        1
    );
    assert_eq!(
        totals().await,
        (vec![(imei, usage(3, 2, 66))], vec![(imsi, usage(3, 2, 66))],)
    );
}
