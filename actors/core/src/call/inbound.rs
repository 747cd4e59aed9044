//! A GSM call that arrived on a SIM, offered to a SIP target: the gateway is the UAC of
//! one SIP leg and holds the ringing modem call. Sans-IO like [`super::CallSession`]:
//! events in with the time, actions out.
//!
//! ```text
//! ring ─ BindMedia ─ INVITE (our SDP offer) ─┬─ 2xx: ACK, media, ATA ─ answered ─ talk ─ BYE / ^CEND
//!                                            ├─ 3xx-6xx, timeout: AT+CHUP (cause from the status)
//!                                            └─ caller gives up: CANCEL (after a provisional)
//! ```
//!
//! The record is written once both sides are over: the SIP leg (final answer, BYE done,
//! or never answered) and the modem call (ended).

use std::time::{Duration, Instant};

use crate::at::cause::EndCause;
use crate::at::session::{CallEvent, CallId};
use crate::record::{CallRecord, Direction, EndReason, RecordTarget};
use crate::sdp::Negotiated;
use crate::sip::dialog::{new_invite, Dialog, Local, NewLeg};
use crate::sip::ids::IdGen;
use crate::sip::transaction::{cancel_for, TxId};
use crate::sip::{build, headers, Method, Peer, Request, Response};

use super::media::MediaNeg;

/// The modem the call rang on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundModem {
    /// Modem id.
    pub id: String,
    /// IMEI.
    pub imei: Option<String>,
    /// SIM.
    pub imsi: Option<String>,
    /// SIM ICCID.
    pub iccid: Option<String>,
}

/// What an inbound call starts with.
#[derive(Debug)]
pub struct InboundSetup {
    /// The modem.
    pub modem: InboundModem,
    /// The call on it.
    pub modem_call: CallId,
    /// The caller as the network gave it (`None`: withheld).
    pub caller: Option<String>,
    /// What the caller dialled: the SIM's own number, else the modem id.
    pub callee: String,
    /// The SIP target's URI, and where it is.
    pub target: String,
    /// Its address.
    pub peer: Peer,
    /// Our Via/Contact for the target's transport.
    pub local: Local,
    /// Host for From.
    pub from_host: String,
    /// Tags, Call-IDs, branches.
    pub ids: IdGen,
    /// When the ring came (Unix ms).
    pub received_ms: u64,
    /// Longest ring towards the target.
    pub answer_timeout: Duration,
    /// Longest answered call.
    pub max_duration: Duration,
}

/// Something that happened to an inbound call.
#[derive(Debug, Clone)]
pub enum InEvent {
    /// Our RTP socket.
    MediaBound {
        /// Address for our SDP.
        addr: std::net::IpAddr,
        /// Its port.
        port: u16,
        /// SDP session id.
        session_id: u64,
    },
    /// No RTP socket.
    MediaFailed,
    /// A response on the SIP leg.
    Response(Response),
    /// A 2xx that matched no transaction (our ACK was lost).
    Stray(Response),
    /// A request of ours got no final response.
    Timeout(Method),
    /// A request from the target in the dialog.
    Request {
        /// Its server transaction.
        tx: TxId,
        /// The request.
        req: Request,
    },
    /// The modem's call moved.
    Modem(CallEvent),
    /// The modem refused `ATA` (or is gone).
    ModemFailed,
    /// A timer fired.
    Timer(InTimer),
    /// The gateway is stopping.
    Shutdown,
}

/// The inbound call's timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InTimer {
    /// The target rang too long.
    Answer,
    /// The answered call reached its longest.
    MaxDuration,
    /// Both sides had their time to confirm a hang-up.
    Teardown,
}

/// What the owner must do.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum InAction {
    /// Bind an RTP socket; report [`InEvent::MediaBound`] or [`InEvent::MediaFailed`].
    BindMedia,
    /// Messages with this Call-ID belong to the call.
    Watch(String),
    /// A request in a new client transaction.
    Send {
        /// The request.
        req: Request,
        /// Where to.
        to: Peer,
    },
    /// An ACK for a 2xx.
    Ack {
        /// The ACK.
        ack: Request,
        /// Where to.
        to: Peer,
    },
    /// Answer a request of the target's.
    Respond {
        /// Its transaction.
        tx: TxId,
        /// The response.
        resp: Response,
    },
    /// Bridge RTP with what was agreed.
    ConfigureMedia(Negotiated),
    /// Answer the modem's call (`ATA`).
    AnswerModem,
    /// Hang up the modem's call.
    HangupModem,
    /// Arm a timer.
    Arm {
        /// Which.
        timer: InTimer,
        /// After.
        after: Duration,
    },
    /// The call's one record.
    Record(Box<CallRecord>),
    /// Over: forget the call.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the RTP socket.
    Binding,
    /// INVITE out, no final answer.
    Inviting,
    /// 2xx taken, `ATA` out.
    Connecting,
    /// Both sides up.
    Up,
    /// Hanging up both sides.
    Ending,
    /// Recorded.
    Ended,
}

