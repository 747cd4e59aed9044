use super::*;
use crate::at::cause::EndKind;
use crate::domain::DialNumber;

fn dial(h: &mut Harness, number: &str) -> CallId {
    let id =
        h.s.dial(h.now, &DialNumber::parse(number).unwrap())
            .expect("dial accepted");
    h.expect_tx(&format!("ATD{number};"));
    id
}

/// Dials and walks ATD OK, ^DDSETEX, ^ORIG, ^CONF.
fn alerting(h: &mut Harness) -> CallId {
    let id = dial(h, "+5511999990001");
    h.feed("\r\nOK\r\n");
    h.answer("AT^DDSETEX=2", "\r\nOK\r\n");
    h.feed("\r\n^ORIG:1,0\r\n");
    h.feed("\r\n^CONF:1\r\n");
    assert_eq!(
        h.call_events(),
        vec![CallEvent::Dialing(id), CallEvent::Alerting(id)]
    );
    id
}

fn ended(events: &[CallEvent]) -> (EndKind, Duration, bool) {
    match events.last() {
        Some(CallEvent::Ended {
            cause,
            talk,
            answered,
            ..
        }) => (cause.kind, *talk, *answered),
        other => panic!("expected Ended, got {other:?} in {events:?}"),
    }
}

#[test]
fn answered_then_remote_hangup() {
    let mut h = Harness::ready();
    let id = alerting(&mut h);
    h.advance(ms(2000));
    h.feed("\r\n^CONN:1,0\r\n");
    assert_eq!(h.call_events(), vec![CallEvent::Answered(id)]);
    assert_eq!(h.s.snapshot().call, Some(CallPhase::Active));
    h.advance(Duration::from_secs(12));
    h.feed("\r\n^CEND:1,12,104,16\r\n");
    let ev = h.call_events();
    assert_eq!(ended(&ev), (EndKind::Normal, Duration::from_secs(12), true));
    assert_eq!(h.s.available(), Ok(()));
    let st = h.s.stats();
    assert_eq!((st.calls, st.answered, st.talk_seconds), (1, 1, 12));
}

#[test]
fn every_gsm_outcome_from_cend() {
    let cases = [
        ("^CEND:1,0,104,17", EndKind::Busy),
        ("^CEND:1,0,104,19", EndKind::NoAnswer),
        ("^CEND:1,0,104,21", EndKind::Rejected),
        ("^CEND:1,0,104,1", EndKind::Unassigned),
        ("^CEND:1,0,104,34", EndKind::Congestion),
        ("^CEND:1,0,101", EndKind::Congestion),
        ("^CEND:1,0,106", EndKind::NoService),
    ];
    for (cend, kind) in cases {
        let mut h = Harness::ready();
        alerting(&mut h);
        h.feed(&format!("\r\n{cend}\r\n"));
        let (got, talk, answered) = ended(&h.call_events());
        assert_eq!(
            (got, talk, answered),
            (kind, Duration::ZERO, false),
            "{cend}"
        );
        assert_eq!(h.s.available(), Ok(()), "{cend}");
    }
}

#[test]
fn dial_final_results_end_the_call() {
    let cases = [
        ("\r\nERROR\r\n", EndKind::ModemError),
        ("\r\n+CME ERROR: 10\r\n", EndKind::SimFault),
        ("\r\n+CME ERROR: 30\r\n", EndKind::NoService),
        ("\r\nBUSY\r\n", EndKind::Busy),
        ("\r\nNO CARRIER\r\n", EndKind::Congestion),
        ("\r\nNO DIALTONE\r\n", EndKind::NoService),
        ("\r\nNO ANSWER\r\n", EndKind::NoAnswer),
    ];
    for (reply, kind) in cases {
        let mut h = Harness::ready();
        let id = dial(&mut h, "100");
        h.feed(reply);
        let ev = h.call_events();
        assert_eq!(ev.len(), 1, "{reply:?}: {ev:?}");
        assert!(
            matches!(&ev[0], CallEvent::Ended { call, cause, .. } if *call == id && cause.kind == kind),
            "{reply:?}: {ev:?}"
        );
        h.expect_no_tx();
        assert_eq!(h.s.available(), Ok(()));
    }
}

