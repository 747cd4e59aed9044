//! Incoming-call transcripts: the ring, the caller's number from +CLIP or +CLCC, answer,
//! refusal, the caller giving up, nobody deciding.

use std::time::Duration;

use super::*;

fn offered() -> Harness {
    let mut h = Harness::ready();
    h.s.set_reject_incoming(false);
    h
}

#[test]
fn a_ring_asks_clcc_for_the_caller_and_is_answered() {
    let mut h = offered();
    h.feed("\r\nRING\r\n");
    assert_eq!(h.s.available(), Err(Unavailable::InCall));
    h.answer(
        "AT+CLCC",
        "\r\n+CLCC: 1,1,4,0,0,\"+79131234567\",145\r\n\r\nOK\r\n",
    );
    let ev = h.call_events();
    let call = match &ev[..] {
        [CallEvent::Incoming { call, number }] => {
            assert_eq!(number.as_deref(), Some("+79131234567"));
            *call
        }
        other => panic!("{other:?}"),
    };
    // More rings say nothing new.
    h.feed("\r\nRING\r\n");
    assert!(h.call_events().is_empty());
    h.s.answer(h.now, call).expect("answer");
    h.answer("ATA", "\r\nOK\r\n");
    h.expect_tx("AT^DDSETEX=2");
    h.feed("\r\n^CONN:1,0\r\n\r\nOK\r\n");
    assert_eq!(h.call_events(), vec![CallEvent::Answered(call)]);
    assert_eq!(h.s.snapshot().call, Some(CallPhase::Active));
    h.advance(Duration::from_secs(12));
    h.feed("\r\n^CEND:1,12,104,16\r\n");
    match &h.call_events()[..] {
        [CallEvent::Ended {
            call: c,
            answered: true,
            talk,
            ..
        }] => {
            assert_eq!(*c, call);
            assert_eq!(talk.as_secs(), 12);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.s.available(), Ok(()));
}

#[test]
fn clip_gives_the_number_at_once_and_a_refusal_hangs_up() {
    let mut h = offered();
    h.feed("\r\nRING\r\n\r\n+CLIP: \"+5511987650001\",145,,,,0\r\n");
    let ev = h.call_events();
    let CallEvent::Incoming { call, number } = ev[0].clone() else {
        panic!("{ev:?}")
    };
    assert_eq!(number.as_deref(), Some("+5511987650001"));
    // The CLCC asked at the first RING still comes; it adds nothing.
    h.answer(
        "AT+CLCC",
        "\r\n+CLCC: 1,1,4,0,0,\"+5511987650001\",145\r\n\r\nOK\r\n",
    );
    assert!(h.call_events().is_empty());
    h.s.hangup(h.now, call).expect("hangup");
    h.answer("AT+CHUP", "\r\nOK\r\n");
    h.feed("\r\n^CEND:1,0,29,16\r\n");
    match &h.call_events()[..] {
        [CallEvent::Ended {
            cause,
            answered: false,
            ..
        }] => {
            assert_eq!(cause.kind, crate::at::cause::EndKind::LocalHangup)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_withheld_caller_and_one_who_gives_up() {
    let mut h = offered();
    h.feed("\r\nRING\r\n");
    h.answer("AT+CLCC", "\r\n+CLCC: 1,1,4,0,0,\"\",128\r\n\r\nOK\r\n");
    let ev = h.call_events();
    assert!(
        matches!(&ev[..], [CallEvent::Incoming { number: None, .. }]),
        "{ev:?}"
    );
    h.feed("\r\n^CEND:1,0,104,16\r\n");
    assert!(matches!(
        &h.call_events()[..],
        [CallEvent::Ended {
            answered: false,
            ..
        }]
    ));
    assert_eq!(h.s.available(), Ok(()));
}

#[test]
fn nobody_deciding_ends_the_call_as_not_answered() {
    let mut h = offered();
    h.feed("\r\nRING\r\n\r\n+CLIP: \"123\",129,,,,0\r\n");
    h.answer("AT+CLCC", "\r\n+CLCC: 1,1,4,0,0,\"123\",129\r\n\r\nOK\r\n");
    h.take_events();
    h.advance(Duration::from_secs(91));
    match &h.call_events()[..] {
        [CallEvent::Ended { cause, .. }] => {
            assert_eq!(cause.kind, crate::at::cause::EndKind::NoAnswer)
        }
        other => panic!("{other:?}"),
    }
    h.expect_tx("AT+CHUP");
}

#[test]
fn a_failed_answer_releases_the_call_and_outgoing_calls_are_not_answerable() {
    let mut h = offered();
    h.feed("\r\n+CLIP: \"123\",129,,,,0\r\n");
    let ev = h.call_events();
    let CallEvent::Incoming { call, .. } = ev[0].clone() else {
        panic!("{ev:?}")
    };
    h.s.answer(h.now, call).expect("answer");
    h.expect_tx("ATA");
    h.feed("\r\nNO CARRIER\r\n");
    assert!(matches!(
        &h.call_events()[..],
        [CallEvent::Ended {
            answered: false,
            ..
        }]
    ));
    h.expect_tx("AT+CHUP");
    h.feed("\r\nOK\r\n");
    // An outgoing call cannot be "answered".
    let id =
        h.s.dial(h.now, &crate::domain::DialNumber::parse("5511").expect("n"))
            .expect("dial");
    assert_eq!(h.s.answer(h.now, id), Err(CallRequestError::NotActive));
}

#[test]
fn with_rejection_on_nothing_is_offered() {
    let mut h = Harness::ready();
    h.feed("\r\nRING\r\n");
    assert_eq!(h.take_events(), vec![SessionEvent::IncomingRejected]);
}