/// One inbound call. See the module docs.
#[derive(Debug)]
pub struct InboundSession {
    s: InboundSetup,
    phase: Phase,
    call_id: String,
    invite: Option<Request>,
    dialog: Option<Dialog>,
    media: Option<MediaNeg>,
    provisional: bool,
    cancel_sent: bool,
    bye_sent: bool,
    /// The SIP leg needs nothing more (final non-2xx, BYE answered, or never sent).
    sip_done: bool,
    modem_done: bool,
    sip_status: Option<u16>,
    modem_cause: Option<EndCause>,
    end_reason: Option<EndReason>,
    alerting_ms: Option<u64>,
    answered_ms: Option<u64>,
    received: Instant,
    out: std::collections::VecDeque<InAction>,
}

impl InboundSession {
    /// A call for a ring: binds RTP first.
    pub fn new(mut s: InboundSetup, now: Instant) -> Self {
        let call_id = s.ids.call_id();
        let mut me = Self {
            s,
            phase: Phase::Binding,
            call_id,
            invite: None,
            dialog: None,
            media: None,
            provisional: false,
            cancel_sent: false,
            bye_sent: false,
            sip_done: false,
            modem_done: false,
            sip_status: None,
            modem_cause: None,
            end_reason: None,
            alerting_ms: None,
            answered_ms: None,
            received: now,
            out: Default::default(),
        };
        me.out.push_back(InAction::BindMedia);
        me.out.push_back(InAction::Arm {
            timer: InTimer::Answer,
            after: me.s.answer_timeout,
        });
        me
    }

    /// The SIP leg's Call-ID.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// The next thing to do.
    pub fn poll_action(&mut self) -> Option<InAction> {
        self.out.pop_front()
    }

    /// Whether the record is made.
    pub fn is_over(&self) -> bool {
        self.phase == Phase::Ended
    }

    fn wall(&self, now: Instant) -> u64 {
        self.s.received_ms + now.saturating_duration_since(self.received).as_millis() as u64
    }

    /// Feeds one event.
    pub fn handle(&mut self, now: Instant, ev: InEvent) {
        if self.phase == Phase::Ended {
            if let InEvent::Stray(r) | InEvent::Response(r) = &ev {
                self.reack(r);
            }
            return;
        }
        match ev {
            InEvent::MediaBound {
                addr,
                port,
                session_id,
            } => self.invite(addr, port, session_id),
            InEvent::MediaFailed => self.give_up(503, EndReason::Failed),
            InEvent::Response(r) => self.on_response(now, &r),
            InEvent::Stray(r) => self.reack(&r),
            InEvent::Timeout(Method::Invite) if !self.sip_done => {
                self.sip_done = true;
                self.give_up(408, EndReason::Failed);
            }
            InEvent::Timeout(_) => self.sip_done = true,
            InEvent::Request { tx, req } => self.on_request(now, tx, &req),
            InEvent::Modem(e) => self.on_modem(now, e),
            InEvent::ModemFailed => {
                self.modem_done = true;
                self.hang_up_sip();
                self.end_reason.get_or_insert(EndReason::Failed);
            }
            InEvent::Timer(InTimer::Answer)
                if matches!(self.phase, Phase::Binding | Phase::Inviting) =>
            {
                self.give_up(408, EndReason::Failed)
            }
            InEvent::Timer(InTimer::MaxDuration) if self.phase == Phase::Up => {
                self.end_reason.get_or_insert(EndReason::MaxDuration);
                self.hang_up_both();
            }
            InEvent::Timer(InTimer::Teardown) if self.phase == Phase::Ending => {
                self.sip_done = true;
                self.modem_done = true;
            }
            InEvent::Timer(_) => {}
            InEvent::Shutdown => {
                self.end_reason.get_or_insert(EndReason::Shutdown);
                self.hang_up_both();
                self.sip_done = true;
                self.modem_done = true;
            }
        }
        self.settle(now);
    }

