//! Tests of the port types.

use super::*;
use crate::record::CallStart;

/// A call on `imei`/`imsi` (answered with `talk_ms` of talk when given).
fn call(id: &str, device: Option<(&str, Option<&str>)>, talk_ms: Option<u64>) -> CallRecord {
    let start = CallStart {
        call_id: id.into(),
        trunk: None,
        caller: "1".into(),
        callee: "2".into(),
        received_ms: 1_000,
    };
    let mut r = start.interrupted(90_000);
    if let Some((imei, imsi)) = device {
        r.target = RecordTarget::Modem {
            modem: "m1".into(),
            imei: Some(imei.into()),
            imsi: imsi.map(Into::into),
            iccid: None,
        };
    }
    if let Some(t) = talk_ms {
        r.answered_ms = Some(2_000);
        r.talk_ms = t;
    }
    r
}

#[test]
fn usage_of_calls_sums_per_modem_and_sim() {
    let u = |calls, answered, talk_seconds| Usage {
        calls,
        answered,
        talk_seconds,
    };
    let mut agent = call("agent", None, Some(60_000));
    agent.target = RecordTarget::Agent {
        uri: "sip:agent@127.0.0.1".into(),
    };
    let mut no_imei = call("no-imei", Some(("x", None)), None);
    no_imei.target = RecordTarget::Modem {
        modem: "m9".into(),
        imei: None,
        imsi: Some("724".into()),
        iccid: None,
    };
    let records = [
        call("a", Some(("imei-1", Some("imsi-1"))), Some(61_999)),
        call("b", Some(("imei-2", None)), None),
        call("c", Some(("imei-1", Some("imsi-1"))), None),
        call("d", Some(("imei-1", Some("imsi-2"))), Some(999)),
        call("e", Some(("imei-1", Some("imsi-1"))), Some(2_000)),
        call("never routed", None, None),
        agent,
        no_imei,
    ];
    assert_eq!(
        Usage::of_calls(&records),
        vec![
            ("imei-1".into(), Some("imsi-1".into()), u(3, 2, 63)),
            ("imei-2".into(), None, u(1, 0, 0)),
            ("imei-1".into(), Some("imsi-2".into()), u(1, 1, 0)),
        ]
    );
    assert_eq!(Usage::of_calls(&records[5..]), vec![]);
}

#[test]
fn a_party_is_the_scope_of_its_own_side_only() {
    for (p, name, other) in [
        (Party::Caller, "caller", Party::Callee),
        (Party::Callee, "callee", Party::Caller),
    ] {
        let scope = PartyScope::from(p);
        assert_eq!(scope.as_str(), name);
        assert_eq!(PartyScope::parse(name), Some(scope));
        assert!(scope.covers(p) && !scope.covers(other), "{name}");
    }
}

#[test]
fn calendar_round_trip_and_windows() {
    for days in [-719_468_i64, -1, 0, 1, 10_957, 19_000, 20_409, 2_932_896] {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(days_from_civil(y, m, d), days, "{days}");
    }
    assert_eq!(civil_from_days(0), (1970, 1, 1));
    assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    // 2026-11-22T18:00:00Z
    let t = 1_795_370_400_000;
    assert_eq!(Window::Day.bucket(t), "d20261122");
    assert_eq!(Window::Month.bucket(t), "m202611");
    assert_eq!(
        Window::Day.end_ms(t),
        days_from_civil(2026, 11, 23) as u64 * DAY_MS
    );
    assert_eq!(
        Window::Month.end_ms(t),
        days_from_civil(2026, 12, 1) as u64 * DAY_MS
    );
    let dec = days_from_civil(2026, 12, 31) as u64 * DAY_MS + 5;
    assert_eq!(
        Window::Month.end_ms(dec),
        days_from_civil(2027, 1, 1) as u64 * DAY_MS
    );
}

#[test]
fn blacklist_matching() {
    let e = |pattern: &str, kind, party, expires_ms| BlacklistEntry {
        pattern: pattern.into(),
        kind,
        party,
        reason: pattern.into(),
        created_ms: 0,
        expires_ms,
    };
    let entries = vec![
        e("55119", MatchKind::Prefix, PartyScope::Both, None),
        e("551199", MatchKind::Prefix, PartyScope::Callee, None),
        e(
            "5511999990000",
            MatchKind::Exact,
            PartyScope::Callee,
            Some(100),
        ),
        e("5511999990000", MatchKind::Prefix, PartyScope::Caller, None),
    ];
    let best = |n: &str, p, now| {
        best_blacklist_match(&entries, n, p, now).map(|e| (e.pattern.as_str(), e.kind))
    };
    assert_eq!(
        best("5511999990000", Party::Callee, 50),
        Some(("5511999990000", MatchKind::Exact))
    );
    assert_eq!(
        best("5511999990000", Party::Callee, 100),
        Some(("551199", MatchKind::Prefix)),
        "expired"
    );
    assert_eq!(
        best("5511999990000", Party::Caller, 0),
        Some(("5511999990000", MatchKind::Prefix))
    );
    assert_eq!(
        best("5511912345678", Party::Caller, 0),
        Some(("55119", MatchKind::Prefix))
    );
    assert_eq!(best("5521", Party::Caller, 0), None);
}
