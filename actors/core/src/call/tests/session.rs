//! What every call has: its history, its timers, its record's times, what happens after.

use super::S::*;
use super::*;
use crate::record::Machine;

fn states(h: &H, machine: Machine) -> Vec<String> {
    let t = h.records.first().map_or(h.s.history(), |r| &r.history[..]);
    let mut v: Vec<String> = t
        .iter()
        .filter(|x| x.machine == machine)
        .take(1)
        .map(|x| x.from.to_string())
        .collect();
    v.extend(
        t.iter()
            .filter(|x| x.machine == machine)
            .map(|x| format!("{}@{}", x.to, x.event)),
    );
    v
}

#[test]
fn the_record_carries_both_state_histories() {
    let h = H::run(
        Target::Modems,
        Some(SDP),
        &[
            RouteModem("m1"),
            Bound,
            DialOk,
            Alert,
            Answer,
            Ack,
            Bye,
            End(EndKind::LocalHangup, true),
        ],
    );
    assert_eq!(
        states(&h, Machine::Call),
        [
            "routing",
            "connecting@routed_modem",
            "early@modem_alerting",
            "answered@modem_answered",
            "confirmed@ack",
            "ending@bye",
            "ended@modem_ended",
        ]
    );
    assert_eq!(
        states(&h, Machine::Dialog),
        [
            "trying",
            "early@modem_alerting",
            "confirmed@modem_answered",
            "terminated@bye"
        ]
    );
    assert_eq!(h.s.state(), CallState::Ended);
    assert_eq!(h.s.dialog_state(), DialogState::Terminated);
}

#[test]
fn the_record_times_follow_the_clock() {
    let mut h = H::new(Target::Modems, Some(SDP));
    let t0 = h.now;
    let at = |h: &mut H, ms: u64, s: S| {
        h.now = t0 + Duration::from_millis(ms);
        h.step(s);
    };
    at(&mut h, 5, RouteModem("m1"));
    at(&mut h, 6, Bound);
    at(&mut h, 7, DialOk);
    at(&mut h, 1_500, Alert);
    at(&mut h, 4_000, Answer);
    at(&mut h, 4_050, Ack);
    at(&mut h, 64_000, Bye);
    at(&mut h, 64_200, End(EndKind::LocalHangup, true));
    let r = h.records.first().expect("a record");
    let base = 1_800_000_000_000;
    assert_eq!(r.received_ms, base);
    assert_eq!(r.routed_ms, Some(base + 5));
    assert_eq!(r.alerting_ms, Some(base + 1_500));
    assert_eq!(r.answered_ms, Some(base + 4_000));
    assert_eq!(r.ended_ms, base + 64_200);
    assert_eq!(r.talk_ms, 60_200);
    assert_eq!(r.post_dial_delay_ms, Some(1_495));
    assert_eq!(r.callee, "5511912345678");
    assert_eq!(r.caller, "5511988887777");
    assert!(matches!(&r.target, crate::record::RecordTarget::Modem { modem, .. } if modem == "m1"));
    assert_eq!(r.history.last().map(|t| t.at_ms), Some(64_200));
}

#[test]
fn progress_shows_the_state_since_when_and_the_modem() {
    let mut h = H::new(Target::Modems, Some(SDP));
    let t0 = h.now;
    let base = 1_800_000_000_000;
    let p = h.s.progress();
    assert_eq!(
        (p.state, p.state_since_ms, p.modem),
        (CallState::Routing, base, None)
    );
    assert_eq!((p.caller, p.callee), ("5511988887777", "5511912345678"));
    h.now = t0 + Duration::from_millis(5);
    h.step(RouteModem("m1"));
    h.now = t0 + Duration::from_millis(6);
    h.step(Bound);
    h.now = t0 + Duration::from_millis(4_000);
    h.step(DialOk);
    h.step(Answer);
    let p = h.s.progress();
    assert_eq!(p.state, CallState::Answered);
    assert_eq!(p.state_since_ms, base + 4_000);
    assert_eq!(p.modem.map(|m| m.as_str()), Some("m1"));
    assert_eq!(p.received_ms, base);
    assert_eq!(p.call_id, h.s.call_id());
}

