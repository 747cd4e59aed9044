//! SMS and USSD transcripts: the CMGS prompt, stored messages read and kept until the
//! owner deletes them, USSD requests and replies.

use std::time::Duration;

use super::*;
use crate::sms::pdu::Received;

/// TS 23.040-style SMS-DELIVER from +27838890001 ("hellohello"), SMSC included.
const DELIVER: &str = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37";
/// A status report for TP-MR 0xD6, delivered.
const REPORT: &str = "0006D60B911326880736F4111011719551401110117195714000";

fn stored(events: Vec<SessionEvent>) -> Vec<StoredSms> {
    events
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::StoredSms(s) => Some(s),
            _ => None,
        })
        .collect()
}

#[test]
fn sms_part_goes_out_after_the_prompt() {
    let mut h = Harness::ready();
    h.s.send_sms(
        h.now,
        7,
        17,
        "0011000B916407281553F80000AA0548656C6C6F".into(),
    );
    h.expect_tx("AT+CMGS=17");
    h.feed("\r\n> ");
    let body = h.s.poll_transmit().expect("the PDU follows the prompt");
    assert_eq!(body, b"0011000B916407281553F80000AA0548656C6C6F\x1a");
    h.feed("\r\n+CMGS: 12\r\n\r\nOK\r\n");
    assert_eq!(
        h.take_events(),
        vec![SessionEvent::SmsSubmitted {
            id: 7,
            result: Ok(12)
        }]
    );
}

#[test]
fn sms_refusals_and_missing_references_are_errors() {
    let cases: [(&str, SmsSendError); 3] = [
        (
            "\r\n+CMS ERROR: 500\r\n",
            SmsSendError::Refused(crate::at::codec::FinalResult::CmsError(
                crate::at::codec::ErrorCode::Code(500),
            )),
        ),
        (
            "\r\nERROR\r\n",
            SmsSendError::Refused(crate::at::codec::FinalResult::Error),
        ),
        ("\r\nOK\r\n", SmsSendError::NoReference),
    ];
    for (answer, want) in cases {
        let mut h = Harness::ready();
        h.s.send_sms(h.now, 1, 5, "00AABBCCDDEE".into());
        h.expect_tx("AT+CMGS=5");
        h.feed("\r\n> ");
        assert!(h.s.poll_transmit().is_some());
        h.feed(answer);
        assert_eq!(
            h.take_events(),
            vec![SessionEvent::SmsSubmitted {
                id: 1,
                result: Err(want)
            }],
            "{answer:?}"
        );
    }
}

#[test]
fn a_stuck_prompt_is_cleared_with_esc_and_the_modem_reset() {
    let mut h = Harness::ready();
    h.s.send_sms(h.now, 3, 5, "00AABBCCDDEE".into());
    h.expect_tx("AT+CMGS=5");
    h.advance(Duration::from_secs(41));
    assert_eq!(h.s.poll_transmit(), Some(vec![0x1b]));
    let events = h.take_events();
    assert!(events.contains(&SessionEvent::SmsSubmitted {
        id: 3,
        result: Err(SmsSendError::Aborted)
    }));
    assert!(events.iter().any(|e| matches!(e, SessionEvent::Fault(_))));
}

#[test]
fn a_prompt_nobody_asked_for_gets_esc() {
    let mut h = Harness::ready();
    h.s.submit(h.now, 1, Command::Raw("AT+CMGS=3".into()));
    h.expect_tx("AT+CMGS=3");
    // A raw command does not wait for a prompt, so '>' is a line: nothing is written.
    h.feed("\r\n> ");
    assert_eq!(h.s.poll_transmit(), None);
}

#[test]
fn unavailable_modem_refuses_sms_and_ussd_at_once() {
    let mut h = Harness::new();
    h.s.send_sms(h.now, 1, 5, "00AA".into());
    h.s.ussd(h.now, 2, "AA180C3602".into(), 15);
    h.expect_no_tx();
    let events = h.take_events();
    assert!(matches!(
        events[0],
        SessionEvent::SmsSubmitted {
            id: 1,
            result: Err(SmsSendError::Unavailable(Unavailable::Closed))
        }
    ));
    assert!(matches!(
        events[1],
        SessionEvent::UssdSent {
            id: 2,
            result: Err(_)
        }
    ));
}

#[test]
fn new_messages_are_read_and_kept_until_deleted() {
    let mut h = Harness::ready();
    h.feed("\r\n+CMTI: \"SM\",3\r\n");
    h.expect_tx("AT+CMGR=3");
    // A URC inside the answer is a URC, not the PDU.
    h.feed(&format!(
        "\r\n+CMGR: 0,,24\r\n\r\n^RSSI:14\r\n{DELIVER}\r\n\r\nOK\r\n"
    ));
    let got = stored(h.take_events());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].index, 3);
    assert_eq!(got[0].pdu, DELIVER);
    match &got[0].message {
        Ok(Received::Deliver(d)) => assert_eq!(d.text, "hellohello"),
        other => panic!("{other:?}"),
    }
    // Nothing is deleted until the owner says the message is kept.
    h.expect_no_tx();
    h.s.delete_sms(h.now, 3);
    h.answer("AT+CMGD=3", "\r\nOK\r\n");
}