    fn invite(&mut self, addr: std::net::IpAddr, port: u16, session_id: u64) {
        if self.phase != Phase::Binding {
            return;
        }
        let mut media = MediaNeg::new(addr, port, session_id);
        let offer = media.offer();
        self.media = Some(media);
        let from_tag = self.s.ids.tag();
        let branch = self.s.ids.branch();
        let caller = self.s.caller.clone().unwrap_or_else(|| "anonymous".into());
        let extra = vec![
            ("X-E173GW-Modem".to_string(), self.s.modem.id.clone()),
            ("X-E173GW-Callee".to_string(), self.s.callee.clone()),
        ];
        let invite = new_invite(
            &NewLeg {
                target: &self.s.target,
                call_id: &self.call_id,
                from_tag: &from_tag,
                caller: &caller,
                from_host: &self.s.from_host,
                branch: &branch,
                max_forwards: 70,
                body: Some(("application/sdp", offer)),
                extra: &extra,
            },
            &self.s.local,
        );
        self.out.push_back(InAction::Watch(self.call_id.clone()));
        self.out.push_back(InAction::Send {
            req: invite.clone(),
            to: self.s.peer,
        });
        self.invite = Some(invite);
        self.phase = Phase::Inviting;
    }

    fn on_response(&mut self, now: Instant, r: &Response) {
        let Some(cseq) = headers::cseq(&r.headers) else {
            return;
        };
        let code = r.status_code.code();
        match cseq.method.to_ascii_uppercase().as_str() {
            "INVITE" if code == 100 => {}
            "INVITE" if code < 200 => {
                self.provisional = true;
                if code == 180 || code == 183 {
                    let t = self.wall(now);
                    self.alerting_ms.get_or_insert(t);
                }
                if self.modem_done && !self.cancel_sent {
                    self.cancel();
                }
            }
            "INVITE" if code < 300 => self.on_2xx(now, r),
            "INVITE" => {
                self.sip_done = true;
                self.sip_status.get_or_insert(code);
                if self.phase == Phase::Inviting {
                    self.give_up(code, EndReason::Failed);
                }
            }
            "BYE" if code >= 200 => self.sip_done = true,
            _ => {}
        }
    }

    fn on_2xx(&mut self, now: Instant, r: &Response) {
        if self.dialog.is_some() {
            self.reack(r);
            return;
        }
        let (Some(invite), true) = (
            &self.invite,
            self.phase == Phase::Inviting || self.modem_done,
        ) else {
            return;
        };
        self.dialog = Dialog::uac(invite, r, self.s.peer);
        self.sip_status = Some(r.status_code.code());
        self.reack(r);
        if self.modem_done || self.phase != Phase::Inviting {
            // The caller left while the target answered: hang the target up.
            self.hang_up_sip();
            return;
        }
        let neg = self.media.as_mut().map(|m| m.take_answer(&r.body));
        match neg {
            Some(Ok(n)) => {
                self.out.push_back(InAction::ConfigureMedia(n));
                self.out.push_back(InAction::AnswerModem);
                self.phase = Phase::Connecting;
                let t = self.wall(now);
                self.alerting_ms.get_or_insert(t);
            }
            _ => {
                // An answer we cannot bridge: end both sides.
                self.sip_status = Some(488);
                self.end_reason = Some(EndReason::Failed);
                self.hang_up_both();
            }
        }
    }

    fn reack(&mut self, r: &Response) {
        let is_invite_2xx = (200..300).contains(&r.status_code.code())
            && headers::cseq(&r.headers).is_some_and(|c| c.method.eq_ignore_ascii_case("INVITE"));
        if !is_invite_2xx {
            return;
        }
        if let Some(d) = &self.dialog {
            let branch = self.s.ids.branch();
            let ack = d.ack(1, &branch, &self.s.local);
            self.out.push_back(InAction::Ack {
                ack,
                to: self.s.peer,
            });
        }
    }

    fn on_request(&mut self, now: Instant, tx: TxId, req: &Request) {
        let tag = self.dialog.as_ref().map(|d| d.local_tag.clone());
        let respond = |code: u16, body: Option<Vec<u8>>| {
            let mut resp = build::response(req, code, tag.as_deref());
            if let Some(b) = body {
                build::set_body(&mut resp.headers, &mut resp.body, "application/sdp", b);
            }
            InAction::Respond { tx, resp }
        };
        match req.method {
            Method::Bye => {
                self.out.push_back(respond(200, None));
                self.sip_done = true;
                self.end_reason.get_or_insert(EndReason::CalleeHangup);
                self.hang_up_modem();
            }
            Method::Invite | Method::Update => {
                let sdp = self.media.as_ref().and_then(MediaNeg::sdp);
                self.out.push_back(respond(200, sdp));
            }
            _ => self.out.push_back(respond(200, None)),
        }
        let _ = now;
    }

