//! Calls screened before routing: allowed, rejected, diverted, and callers who leave first.

use super::S::*;
use super::*;
use crate::filter::{Annotations, Decision, StageTrace, Verdict};

fn screening() -> H {
    H::with_cfg(
        Target::Modems,
        Some(SDP),
        CallConfig {
            screen: true,
            ..cfg()
        },
    )
}

fn verdict(decision: Decision) -> Event {
    Event::Screened(Box::new(Verdict {
        decision,
        annotations: Annotations {
            e164: Some("+5511987654321".into()),
            operator: Some("Vivo".into()),
            tags: vec!["ported".into()],
            ..Annotations::default()
        },
        trace: vec![StageTrace {
            stage: "blacklist".into(),
            finding: "pass".into(),
            act: "continue".into(),
            detail: String::new(),
            micros: 3,
        }],
        rules_version: 2,
    }))
}

#[test]
fn a_screened_call_waits_for_its_verdict_then_routes_rejects_or_diverts() {
    // Allowed: routed, and the record keeps the trace.
    let mut h = screening();
    assert_eq!(h.trace, ["screen 5511912345678"]);
    assert_eq!(h.s.state(), CallState::Screening);
    h.ev(verdict(Decision::Allow));
    assert_eq!(h.trace, ["screen 5511912345678", "route"]);
    assert_eq!(h.s.state(), CallState::Routing);
    h.step(RouteReject(503));
    h.step(Fire(Timer::Linger));
    let r = h.records.last().expect("a record");
    assert_eq!(
        r.verdict,
        ["blacklist: pass -> continue 3us", "verdict: allow"]
    );

    // Rejected: the caller gets the verdict's status and reason, no route is asked for.
    let mut h = screening();
    h.ev(verdict(Decision::Reject {
        status: 403,
        reason: "known\r\nfraud".into(),
    }));
    assert_eq!(h.trace[1], "403");
    assert!(
        !h.trace.iter().any(|t| t.starts_with("route")),
        "{:?}",
        h.trace
    );
    h.step(Fire(Timer::Linger));
    let r = h.records.last().expect("a record");
    assert_eq!(r.end_reason, EndReason::Screened);
    assert_eq!(r.sip_status, 403);
    assert_eq!(
        r.verdict.last().map(String::as_str),
        Some("verdict: reject 403 known\r\nfraud")
    );
    let first = r
        .history
        .iter()
        .find(|t| t.machine == crate::record::Machine::Call);
    assert_eq!(
        first.map(|t| t.from.to_string()).as_deref(),
        Some("screening")
    );

    // Diverted: the router is asked for the agent, which learns what screening found.
    let mut h = screening();
    h.ev(verdict(Decision::Divert {
        reason: "no whatsapp".into(),
        delivery: None,
    }));
    assert_eq!(h.trace[1], "route divert no whatsapp");
    h.step(RouteAgent);
    let inv = h.agent_invite.clone().expect("an INVITE to the agent");
    let text = inv.to_string();
    for want in [
        "X-E173GW-Screening: blacklist=pass/continue",
        "X-E173GW-Callee-E164: +5511987654321",
        "X-E173GW-Operator: Vivo",
        "X-E173GW-Tags: ported",
    ] {
        assert!(text.contains(want), "{want} missing in\n{text}");
    }
}

#[test]
fn a_caller_who_leaves_during_screening_gets_487_and_a_late_verdict_changes_nothing() {
    let mut h = screening();
    h.step(Cancel);
    assert_eq!(h.trace[1], "487");
    h.ev(verdict(Decision::Allow));
    assert!(
        !h.trace.iter().any(|t| t.starts_with("route")),
        "{:?}",
        h.trace
    );
    h.step(Fire(Timer::Linger));
    let r = h.records.last().expect("a record");
    assert_eq!(r.end_reason, EndReason::Cancelled);
    assert!(r.verdict.is_empty());
}

#[test]
fn an_unreachable_filter_lets_the_call_go_on_unscreened_and_says_so() {
    let mut h = screening();
    h.ev(Event::ScreenGone);
    assert_eq!(h.trace[1], "route");
    h.step(RouteReject(503));
    h.step(Fire(Timer::Linger));
    let r = h.records.last().expect("a record");
    assert_eq!(r.verdict, ["filter: unavailable -> continue unscreened"]);
}