#[test]
fn status_reports_and_unreadable_pdus_are_handed_over_too() {
    let mut h = Harness::ready();
    h.feed("\r\n+CDSI: \"SM\",4\r\n");
    h.answer(
        "AT+CMGR=4",
        &format!("\r\n+CMGR: 0,,25\r\n{REPORT}\r\n\r\nOK\r\n"),
    );
    let got = stored(h.take_events());
    assert!(
        matches!(&got[0].message, Ok(Received::Status(r)) if r.reference == 0xD6 && r.delivered())
    );
    h.feed("\r\n+CMTI: \"SM\",5\r\n");
    h.answer("AT+CMGR=5", "\r\n+CMGR: 0,,3\r\nZZ\r\n\r\nOK\r\n");
    let got = stored(h.take_events());
    assert_eq!(got[0].index, 5);
    assert!(got[0].message.is_err());
}

#[test]
fn meaningless_indications_read_nothing() {
    let mut h = Harness::ready();
    h.feed("\r\n+CMTI: \"SM\",-1\r\n");
    h.expect_no_tx();
    // An empty or invalid slot: no message.
    h.feed("\r\n+CMTI: \"SM\",9\r\n");
    h.answer("AT+CMGR=9", "\r\n+CMS ERROR: 321\r\n");
    assert!(stored(h.take_events()).is_empty());
}

/// Runs init, then the first health poll, answering with `answer`.
fn init_and_first_poll(answer: impl Fn(&str) -> &'static str) -> (Harness, Vec<String>) {
    let mut h = Harness::new();
    h.s.port_opened(h.now);
    let mut sent = h.run_init(&answer);
    assert!(
        !sent.iter().any(|c| c == "AT+CMGL=4"),
        "not at once after init: {sent:?}"
    );
    h.advance(Duration::from_secs(31));
    sent.extend(h.run_init(&answer));
    (h, sent)
}

#[test]
fn what_the_sim_holds_is_read_with_the_first_poll() {
    let list =
        format!("\r\n+CMGL: 1,1,,24\r\n{DELIVER}\r\n+CMGL: 2,0,,25\r\n{REPORT}\r\n\r\nOK\r\n");
    let list: &'static str = Box::leak(list.into_boxed_str());
    let (mut h, sent) = init_and_first_poll(|cmd| {
        if cmd == "AT+CMGL=4" {
            list
        } else {
            e173_answer(cmd)
        }
    });
    assert_eq!(
        sent.iter().filter(|c| *c == "AT+CMGL=4").count(),
        1,
        "{sent:?}"
    );
    let got = stored(h.take_events());
    assert_eq!(got.iter().map(|s| s.index).collect::<Vec<_>>(), vec![1, 2]);
    // Once per session: the next poll does not list again, unless asked.
    h.advance(Duration::from_secs(31));
    let again = h.run_init(e173_answer);
    assert!(!again.iter().any(|c| c == "AT+CMGL=4"), "{again:?}");
    h.s.reread_stored_sms();
    h.advance(Duration::from_secs(31));
    let again = h.run_init(e173_answer);
    assert!(again.iter().any(|c| c == "AT+CMGL=4"), "{again:?}");
}

#[test]
fn ussd_request_and_replies() {
    let mut h = Harness::ready();
    h.s.ussd(h.now, 9, "AA180C3602".into(), 15);
    h.answer("AT+CUSD=1,\"AA180C3602\",15", "\r\nOK\r\n");
    // "Saldo" packed GSM 7-bit, then a UCS-2 menu, then plain text.
    h.feed("\r\n+CUSD: 0,\"D3309BFC06\",15\r\n");
    h.feed("\r\n+CUSD: 1,\"00310020004F0069\",72\r\n");
    h.feed("\r\n+CUSD: 2,\"Fim\",15\r\n");
    let events = h.take_events();
    assert_eq!(
        events[0],
        SessionEvent::UssdSent {
            id: 9,
            result: Ok(())
        }
    );
    let replies: Vec<UssdReply> = events
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Ussd(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(replies[0].text.as_deref(), Some("Saldo"));
    assert!(replies[1].wants_answer());
    assert_eq!(replies[1].text.as_deref(), Some("1 Oi"));
    assert_eq!(
        replies[2],
        UssdReply {
            mode: 2,
            text: Some("Fim".into())
        }
    );
    h.s.ussd_cancel(h.now);
    h.answer("AT+CUSD=2", "\r\nOK\r\n");
}

#[test]
fn without_cmgl_the_slots_are_read_one_by_one() {
    let (mut h, sent) = init_and_first_poll(|cmd| match cmd {
        "AT+CMGL=4" => "\r\nERROR\r\n",
        "AT+CMGR=2" => {
            Box::leak(format!("\r\n+CMGR: 0,,24\r\n{DELIVER}\r\n\r\nOK\r\n").into_boxed_str())
        }
        c if c.starts_with("AT+CMGR=") => "\r\n+CMS ERROR: 321\r\n",
        _ => e173_answer(cmd),
    });
    let reads: Vec<&String> = sent.iter().filter(|c| c.starts_with("AT+CMGR=")).collect();
    assert_eq!(reads.len(), 50, "{sent:?}");
    assert_eq!(reads[0], "AT+CMGR=0");
    let got = stored(h.take_events());
    assert_eq!(got.iter().map(|s| s.index).collect::<Vec<_>>(), vec![2]);
}
