//! Messages: SMS kept whole and found by direction, state and number, newest first;
//! SIM balances replaced per SIM.

use e173gw_core::ports::*;
use e173gw_core::sms::message::*;

use crate::{MIN, T0};

fn sms(id: &str, direction: SmsDirection, state: SmsState, number: &str, at: u64) -> SmsRecord {
    SmsRecord {
        id: id.into(),
        direction,
        number: number.into(),
        text: format!("text of {id} — ação"),
        modem: Some("modem0".into()),
        imsi: Some("724020001000000".into()),
        state,
        parts: 1,
        references: vec![],
        status_report: false,
        attempts: 0,
        error: None,
        origin: "api".into(),
        delivered_to: vec![],
        created_ms: at,
        updated_ms: at,
    }
}

pub(crate) async fn sms_kept_whole_and_found(s: &Stores) {
    let m = &s.messages;
    use SmsDirection::*;
    use SmsState::*;
    assert_eq!(m.get_sms("sms-1").await.expect("get"), None);
    m.put_sms(&sms("sms-1", Outbound, Queued, "+5511987650001", T0))
        .await
        .expect("put");
    m.put_sms(&sms("sms-2", Inbound, Received, "+5511987650002", T0 + MIN))
        .await
        .expect("put");
    m.put_sms(&sms(
        "sms-3",
        Inbound,
        Delivered,
        "+5511987650002",
        T0 + 2 * MIN,
    ))
    .await
    .expect("put");
    // An update replaces the whole message, state included.
    let mut sent = sms("sms-1", Outbound, Sent, "+5511987650001", T0);
    sent.references = vec![12, 13];
    sent.parts = 2;
    sent.updated_ms = T0 + 3 * MIN;
    m.put_sms(&sent).await.expect("update");
    assert_eq!(m.get_sms("sms-1").await.expect("get"), Some(sent.clone()));

    let ids = |v: Vec<SmsRecord>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let all = m.find_sms(&SmsQuery::default()).await.expect("all");
    assert_eq!(ids(all), vec!["sms-3", "sms-2", "sms-1"]);
    let q = SmsQuery {
        direction: Some(Inbound),
        states: vec![Received],
        ..Default::default()
    };
    assert_eq!(ids(m.find_sms(&q).await.expect("pending")), vec!["sms-2"]);
    let q = SmsQuery {
        states: vec![Sent, Delivered],
        ..Default::default()
    };
    assert_eq!(
        ids(m.find_sms(&q).await.expect("states")),
        vec!["sms-3", "sms-1"]
    );
    let q = SmsQuery {
        number: Some("+5511987650002".into()),
        limit: 1,
        ..Default::default()
    };
    assert_eq!(ids(m.find_sms(&q).await.expect("number")), vec!["sms-3"]);
    let q = SmsQuery {
        direction: Some(Outbound),
        states: vec![Queued],
        ..Default::default()
    };
    assert!(m.find_sms(&q).await.expect("none").is_empty());
}

pub(crate) async fn balances_replace_per_sim(s: &Stores) {
    let m = &s.messages;
    assert!(m.balances().await.expect("none").is_empty());
    let mut b = SimBalance {
        imsi: "724020001000000".into(),
        modem: "modem0".into(),
        cents: 1050,
        expiry: Some("10/12/2026".into()),
        reply: "Saldo R$ 10,50 valido ate 10/12/2026".into(),
        at_ms: T0,
    };
    m.put_balance(&b).await.expect("put");
    b.cents = -200;
    b.at_ms = T0 + MIN;
    m.put_balance(&b).await.expect("replace");
    let other = SimBalance {
        imsi: "724020001000001".into(),
        cents: 0,
        ..b.clone()
    };
    m.put_balance(&other).await.expect("other");
    assert_eq!(m.balances().await.expect("list"), vec![b, other]);
}