#[test]
fn failed_tries_are_in_the_record() {
    let h = H::run(
        Target::Modems,
        Some(SDP),
        &[
            RouteModem("m1"),
            Bound,
            DialRefused,
            RouteModem("m2"),
            DialOk,
            End(EndKind::Busy, false),
        ],
    );
    let r = h.records.first().expect("a record");
    let tries: Vec<(&str, Option<EndKind>)> = r
        .attempts
        .iter()
        .map(|a| (a.modem.as_str(), a.end))
        .collect();
    assert_eq!(tries, [("m1", None), ("m2", Some(EndKind::Busy))]);
    assert_eq!((r.sip_status, r.gsm_end), (486, Some(EndKind::Busy)));
}

#[test]
fn timers_that_are_no_longer_wanted_do_nothing() {
    let mut h = H::run(
        Target::Modems,
        Some(SDP),
        &[RouteModem("m1"), Bound, DialOk, Answer, Ack],
    );
    assert!(h.is_armed(Timer::MaxDuration) && h.is_armed(Timer::HardLimit));
    // A timer reported before its time, or one never armed, is ignored.
    h.ev(Event::Timer(Timer::MaxDuration));
    h.ev(Event::Timer(Timer::Teardown));
    assert_eq!(h.s.state(), CallState::Confirmed);
    let before = h.trace.len();
    h.step(Bye);
    h.step(End(EndKind::LocalHangup, true));
    assert_eq!(h.s.state(), CallState::Ended);
    // The call is over: its maximum duration passing changes nothing.
    h.now += Duration::from_secs(3_600);
    h.ev(Event::Timer(Timer::MaxDuration));
    assert_eq!(
        h.trace[before..],
        [
            "reply 200 BYE",
            "hangup m1",
            "release m1",
            "drop",
            "record CallerHangup 200"
        ]
    );
}

#[test]
fn the_hard_limit_ends_a_call_stuck_anywhere() {
    let mut h = H::run(Target::Modems, Some(SDP), &[RouteModem("m1"), Bound]);
    assert_eq!(h.s.state(), CallState::Connecting);
    h.fire(Timer::HardLimit);
    assert_eq!(h.s.state(), CallState::Ended);
    assert_eq!(h.records.len(), 1);
    assert_eq!(h.records[0].sip_status, 500);
}

#[test]
fn after_the_record_requests_are_answered_and_nothing_else_happens() {
    let mut h = H::run(
        Target::Modems,
        Some(SDP),
        &[
            RouteModem("m1"),
            Bound,
            DialOk,
            Answer,
            Ack,
            Bye,
            End(EndKind::LocalHangup, true),
        ],
    );
    let before = h.trace.len();
    h.step(Bye);
    h.step(ReInvite(SDP));
    h.step(Cancel);
    h.step(Alert);
    h.step(Fire(Timer::Linger));
    assert_eq!(
        h.trace[before..],
        ["reply 200 BYE", "reply 481 INVITE", "done"]
    );
    assert_eq!(h.records.len(), 1);
}

#[test]
fn an_out_of_order_request_gets_500_and_requests_while_ending_481() {
    let mut h = H::run(
        Target::Modems,
        Some(SDP),
        &[RouteModem("m1"), Bound, DialOk, Answer, Ack],
    );
    let stale = h.caller_request("INFO", None);
    let fresh = h.caller_request("INFO", None);
    for req in [fresh, stale] {
        let tx = h.tx();
        h.ev(Event::Request { tx, req });
    }
    h.ev(Event::Modem(CallEvent::Ended {
        call: CallId(1),
        cause: EndCause::new(EndKind::Normal, "callee"),
        talk: Duration::ZERO,
        answered: true,
    }));
    let late = h.caller_request("OPTIONS", None);
    let tx = h.tx();
    h.ev(Event::Request { tx, req: late });
    assert_eq!(
        h.trace[5..],
        [
            "reply 200 INFO",
            "reply 500 INFO",
            "send BYE trunk",
            "reply 481 OPTIONS"
        ]
    );
}