    fn on_modem(&mut self, now: Instant, e: CallEvent) {
        match e {
            CallEvent::Answered(_) if self.phase == Phase::Connecting => {
                self.phase = Phase::Up;
                self.answered_ms = Some(self.wall(now));
                self.out.push_back(InAction::Arm {
                    timer: InTimer::MaxDuration,
                    after: self.s.max_duration,
                });
            }
            CallEvent::Ended { cause, .. } => {
                self.modem_done = true;
                self.modem_cause = Some(cause);
                let reason = if self.phase == Phase::Up {
                    EndReason::CallerHangup
                } else {
                    EndReason::Cancelled
                };
                self.end_reason.get_or_insert(reason);
                self.hang_up_sip();
            }
            _ => {}
        }
    }

    fn arm_teardown(&mut self) {
        self.out.push_back(InAction::Arm {
            timer: InTimer::Teardown,
            after: Duration::from_secs(8),
        });
    }

    /// The target refused, timed out or cannot be bridged: release the modem's call.
    fn give_up(&mut self, status: u16, reason: EndReason) {
        self.sip_status.get_or_insert(status);
        self.end_reason.get_or_insert(reason);
        if self.phase == Phase::Binding {
            self.sip_done = true;
        }
        self.hang_up_both();
    }

    fn hang_up_both(&mut self) {
        self.hang_up_sip();
        self.hang_up_modem();
    }

    fn hang_up_modem(&mut self) {
        if !self.modem_done {
            self.out.push_back(InAction::HangupModem);
        }
        if self.phase != Phase::Ending {
            self.phase = Phase::Ending;
            self.arm_teardown();
        }
    }

    fn cancel(&mut self) {
        if let Some(inv) = &self.invite {
            self.cancel_sent = true;
            self.out.push_back(InAction::Send {
                req: cancel_for(inv),
                to: self.s.peer,
            });
        }
    }

    /// CANCEL before the answer (once a provisional came), BYE after.
    fn hang_up_sip(&mut self) {
        if self.sip_done {
            return;
        }
        if self.invite.is_none() {
            self.sip_done = true;
        } else if let Some(d) = &mut self.dialog {
            if !self.bye_sent {
                self.bye_sent = true;
                let branch = self.s.ids.branch();
                let bye = d.request(Method::Bye, &branch, &self.s.local);
                self.out.push_back(InAction::Send {
                    req: bye,
                    to: self.s.peer,
                });
            }
        } else if self.provisional && !self.cancel_sent {
            self.cancel();
        }
        if self.phase != Phase::Ending {
            self.phase = Phase::Ending;
            self.arm_teardown();
        }
    }

    fn settle(&mut self, now: Instant) {
        if self.phase != Phase::Ending || !self.sip_done || !self.modem_done {
            return;
        }
        self.phase = Phase::Ended;
        let ended_ms = self.wall(now);
        let q850 = self.modem_cause.as_ref().and_then(|c| c.q850).or_else(|| {
            self.sip_status
                .filter(|s| *s >= 300)
                .map(crate::sip::q850::sip_to_q850)
        });
        let m = &self.s.modem;
        let rec = CallRecord {
            call_id: self.call_id.clone(),
            trunk: None,
            caller: self.s.caller.clone().unwrap_or_else(|| "anonymous".into()),
            callee: self.s.callee.clone(),
            target: RecordTarget::Modem {
                modem: m.id.clone(),
                imei: m.imei.clone(),
                imsi: m.imsi.clone(),
                iccid: m.iccid.clone(),
            },
            attempts: Vec::new(),
            received_ms: self.s.received_ms,
            routed_ms: Some(self.s.received_ms),
            alerting_ms: self.alerting_ms,
            answered_ms: self.answered_ms,
            ended_ms,
            sip_status: self.sip_status.unwrap_or(500),
            end_reason: self.end_reason.unwrap_or(EndReason::Failed),
            gsm_end: self.modem_cause.as_ref().map(|c| c.kind),
            q850,
            post_dial_delay_ms: self
                .alerting_ms
                .map(|a| a.saturating_sub(self.s.received_ms)),
            talk_ms: self.answered_ms.map_or(0, |a| ended_ms.saturating_sub(a)),
            verdict: Vec::new(),
            route: vec![format!(
                "inbound GSM call on {} offered to {}",
                m.id, self.s.target
            )],
            history: Vec::new(),
            quality: None,
            direction: Direction::Inbound,
        };
        self.out.push_back(InAction::Record(Box::new(rec)));
        self.out.push_back(InAction::Done);
    }
}

#[cfg(test)]
mod tests;