#[test]
fn local_hangup_while_active() {
    let mut h = Harness::ready();
    let id = alerting(&mut h);
    h.feed("\r\n^CONN:1,0\r\n");
    h.advance(Duration::from_secs(3));
    h.take_events();
    h.s.hangup(h.now, id).unwrap();
    assert_eq!(h.s.snapshot().call, Some(CallPhase::HangingUp));
    h.answer("AT+CHUP", "\r\nOK\r\n\r\n^CEND:1,3,29,16\r\n");
    assert_eq!(
        ended(&h.call_events()),
        (EndKind::LocalHangup, Duration::from_secs(3), true)
    );
}

#[test]
fn hangup_while_atd_in_flight_waits_for_its_result() {
    let mut h = Harness::ready();
    let id = dial(&mut h, "100");
    h.s.hangup(h.now, id).unwrap();
    h.expect_no_tx(); // one command at a time: ATD is still in flight
    h.feed("\r\nOK\r\n");
    h.answer("AT+CHUP", "\r\nOK\r\n");
    h.feed("\r\n^CEND:1,0,29\r\n");
    let ev = h.call_events();
    assert!(
        !ev.iter().any(|e| matches!(e, CallEvent::Dialing(_))),
        "{ev:?}"
    );
    assert_eq!(ended(&ev).0, EndKind::LocalHangup);
}

#[test]
fn hangup_before_atd_is_sent_sends_nothing() {
    let mut h = Harness::ready();
    // A poll is in flight, so ATD waits in the queue.
    h.advance(Duration::from_secs(30));
    h.expect_tx("AT+CSQ");
    let id = h.s.dial(h.now, &DialNumber::parse("100").unwrap()).unwrap();
    h.s.hangup(h.now, id).unwrap();
    assert_eq!(ended(&h.call_events()).0, EndKind::LocalHangup);
    h.feed("\r\n+CSQ: 17,99\r\n\r\nOK\r\n");
    assert_ne!(h.next_tx().as_deref(), Some("ATD100;"));
}

#[test]
fn urcs_out_of_order_are_tolerated() {
    // ^ORIG before ATD's OK (the order chan_dongle cannot handle).
    let mut h = Harness::ready();
    let id = dial(&mut h, "100");
    h.feed("\r\n^ORIG:1,0\r\n\r\nOK\r\n");
    h.answer("AT^DDSETEX=2", "\r\nOK\r\n");
    h.feed("\r\n^CONN:1,0\r\n");
    assert_eq!(
        h.call_events(),
        vec![CallEvent::Dialing(id), CallEvent::Answered(id)]
    );
}

#[test]
fn no_orig_times_out_and_releases_the_modem() {
    let mut h = Harness::ready();
    dial(&mut h, "100");
    h.feed("\r\nOK\r\n");
    h.answer("AT^DDSETEX=2", "\r\nOK\r\n");
    h.take_events();
    h.advance(ms(5_000));
    h.answer("AT+CLCC", "\r\nOK\r\n");
    h.advance(ms(4_999));
    assert!(h.call_events().is_empty());
    h.advance(ms(1));
    let ev = h.call_events();
    assert_eq!(ended(&ev).0, EndKind::Timeout);
    assert!(EndKind::Timeout.is_gateway_fault());
    // The call is released on the modem; the modem is busy until that is confirmed.
    h.expect_tx("AT+CHUP");
    assert_eq!(h.s.available(), Err(Unavailable::InCall));
    h.feed("\r\nOK\r\n");
    assert_eq!(h.s.available(), Ok(()));
}

#[test]
fn ring_timer_gives_no_answer() {
    let mut h = Harness::ready();
    alerting(&mut h);
    h.advance(Duration::from_secs(90));
    let (kind, _, answered) = ended(&h.call_events());
    assert_eq!((kind, answered), (EndKind::NoAnswer, false));
    h.expect_tx("AT+CHUP");
}

#[test]
fn missing_cend_after_chup_is_handled() {
    let mut h = Harness::ready();
    let id = alerting(&mut h);
    h.s.hangup(h.now, id).unwrap();
    h.answer("AT+CHUP", "\r\nOK\r\n");
    h.advance(Duration::from_secs(5));
    assert_eq!(ended(&h.call_events()).0, EndKind::LocalHangup);
    // It checks that the modem agrees.
    h.answer("AT+CLCC", "\r\nOK\r\n");
    assert_eq!(h.s.available(), Ok(()));
}

