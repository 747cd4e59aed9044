//! Inbound call scripts: the target answers, refuses, never answers; the caller hangs up
//! first or gives up while the target rings; the target hangs up.

use std::time::{Duration, Instant};

use super::*;
use crate::at::cause::EndKind;
use crate::sip::dialog::LocalSip;
use crate::sip::{build, Transport};

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                   m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
                   a=rtpmap:101 telephone-event/8000\r\n";

struct H {
    s: InboundSession,
    now: Instant,
    out: Vec<InAction>,
    invite: Option<Request>,
}

impl H {
    #[allow(clippy::disallowed_methods)]
    fn new(caller: Option<&str>) -> Self {
        let local = LocalSip::from_listeners(None, &["127.0.0.1:5060".parse().expect("addr")], &[]);
        let setup = InboundSetup {
            modem: InboundModem {
                id: "modem0".into(),
                imei: Some("353143041234567".into()),
                imsi: Some("724021234567890".into()),
                iccid: None,
            },
            modem_call: CallId(1),
            caller: caller.map(str::to_string),
            callee: "+5511987650000".into(),
            target: "sip:desk@127.0.0.1:5090".into(),
            peer: Peer {
                addr: "127.0.0.1:5090".parse().expect("addr"),
                transport: Transport::Udp,
            },
            local: local.udp.clone().expect("udp"),
            from_host: local.host.clone(),
            ids: IdGen::new(7, "n1"),
            received_ms: 1_000_000,
            answer_timeout: Duration::from_secs(30),
            max_duration: Duration::from_secs(3600),
        };
        let now = Instant::now();
        let mut h = Self {
            s: InboundSession::new(setup, now),
            now,
            out: Vec::new(),
            invite: None,
        };
        h.drain();
        h
    }

    fn drain(&mut self) {
        while let Some(a) = self.s.poll_action() {
            if let InAction::Send { req, .. } = &a {
                if req.method == Method::Invite {
                    self.invite = Some(req.clone());
                }
            }
            self.out.push(a);
        }
    }

    fn ev(&mut self, e: InEvent) {
        self.now += Duration::from_millis(500);
        self.s.handle(self.now, e);
        self.drain();
    }

    fn take(&mut self) -> Vec<String> {
        std::mem::take(&mut self.out)
            .into_iter()
            .map(|a| match a {
                InAction::BindMedia => "bind".into(),
                InAction::Watch(_) => "watch".into(),
                InAction::Send { req, .. } => format!("send {}", req.method),
                InAction::Ack { .. } => "ack".into(),
                InAction::Respond { resp, .. } => format!("respond {}", resp.status_code.code()),
                InAction::ConfigureMedia(_) => "media".into(),
                InAction::AnswerModem => "ATA".into(),
                InAction::HangupModem => "CHUP".into(),
                InAction::Arm { timer, .. } => format!("arm {timer:?}"),
                InAction::Record(r) => format!(
                    "record {} {:?} {} {:?}",
                    r.sip_status,
                    r.end_reason,
                    r.direction == Direction::Inbound,
                    r.q850
                ),
                InAction::Done => "done".into(),
            })
            .collect()
    }

    fn resp(&self, code: u16) -> Response {
        let inv = self.invite.as_ref().expect("INVITE sent");
        let mut r = build::response(inv, code, Some("desktag"));
        r.headers
            .push(build::header("Contact", "<sip:desk@127.0.0.1:5090>"));
        if (200..300).contains(&code) {
            build::set_body(
                &mut r.headers,
                &mut r.body,
                "application/sdp",
                SDP.as_bytes().to_vec(),
            );
        }
        r
    }

    fn bound(&mut self) {
        self.ev(InEvent::MediaBound {
            addr: "127.0.0.1".parse().expect("ip"),
            port: 41000,
            session_id: 9,
        });
    }

    fn ended(&mut self, kind: EndKind, q850: Option<u16>, answered: bool) {
        let mut cause = EndCause::new(kind, "test");
        cause.q850 = q850;
        self.ev(InEvent::Modem(CallEvent::Ended {
            call: CallId(1),
            cause,
            talk: Duration::ZERO,
            answered,
        }));
    }
}

