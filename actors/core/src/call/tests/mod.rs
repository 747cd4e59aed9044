//! Call session tests: every case is a script of events and the exact actions it must
//! produce, rendered as short lines (`180`, `dial m1`, `send BYE trunk`, `record ...`).
//! Timers are not rendered; a `Fire` step checks the timer was armed and jumps to it.

mod agent;
mod modem;
mod random;
mod screen;
mod session;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::at::cause::{EndCause, EndKind};
use crate::at::session::{CallEvent, CallId, ModemIdentity};
use crate::routing::{AgentTarget, Route};
use crate::sip::transaction::TxId;
use crate::sip::{Peer, Response, Transport};

pub(super) const SDP: &str =
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                              m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
                              a=rtpmap:101 telephone-event/8000\r\n";

/// A step of a script.
#[derive(Debug, Clone, Copy)]
pub(super) enum S {
    /// The router answers: a modem, the agent, or a refusal with this status.
    RouteModem(&'static str),
    RouteAgent,
    RouteReject(u16),
    /// RTP is bound.
    Bound,
    /// The modem takes the dial (its call is number 1), or refuses it.
    DialOk,
    DialRefused,
    /// Modem progress.
    Alert,
    Audio,
    Answer,
    End(EndKind, bool),
    /// Caller side.
    Cancel,
    Ack,
    AckWith(&'static str),
    Bye,
    ReInvite(&'static str),
    Update(&'static str),
    NoAck,
    TrunkByeOk,
    TrunkByeTimeout,
    /// Agent side: a response to its INVITE, its BYE, a request of its own.
    AgentResp(u16),
    AgentResp2xxAgain,
    AgentByeOk,
    AgentBye,
    AgentInviteTimeout,
    /// A caller's DTMF digit.
    Dtmf(char),
    /// Jump to an armed timer and fire it.
    Fire(Timer),
    Shutdown,
}

pub(super) struct H {
    pub(super) s: CallSession,
    pub(super) now: Instant,
    armed: Vec<(Timer, Instant)>,
    pub(super) trace: Vec<String>,
    pub(super) records: Vec<crate::record::CallRecord>,
    /// The last request sent to each leg.
    agent_invite: Option<Request>,
    trunk_bye: Option<Request>,
    agent_bye: Option<Request>,
    /// Our To tag towards the caller.
    to_tag: Option<String>,
    caller_cseq: u32,
    next_tx: u64,
    pub(super) done: bool,
}

#[allow(clippy::disallowed_methods)]
fn origin() -> Instant {
    Instant::now()
}

pub(super) fn invite(body: Option<&str>) -> Request {
    let (ct, body) = match body {
        Some(b) => ("Content-Type: application/sdp\r\n", b),
        None => ("", ""),
    };
    let text = format!(
        "INVITE sip:5511912345678@127.0.0.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKc1;rport\r\n\
         From: <sip:5511988887777@127.0.0.1>;tag=caller\r\nTo: <sip:5511912345678@127.0.0.1>\r\n\
         Call-ID: trunk-call\r\nCSeq: 1 INVITE\r\nContact: <sip:c@127.0.0.1:5070>\r\n\
         Max-Forwards: 70\r\n{ct}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    Request::try_from(text.as_str()).expect("test INVITE parses")
}

pub(super) fn setup(target: Target, body: Option<&str>) -> CallSetup {
    let req = invite(body);
    let local = LocalSip::from_listeners(None, &["127.0.0.1:5060".parse().expect("addr")], &[]);
    CallSetup {
        from_peer: false,
        parties: Parties::from_invite(&req).expect("dialable"),
        invite: req,
        invite_tx: TxId::from_raw(1),
        source: Peer {
            addr: "127.0.0.1:5070".parse().expect("addr"),
            transport: Transport::Udp,
        },
        local: Arc::new(local),
        trunk: "carrier".into(),
        target,
        received_ms: 1_800_000_000_000,
        ids: IdGen::new(7, "n1"),
    }
}

pub(super) fn cfg() -> CallConfig {
    CallConfig {
        max_duration: Duration::from_secs(60),
        ..CallConfig::default()
    }
}

fn method_of(r: &Request) -> String {
    r.method.to_string()
}

fn cause(kind: EndKind) -> EndCause {
    EndCause::new(kind, format!("{kind:?}"))
}

impl H {
    pub(super) fn new(target: Target, body: Option<&str>) -> Self {
        Self::with_cfg(target, body, cfg())
    }

    pub(super) fn with_cfg(target: Target, body: Option<&str>, c: CallConfig) -> Self {
        let now = origin();
        let s = CallSession::new(setup(target, body), c, now);
        let mut h = Self {
            s,
            now,
            armed: Vec::new(),
            trace: Vec::new(),
            records: Vec::new(),
            agent_invite: None,
            trunk_bye: None,
            agent_bye: None,
            to_tag: None,
            caller_cseq: 1,
            next_tx: 10,
            done: false,
        };
        h.drain();
        h
    }

    /// Runs a script; returns the trace of everything after the initial actions.
    pub(super) fn run(target: Target, body: Option<&str>, steps: &[S]) -> Self {
        let mut h = Self::new(target, body);
        for s in steps {
            h.step(*s);
        }
        h
    }

    fn tx(&mut self) -> TxId {
        self.next_tx += 1;
        TxId::from_raw(self.next_tx)
    }

    pub(super) fn ev(&mut self, e: Event) {
        self.s.handle(self.now, e);
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(a) = self.s.poll_action() {
            let line = self.render(&a);
            if let Some(l) = line {
                self.trace.push(l);
            }
        }
    }

    fn render(&mut self, a: &Action) -> Option<String> {
        Some(match a {
            Action::Respond { tx, resp } => {
                let code = resp.status_code.code();
                if *tx == TxId::from_raw(1) {
                    if let Some(t) = crate::sip::headers::to_tag(&resp.headers) {
                        self.to_tag = Some(t.to_string());
                    }
                    format!("{code}")
                } else {
                    let m = crate::sip::headers::cseq(&resp.headers)
                        .map(|c| c.method)
                        .unwrap_or_default();
                    format!("reply {code} {m}")
                }
            }
            Action::Send { req, .. } => {
                let agent = crate::sip::headers::call_id(&req.headers) != Some("trunk-call");
                let leg = if agent { "agent" } else { "trunk" };
                match (req.method, agent) {
                    (crate::sip::Method::Invite, true) => self.agent_invite = Some(req.clone()),
                    (crate::sip::Method::Bye, true) => self.agent_bye = Some(req.clone()),
                    (crate::sip::Method::Bye, false) => self.trunk_bye = Some(req.clone()),
                    _ => {}
                }
                format!("send {} {leg}", method_of(req))
            }
            Action::Ack { .. } => "ack agent".into(),
            Action::Watch(_) => return None,
            Action::Screen(r) => format!("screen {}", r.callee),
            Action::Route {
                divert: Some((why, _)),
                ..
            } => format!("route divert {why}"),
            Action::Route { exclude, .. } => {
                if exclude.is_empty() {
                    "route".into()
                } else {
                    let ex: Vec<&str> = exclude.iter().map(|m| m.as_str()).collect();
                    format!("route -{}", ex.join(" -"))
                }
            }
            Action::Release(m) => format!("release {m}"),
            Action::BindMedia => "bind".into(),
            Action::ConfigureMedia(n) => {
                if n.on_hold {
                    "media held".into()
                } else {
                    "media".into()
                }
            }
            Action::DropMedia => "drop".into(),
            Action::Dial { modem, .. } => format!("dial {modem}"),
            Action::Hangup { modem, .. } => format!("hangup {modem}"),
            Action::Dtmf { modem, digit, .. } => format!("dtmf {modem} {digit}"),
            Action::Arm { timer, after } => {
                self.armed.retain(|(t, _)| t != timer);
                self.armed.push((*timer, self.now + *after));
                return None;
            }
            Action::Record(r) => {
                self.records.push((**r).clone());
                format!("record {:?} {}", r.end_reason, r.sip_status)
            }
            Action::Done => {
                self.done = true;
                "done".into()
            }
        })
    }

    fn agent_response(&self, code: u16, sdp: bool) -> Response {
        let inv = self
            .agent_invite
            .as_ref()
            .expect("an INVITE went to the agent");
        let mut r = crate::sip::build::response(inv, code, Some("agenttag"));
        r.headers.push(crate::sip::build::header(
            "Contact",
            "<sip:agent@127.0.0.1:5090>",
        ));
        if sdp {
            crate::sip::build::set_body(
                &mut r.headers,
                &mut r.body,
                "application/sdp",
                SDP.as_bytes().to_vec(),
            );
        }
        r
    }

    fn caller_request(&mut self, method: &str, body: Option<&str>) -> Request {
        if method != "ACK" {
            self.caller_cseq += 1;
        }
        let seq = if method == "ACK" { 1 } else { self.caller_cseq };
        let tag = self.to_tag.clone().unwrap_or_default();
        let (ct, body) = match body {
            Some(b) => ("Content-Type: application/sdp\r\n", b),
            None => ("", ""),
        };
        let text = format!(
            "{method} sip:e173gw@127.0.0.1:5060 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKr{seq}{method}\r\n\
             From: <sip:5511988887777@127.0.0.1>;tag=caller\r\nTo: <sip:5511912345678@127.0.0.1>;tag={tag}\r\n\
             Call-ID: trunk-call\r\nCSeq: {seq} {method}\r\nContact: <sip:c@127.0.0.1:5071>\r\n\
             {ct}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        Request::try_from(text.as_str()).expect("caller request parses")
    }

    fn agent_request(&mut self, method: &str) -> Request {
        let inv = self
            .agent_invite
            .as_ref()
            .expect("an INVITE went to the agent");
        let call_id = crate::sip::headers::call_id(&inv.headers).unwrap_or_default();
        let text = format!(
            "{method} sip:e173gw@127.0.0.1:5060 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bKa{method}\r\n\
             From: <sip:agent@127.0.0.1>;tag=agenttag\r\nTo: <sip:x@127.0.0.1>;tag=ours\r\n\
             Call-ID: {call_id}\r\nCSeq: 9 {method}\r\nContent-Length: 0\r\n\r\n"
        );
        Request::try_from(text.as_str()).expect("agent request parses")
    }

    pub(super) fn step(&mut self, s: S) {
        let call = CallId(1);
        match s {
            S::RouteModem(id) => self.ev(Event::Routed(
                Route::Modem {
                    id: ModemId::parse(id).expect("modem id"),
                    identity: ModemIdentity::default(),
                    max_call: None,
                },
                vec![format!("#1 {id}: free")],
            )),
            S::RouteAgent => self.ev(Event::Routed(
                Route::Agent {
                    agent: AgentTarget {
                        uri: "sip:agent@127.0.0.1:5090".into(),
                        peer: Peer {
                            addr: "127.0.0.1:5090".parse().expect("addr"),
                            transport: Transport::Udp,
                        },
                        answer_timeout: Duration::from_secs(20),
                    },
                    reason: "trunk routes to the agent".into(),
                    redirect: false,
                },
                Vec::new(),
            )),
            S::RouteReject(status) => self.ev(Event::Routed(
                Route::Reject {
                    status,
                    reason: "none".into(),
                    retry_after_s: (status == 503).then_some(5),
                },
                Vec::new(),
            )),
            S::Bound => self.ev(Event::MediaBound {
                addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
                port: 20000,
                session_id: 42,
            }),
            S::DialOk => self.ev(Event::DialAccepted(call)),
            S::DialRefused => self.ev(Event::DialRefused("modem busy".into())),
            S::Alert => self.ev(Event::Modem(CallEvent::Alerting(call))),
            S::Audio => self.ev(Event::ModemAudio),
            S::Answer => self.ev(Event::Modem(CallEvent::Answered(call))),
            S::End(kind, answered) => self.ev(Event::Modem(CallEvent::Ended {
                call,
                cause: cause(kind),
                talk: Duration::ZERO,
                answered,
            })),
            S::Cancel => self.ev(Event::Cancel),
            S::Ack => {
                let ack = self.caller_request("ACK", None);
                self.ev(Event::Ack(ack));
            }
            S::AckWith(sdp) => {
                let ack = self.caller_request("ACK", Some(sdp));
                self.ev(Event::Ack(ack));
            }
            S::Bye => self.caller("BYE", None),
            S::ReInvite(sdp) => self.caller("INVITE", Some(sdp)),
            S::Update(sdp) => self.caller("UPDATE", Some(sdp)),
            S::NoAck => self.ev(Event::NoAck),
            S::TrunkByeOk => {
                let bye = self.trunk_bye.clone().expect("a BYE went to the caller");
                let ok = crate::sip::build::response(&bye, 200, None);
                self.ev(Event::Response(ok));
            }
            S::TrunkByeTimeout => self.ev(Event::Timeout {
                call_id: "trunk-call".into(),
                method: crate::sip::Method::Bye,
            }),
            S::AgentResp(code) => {
                let r = self.agent_response(code, code == 183 || (200..300).contains(&code));
                self.ev(Event::Response(r));
            }
            S::AgentResp2xxAgain => {
                let r = self.agent_response(200, true);
                self.ev(Event::Response(r));
            }
            S::AgentByeOk => {
                let bye = self.agent_bye.clone().expect("a BYE went to the agent");
                let ok = crate::sip::build::response(&bye, 200, None);
                self.ev(Event::Response(ok));
            }
            S::AgentBye => {
                let bye = self.agent_request("BYE");
                let tx = self.tx();
                self.ev(Event::Request { tx, req: bye });
            }
            S::AgentInviteTimeout => {
                let inv = self.agent_invite.as_ref().expect("agent INVITE");
                let call_id = crate::sip::headers::call_id(&inv.headers)
                    .unwrap_or_default()
                    .to_string();
                self.ev(Event::Timeout {
                    call_id,
                    method: crate::sip::Method::Invite,
                });
            }
            S::Dtmf(d) => self.ev(Event::Dtmf(d)),
            S::Fire(t) => self.fire(t),
            S::Shutdown => self.ev(Event::Shutdown),
        }
    }

    fn caller(&mut self, method: &str, body: Option<&str>) {
        let req = self.caller_request(method, body);
        let tx = self.tx();
        self.ev(Event::Request { tx, req });
    }

    /// Jumps to an armed timer and fires it.
    pub(super) fn fire(&mut self, t: Timer) {
        let at = self
            .armed
            .iter()
            .find(|(x, _)| *x == t)
            .map(|(_, at)| *at)
            .unwrap_or_else(|| panic!("{t:?} was never armed"));
        if at > self.now {
            self.now = at;
        }
        self.armed.retain(|(x, _)| *x != t);
        self.ev(Event::Timer(t));
    }

    /// Whether a timer is armed (as the owner saw it).
    pub(super) fn is_armed(&self, t: Timer) -> bool {
        self.armed.iter().any(|(x, _)| *x == t)
    }
}

/// One scripted case: the steps and the exact action trace (after the first `route`).
pub(super) struct Case {
    pub(super) name: &'static str,
    pub(super) target: Target,
    pub(super) offer: Option<&'static str>,
    pub(super) steps: &'static [S],
    pub(super) trace: &'static [&'static str],
}

pub(super) fn run_cases(cases: &[Case]) {
    for c in cases {
        let h = H::run(c.target, c.offer, c.steps);
        let want: Vec<String> = c.trace.iter().map(|s| s.to_string()).collect();
        assert_eq!(h.trace, want, "case {:?}", c.name);
        // Whatever the script, at most one record and one final response to the INVITE.
        assert!(
            h.records.len() <= 1,
            "case {:?}: {} records",
            c.name,
            h.records.len()
        );
        let finals = h
            .trace
            .iter()
            .filter(|l| l.parse::<u16>().is_ok_and(|c| c >= 200))
            .count();
        assert!(finals <= 1, "case {:?}: {finals} final responses", c.name);
    }
}