#[test]
fn clcc_poll_catches_a_vanished_call() {
    let mut h = Harness::ready();
    let id = alerting(&mut h);
    h.feed("\r\n^CONN:1,0\r\n");
    h.take_events();
    h.advance(Duration::from_secs(5));
    h.answer(
        "AT+CLCC",
        "\r\n+CLCC: 1,0,0,0,0,\"+5511999990001\",145\r\n\r\nOK\r\n",
    );
    assert!(h.call_events().is_empty());
    h.advance(Duration::from_secs(5));
    h.answer("AT+CLCC", "\r\nOK\r\n");
    let ev = h.call_events();
    assert!(
        matches!(ev.last(), Some(CallEvent::Ended { call, cause, answered: true, .. }) if *call == id && cause.kind == EndKind::Normal),
        "{ev:?}"
    );
}

#[test]
fn clcc_shows_alerting_and_active_when_urcs_are_lost() {
    let mut h = Harness::ready();
    let id = dial(&mut h, "100");
    h.feed("\r\nOK\r\n");
    h.answer("AT^DDSETEX=2", "\r\nOK\r\n");
    h.advance(Duration::from_secs(5));
    h.answer("AT+CLCC", "\r\n+CLCC: 1,0,3,0,0,\"100\",129\r\n\r\nOK\r\n");
    h.advance(Duration::from_secs(5));
    h.answer("AT+CLCC", "\r\n+CLCC: 1,0,0,0,0,\"100\",129\r\n\r\nOK\r\n");
    assert_eq!(
        h.call_events(),
        vec![
            CallEvent::Dialing(id),
            CallEvent::Alerting(id),
            CallEvent::Answered(id)
        ]
    );
}

#[test]
fn modem_freeze_during_call_ends_it_with_a_gateway_fault() {
    let mut h = Harness::ready();
    alerting(&mut h);
    h.feed("\r\n^CONN:1,0\r\n");
    h.take_events();
    h.advance(Duration::from_secs(5));
    h.expect_tx("AT+CLCC");
    // Frozen: URCs keep coming, the command is never answered.
    h.feed("\r\n^RSSI:17\r\n");
    h.advance(Duration::from_secs(5));
    let events = h.take_events();
    assert!(
        events.contains(&SessionEvent::Fault(Fault::CommandTimeout {
            command: "AT+CLCC".into()
        })),
        "{events:?}"
    );
    assert!(events.iter().any(|e| matches!(e, SessionEvent::Call(CallEvent::Ended { cause, .. }) if cause.kind == EndKind::Timeout)));
}

#[test]
fn port_loss_mid_call_ends_it_as_device_gone() {
    let mut h = Harness::ready();
    alerting(&mut h);
    h.s.port_closed(h.now);
    assert_eq!(ended(&h.call_events()).0, EndKind::DeviceGone);
    assert_eq!(h.s.available(), Err(Unavailable::Closed));
}

#[test]
fn dtmf_is_sent_digit_by_digit_on_active_calls_only() {
    let mut h = Harness::ready();
    let id = alerting(&mut h);
    assert_eq!(
        h.s.send_dtmf(h.now, id, "1"),
        Err(CallRequestError::NotActive)
    );
    h.feed("\r\n^CONN:1,0\r\n");
    assert_eq!(
        h.s.send_dtmf(h.now, id, "1A"),
        Err(CallRequestError::BadDigit('A'))
    );
    assert_eq!(
        h.s.send_dtmf(h.now, CallId(99), "1"),
        Err(CallRequestError::NoSuchCall)
    );
    h.s.send_dtmf(h.now, id, "5#").unwrap();
    h.answer("AT^DTMF=1,5", "\r\nOK\r\n");
    h.answer("AT^DTMF=1,#", "\r\nOK\r\n");
}

#[test]
fn second_dial_is_refused_while_busy() {
    let mut h = Harness::ready();
    alerting(&mut h);
    assert_eq!(
        h.s.dial(h.now, &DialNumber::parse("200").unwrap()),
        Err(DialRefused::Unavailable(Unavailable::InCall))
    );
}

#[test]
fn late_cend_of_an_ended_call_is_ignored() {
    let mut h = Harness::ready();
    let id = alerting(&mut h);
    h.feed("\r\n^CONN:1,0\r\n\r\nNO CARRIER\r\n");
    let ev = h.call_events();
    assert!(
        matches!(ev.last(), Some(CallEvent::Ended { call, cause, .. }) if *call == id && cause.kind == EndKind::Normal)
    );
    h.feed("\r\n^CEND:1,0,104,16\r\n");
    assert!(h.call_events().is_empty());
}