#[test]
fn answered_by_the_target_then_the_caller_hangs_up() {
    let mut h = H::new(Some("+5511911112222"));
    assert_eq!(h.take(), ["bind", "arm Answer"]);
    h.bound();
    assert_eq!(h.take(), ["watch", "send INVITE"]);
    let inv = h.invite.clone().expect("invite");
    let text = inv.to_string();
    assert!(
        text.contains("From: <sip:+5511911112222@127.0.0.1>"),
        "{text}"
    );
    assert!(text.contains("X-E173GW-Modem: modem0"), "{text}");
    assert!(text.contains("m=audio 41000 RTP/AVP"), "{text}");
    h.ev(InEvent::Response(h.resp(180)));
    assert!(h.take().is_empty());
    h.ev(InEvent::Response(h.resp(200)));
    assert_eq!(h.take(), ["ack", "media", "ATA"]);
    // A retransmitted 2xx is ACKed again.
    h.ev(InEvent::Stray(h.resp(200)));
    assert_eq!(h.take(), ["ack"]);
    h.ev(InEvent::Modem(CallEvent::Answered(CallId(1))));
    assert_eq!(h.take(), ["arm MaxDuration"]);
    h.ended(EndKind::Normal, Some(16), true);
    assert_eq!(h.take(), ["send BYE", "arm Teardown"]);
    let bye = match h.s.dialog.as_ref() {
        Some(_) => build::response(h.invite.as_ref().expect("i"), 200, Some("desktag")),
        None => panic!("dialog"),
    };
    // The BYE's answer (CSeq BYE) closes the SIP side.
    let mut ok = bye;
    ok.headers
        .retain(|hd| !matches!(hd, crate::sip::Header::CSeq(_)));
    ok.headers.push(build::header("CSeq", "2 BYE"));
    h.ev(InEvent::Response(ok));
    assert_eq!(h.take(), ["record 200 CallerHangup true Some(16)", "done"]);
    assert!(h.s.is_over());
}

#[test]
fn a_refusing_target_releases_the_modem_with_a_mapped_cause() {
    let mut h = H::new(None);
    h.bound();
    h.take();
    assert!(h
        .invite
        .as_ref()
        .expect("i")
        .to_string()
        .contains("From: <sip:anonymous@"));
    h.ev(InEvent::Response(h.resp(486)));
    assert_eq!(h.take(), ["CHUP", "arm Teardown"]);
    h.ended(EndKind::LocalHangup, None, false);
    assert_eq!(h.take(), ["record 486 Failed true Some(17)", "done"]);
}

#[test]
fn a_target_that_never_answers_is_given_up_on() {
    let mut h = H::new(Some("123"));
    h.bound();
    h.ev(InEvent::Response(h.resp(180)));
    h.take();
    h.ev(InEvent::Timer(InTimer::Answer));
    assert_eq!(h.take(), ["send CANCEL", "arm Teardown", "CHUP"]);
    let mut t = h.resp(487);
    t.headers.push(build::header("X", "y"));
    h.ev(InEvent::Response(t));
    h.ended(EndKind::LocalHangup, None, false);
    let out = h.take();
    assert_eq!(out.last().map(String::as_str), Some("done"));
    assert!(
        out[0].starts_with("record 408 Failed true Some(102)"),
        "{out:?}"
    );
    // An unreachable target (no answer at all) is a timeout too.
    let mut h = H::new(Some("123"));
    h.bound();
    h.take();
    h.ev(InEvent::Timeout(Method::Invite));
    h.ended(EndKind::LocalHangup, None, false);
    assert_eq!(
        h.take(),
        [
            "CHUP",
            "arm Teardown",
            "record 408 Failed true Some(102)",
            "done"
        ]
    );
}

#[test]
fn the_caller_giving_up_cancels_the_target() {
    let mut h = H::new(Some("123"));
    h.bound();
    h.take();
    // Before any provisional: nothing to CANCEL yet; the first one triggers it.
    h.ended(EndKind::Normal, Some(16), false);
    assert_eq!(h.take(), ["arm Teardown"]);
    h.ev(InEvent::Response(h.resp(180)));
    assert_eq!(h.take(), ["send CANCEL"]);
    h.ev(InEvent::Response(h.resp(487)));
    assert_eq!(h.take(), ["record 487 Cancelled true Some(16)", "done"]);
}

#[test]
fn the_target_hanging_up_ends_the_gsm_call() {
    let mut h = H::new(Some("123"));
    h.bound();
    h.ev(InEvent::Response(h.resp(200)));
    h.ev(InEvent::Modem(CallEvent::Answered(CallId(1))));
    h.take();
    let inv = h.invite.clone().expect("i");
    let call_id = headers::call_id(&inv.headers).unwrap_or_default();
    let bye = Request::try_from(
        format!(
            "BYE sip:x@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bKb\r\n\
             From: <sip:desk@127.0.0.1>;tag=desktag\r\nTo: <sip:x@127.0.0.1>;tag=t\r\n\
             Call-ID: {call_id}\r\nCSeq: 5 BYE\r\nContent-Length: 0\r\n\r\n"
        )
        .as_str(),
    )
    .expect("parses");
    h.ev(InEvent::Request {
        tx: TxId::from_raw(3),
        req: bye,
    });
    assert_eq!(h.take(), ["respond 200", "CHUP", "arm Teardown"]);
    h.ended(EndKind::LocalHangup, None, true);
    assert_eq!(h.take(), ["record 200 CalleeHangup true None", "done"]);
}

#[test]
fn no_rtp_port_refuses_before_any_invite() {
    let mut h = H::new(Some("123"));
    h.take();
    h.ev(InEvent::MediaFailed);
    assert_eq!(h.take(), ["CHUP", "arm Teardown"]);
    h.ended(EndKind::LocalHangup, None, false);
    assert_eq!(h.take(), ["record 503 Failed true Some(41)", "done"]);
}
