//! A blind transfer asked by the agent (RFC 3515 `REFER`, no `Replaces`): the agent
//! decided a diverted call is legitimate and refers it to a number. The gateway routes
//! that number by the normal policy to a modem (no second screening), dials it, and when
//! it answers moves the caller's media to the gateway with a re-INVITE, then hangs the
//! agent up. The agent hears how it goes in `NOTIFY` (`message/sipfrag`): 100 Trying,
//! 180 Ringing, then the final status. A failed transfer leaves the call with the agent
//! (or ends it, when the agent already left).

use std::time::Instant;

use crate::at::session::{CallEvent, CallId, ModemIdentity};
use crate::domain::{DialNumber, ModemId};
use crate::record::{Attempt, EndReason, RecordTarget};
use crate::sip::transaction::TxId;
use crate::sip::{build, headers, Method, Request, Response};

use super::media::MediaNeg;
use super::{Action, CallSession, Leg};

/// Where a transfer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Screening is asked (`[agent] screen_transfers`).
    Screening,
    /// The router is asked.
    Routing,
    /// RTP is being bound.
    Binding,
    /// Dialled on the modem.
    Dialing,
    /// The modem answered; the caller is re-INVITEd.
    Reinviting,
}

/// A transfer in progress.
#[derive(Debug)]
pub(super) struct Transfer {
    target: DialNumber,
    step: Step,
    modem: Option<(ModemId, ModemIdentity)>,
    call: Option<CallId>,
    dialing: bool,
    ended: bool,
    released: bool,
    hangup_wanted: bool,
    media: Option<MediaNeg>,
    exclude: Vec<ModemId>,
    reinvite_cseq: Option<u32>,
    /// The agent hung up after its REFER (blind transfer): a failure ends the call.
    agent_gone: bool,
    /// It failed (the agent was told); what is left is its modem call ending.
    failed: bool,
}

impl Transfer {
    /// Nothing more will happen on its modem.
    pub(super) fn is_done(&self) -> bool {
        self.ended || (self.call.is_none() && !self.dialing)
    }
}

/// The number a `Refer-To` names (its URI's user part).
pub(super) fn refer_target(req: &Request) -> Option<DialNumber> {
    let typed = req.headers.iter().find_map(|h| match h {
        crate::sip::Header::ReferTo(v) => Some(v.value()),
        _ => None,
    });
    let v = typed
        .or_else(|| headers::other(&req.headers, "Refer-To"))
        .or_else(|| headers::other(&req.headers, "r"))?;
    let uri = headers::name_addr_uri(v);
    let user = headers::uri_user(uri)?;
    DialNumber::parse(&user).ok()
}

fn sipfrag(code: u16) -> &'static str {
    match code {
        100 => "SIP/2.0 100 Trying",
        180 => "SIP/2.0 180 Ringing",
        200 => "SIP/2.0 200 OK",
        403 => "SIP/2.0 403 Forbidden",
        404 => "SIP/2.0 404 Not Found",
        408 => "SIP/2.0 408 Request Timeout",
        480 => "SIP/2.0 480 Temporarily Unavailable",
        486 => "SIP/2.0 486 Busy Here",
        487 => "SIP/2.0 487 Request Terminated",
        488 => "SIP/2.0 488 Not Acceptable Here",
        603 => "SIP/2.0 603 Decline",
        _ => "SIP/2.0 503 Service Unavailable",
    }
}

impl CallSession {
    /// Whether a transfer is under way.
    pub(super) fn transferring(&self) -> bool {
        self.transfer.is_some()
    }

    /// `REFER` from the agent on its answered leg.
    pub(super) fn on_refer(&mut self, now: Instant, tx: TxId, req: &Request) {
        let answered = matches!(&self.leg, Leg::Agent(a) if a.is_answered() && a.peer.is_none());
        if !answered || !self.m.call.is_up() {
            self.reply(tx, req, 403, None);
            return;
        }
        if self.transfer.is_some() {
            self.reply(tx, req, 491, None);
            return;
        }
        let Some(target) = refer_target(req) else {
            self.reply(tx, req, 400, None);
            return;
        };
        self.reply(tx, req, 202, None);
        self.rec.route.push(format!(
            "transfer: the agent referred the call to {target} (REFER)"
        ));
        self.transfer = Some(Box::new(Transfer {
            target: target.clone(),
            step: Step::Routing,
            modem: None,
            call: None,
            dialing: false,
            ended: false,
            released: false,
            hangup_wanted: false,
            media: None,
            exclude: Vec::new(),
            reinvite_cseq: None,
            agent_gone: false,
            failed: false,
        }));
        self.notify_agent(100, true);
        if self.cfg.screen_transfers {
            if let Some(t) = &mut self.transfer {
                t.step = Step::Screening;
            }
            self.push(Action::Screen(crate::filter::Request {
                caller: self.caller.clone(),
                callee: target.to_string(),
                trunk: Some(self.trunk_name.clone()),
                now_ms: self.clock.wall_ms(now),
            }));
        } else {
            self.route_transfer(now);
        }
    }

    fn transfer_screened(&mut self, now: Instant, v: &crate::filter::Verdict) {
        self.rec.route.extend(
            v.trace_lines()
                .into_iter()
                .map(|l| format!("transfer screening: {l}")),
        );
        match &v.decision {
            crate::filter::Decision::Reject { status, .. } => {
                let status = if (400..=699).contains(status) {
                    *status
                } else {
                    403
                };
                self.transfer_failed(now, status);
            }
            crate::filter::Decision::Allow | crate::filter::Decision::Divert { .. } => {
                self.route_transfer(now)
            }
        }
    }

    fn route_transfer(&mut self, now: Instant) {
        let Some(t) = &mut self.transfer else { return };
        t.step = Step::Routing;
        let exclude = t.exclude.clone();
        let callee = t.target.clone();
        let age_ms = self.clock.wall_ms(now).saturating_sub(self.rec.received_ms);
        let _ = age_ms;
        self.push(Action::Route {
            target: crate::config::sip::Target::Modems,
            trunk: self.trunk_name.clone(),
            from_peer: None,
            caller: self.rec.caller.clone(),
            callee,
            // A transfer has its own failover budget, not the call's.
            age_ms: 0,
            exclude,
            divert: None,
            operator: None,
        });
    }

    /// `NOTIFY` the agent with a sipfrag of `code` (the subscription ends with a final).
    fn notify_agent(&mut self, code: u16, active: bool) {
        let agent_gone = self.transfer.as_ref().is_some_and(|t| t.agent_gone);
        if agent_gone {
            return;
        }
        let state = if active {
            "active;expires=60".to_string()
        } else {
            "terminated;reason=noresource".to_string()
        };
        let body = format!("{}\r\n", sipfrag(code)).into_bytes();
        let branch = self.ids.branch();
        let extra = vec![
            build::header("Event", "refer"),
            build::header("Subscription-State", state),
        ];
        if let Some((req, to)) = self.agent_request(
            Method::Notify,
            &branch,
            extra,
            "message/sipfrag;version=2.0",
            body,
        ) {
            self.push(Action::Send { req, to });
        }
    }

    /// Events a transfer takes (checked before the call's own handling). `true`: taken.
    pub(super) fn transfer_event(&mut self, now: Instant, ev: &super::Event) -> bool {
        use super::Event;
        let Some(t) = &self.transfer else {
            return false;
        };
        match ev {
            Event::Screened(v) if t.step == Step::Screening => {
                let v = v.clone();
                self.transfer_screened(now, &v);
                true
            }
            Event::ScreenGone if t.step == Step::Screening => {
                self.route_transfer(now);
                true
            }
            Event::Routed(route, why) if t.step == Step::Routing => {
                self.transfer_routed(now, route.clone(), why.clone());
                true
            }
            Event::RouterGone if t.step == Step::Routing => {
                self.transfer_failed(now, 503);
                true
            }
            Event::MediaBound {
                addr,
                port,
                session_id,
            } if t.step == Step::Binding => {
                self.transfer_media(now, *addr, *port, *session_id);
                true
            }
            Event::MediaFailed(_) if t.step == Step::Binding => {
                self.release_transfer_modem();
                self.transfer_failed(now, 503);
                true
            }
            Event::DialAccepted(call) if t.dialing => {
                let call = *call;
                if let Some(t) = &mut self.transfer {
                    t.dialing = false;
                    t.call = Some(call);
                    if t.hangup_wanted {
                        let modem = t.modem.as_ref().map(|m| m.0.clone());
                        if let Some(modem) = modem {
                            self.push(Action::Hangup { modem, call });
                        }
                    }
                }
                true
            }
            Event::DialRefused(why) if t.dialing => {
                let why = why.clone();
                self.transfer_attempt_failed(now, None, why, true);
                true
            }
            Event::Modem(e) if t.call == Some(e.call()) || (t.dialing && t.call.is_none()) => {
                let e = e.clone();
                self.transfer_modem(now, e);
                true
            }
            Event::ModemAudio => true,
            Event::Response(r) if t.reinvite_cseq.is_some() && !self.is_agent(&r.headers) => {
                let is_reinvite = headers::cseq(&r.headers).is_some_and(|c| {
                    c.method.eq_ignore_ascii_case("INVITE") && Some(c.seq) == t.reinvite_cseq
                });
                if is_reinvite {
                    let r = r.clone();
                    self.transfer_reinvite_answer(now, &r);
                }
                is_reinvite
            }
            _ => false,
        }
    }

    fn transfer_routed(&mut self, now: Instant, route: crate::routing::Route, why: Vec<String>) {
        use crate::routing::Route;
        self.rec
            .route
            .extend(why.into_iter().map(|w| format!("transfer: {w}")));
        match route {
            Route::Modem { id, identity, .. } => {
                if let Some(t) = &mut self.transfer {
                    t.modem = Some((id, identity));
                    t.step = Step::Binding;
                    t.released = false;
                    t.ended = false;
                    t.call = None;
                }
                if self.invite().body.is_empty() {
                    // No offer from the caller to bridge with.
                    self.release_transfer_modem();
                    self.transfer_failed(now, 488);
                    return;
                }
                self.push(Action::BindMedia);
            }
            Route::Peer { id, .. } => {
                self.push(Action::Release(id));
                self.transfer_failed(now, 503);
            }
            Route::Agent { .. } => self.transfer_failed(now, 503),
            Route::Reject { status, .. } => self.transfer_failed(now, status),
        }
    }

    fn transfer_media(&mut self, now: Instant, addr: std::net::IpAddr, port: u16, sid: u64) {
        let mut neg = MediaNeg::new(addr, port, sid);
        let body = self.invite().body.clone();
        match neg.answer(&body) {
            Ok((_, n)) => self.push(Action::ConfigureMedia(n)),
            Err(_) => {
                self.push(Action::DropMedia);
                self.release_transfer_modem();
                self.transfer_failed(now, 488);
                return;
            }
        }
        let Some(t) = &mut self.transfer else { return };
        t.media = Some(neg);
        t.step = Step::Dialing;
        t.dialing = true;
        let Some((modem, _)) = t.modem.clone() else {
            return;
        };
        let number = t.target.clone();
        self.push(Action::Dial {
            modem,
            number,
            forms: crate::config::dial::DialForms::default(),
        });
    }

    fn transfer_modem(&mut self, now: Instant, e: CallEvent) {
        if let Some(t) = &mut self.transfer {
            if t.call.is_none() {
                t.call = Some(e.call());
                t.dialing = false;
            }
        }
        match e {
            CallEvent::Alerting(_) => self.notify_agent(180, true),
            CallEvent::Answered(_) => self.reinvite_caller(now),
            CallEvent::Ended { cause, .. } => {
                let reinviting = self
                    .transfer
                    .as_ref()
                    .is_some_and(|t| t.step == Step::Reinviting);
                let failed = self.transfer.as_ref().is_some_and(|t| t.failed);
                if let Some(t) = &mut self.transfer {
                    t.ended = true;
                    t.call = None;
                }
                if failed {
                    // Its failure was told already: the modem is free now.
                    self.release_transfer_modem();
                    self.transfer = None;
                    return;
                }
                if reinviting {
                    // Gone while the caller was being moved: the transfer failed.
                    self.release_transfer_modem();
                    self.transfer_failed(now, 480);
                    return;
                }
                let gateway_fault = cause.kind.is_gateway_fault();
                let status = crate::sip::q850::final_status(&cause);
                self.transfer_attempt_failed(now, Some(cause), String::new(), gateway_fault);
                if !gateway_fault {
                    self.transfer_failed(now, status);
                }
            }
            CallEvent::Dialing(_) | CallEvent::Incoming { .. } => {}
        }
    }

    /// One modem failed: another is asked for when it was the gateway's fault.
    fn transfer_attempt_failed(
        &mut self,
        now: Instant,
        cause: Option<crate::at::cause::EndCause>,
        detail: String,
        retry: bool,
    ) {
        let Some(t) = &mut self.transfer else { return };
        t.dialing = false;
        t.ended = true;
        let Some((id, _)) = t.modem.clone() else {
            return;
        };
        t.exclude.push(id.clone());
        self.rec.attempts.push(Attempt {
            modem: id.to_string(),
            end: cause.as_ref().map(|c| c.kind),
            q850: cause.as_ref().and_then(|c| c.q850),
            detail: cause.map_or(detail, |c| c.detail),
        });
        self.release_transfer_modem();
        self.push(Action::DropMedia);
        if retry {
            self.route_transfer(now);
        }
    }

    fn reinvite_caller(&mut self, now: Instant) {
        let sdp = self
            .transfer
            .as_ref()
            .and_then(|t| t.media.as_ref())
            .and_then(MediaNeg::sdp);
        let branch = self.ids.branch();
        let local = self.trunk.local.clone();
        let (Some(sdp), Some(d)) = (sdp, self.trunk.dialog.as_mut()) else {
            self.hang_up_transfer_modem();
            self.transfer_failed(now, 500);
            return;
        };
        let mut req = d.request(Method::Invite, &branch, &local);
        req.headers
            .push(build::header("Contact", format!("<{}>", local.contact)));
        build::set_body(&mut req.headers, &mut req.body, "application/sdp", sdp);
        let cseq = headers::cseq(&req.headers).map(|c| c.seq);
        let to = self.trunk.source;
        if let Some(t) = &mut self.transfer {
            t.step = Step::Reinviting;
            t.reinvite_cseq = cseq;
        }
        self.push(Action::Send { req, to });
    }

    fn transfer_reinvite_answer(&mut self, now: Instant, r: &Response) {
        let code = r.status_code.code();
        if code < 200 {
            return;
        }
        if code >= 300 {
            self.hang_up_transfer_modem();
            self.transfer_failed(now, 488);
            return;
        }
        if let (Some(d), Some(cseq)) = (
            &self.trunk.dialog,
            self.transfer.as_ref().and_then(|t| t.reinvite_cseq),
        ) {
            let branch = self.ids.branch();
            let ack = d.ack(cseq, &branch, &self.trunk.local);
            let to = self.trunk.source;
            self.push(Action::Ack { ack, to });
        }
        let neg = self
            .transfer
            .as_mut()
            .and_then(|t| t.media.as_mut())
            .map(|m| m.take_answer(&r.body));
        if let Some(Ok(n)) = neg {
            self.push(Action::ConfigureMedia(n));
        }
        self.notify_agent(200, false);
        self.complete_transfer(now);
    }

    /// The caller talks to the modem now: the modem becomes the call's leg; the agent
    /// is hung up.
    fn complete_transfer(&mut self, _now: Instant) {
        let Some(mut t) = self.transfer.take() else {
            return;
        };
        let (Some((id, identity)), Some(call)) = (t.modem.take(), t.call) else {
            return;
        };
        self.rec.target = RecordTarget::Modem {
            modem: id.to_string(),
            imei: identity.imei.map(|i| i.to_string()),
            imsi: identity.imsi.map(|i| i.to_string()),
            iccid: identity.iccid.map(|i| i.to_string()),
        };
        self.rec.route.push(format!("transfer: connected on {id}"));
        self.media = t.media.take();
        self.callee = t.target.clone();
        let agent = std::mem::replace(
            &mut self.leg,
            Leg::Modem(super::modem::ModemLeg::answered(id, call)),
        );
        if let Leg::Agent(a) = agent {
            self.transferor = Some(a);
        }
        self.bye_transferor();
    }

    /// The transfer failed with `code`: the agent hears it; the call stays with the
    /// agent, or ends when the agent already left.
    fn transfer_failed(&mut self, now: Instant, code: u16) {
        if self.transfer.as_ref().is_some_and(|t| t.failed) {
            return;
        }
        self.notify_agent(code, false);
        self.rec.route.push(format!("transfer: failed ({code})"));
        if let Some(t) = &mut self.transfer {
            t.failed = true;
        }
        let agent_gone = self.transfer.as_ref().is_some_and(|t| t.agent_gone);
        let done = self.transfer.as_deref().is_none_or(Transfer::is_done);
        if done {
            self.transfer = None;
        }
        if agent_gone {
            self.hang_up_both(EndReason::CalleeHangup, now, "transfer_failed");
        }
    }

    fn release_transfer_modem(&mut self) {
        if let Some(t) = &mut self.transfer {
            if let (false, Some((id, _))) = (t.released, &t.modem) {
                t.released = true;
                let id = id.clone();
                self.push(Action::Release(id));
            }
        }
    }

    /// Hangs up the transfer's modem call (the caller left, or the transfer failed).
    pub(super) fn hang_up_transfer_modem(&mut self) {
        let Some(t) = &mut self.transfer else { return };
        if t.ended {
            return;
        }
        match (t.call, &t.modem) {
            (Some(call), Some((modem, _))) if !t.hangup_wanted => {
                t.hangup_wanted = true;
                let modem = modem.clone();
                self.push(Action::Hangup { modem, call });
            }
            (None, _) if t.dialing => t.hangup_wanted = true,
            (None, _) => {
                t.ended = true;
                self.release_transfer_modem();
            }
            _ => {}
        }
    }

    /// The transfer's modem is back with the router, its call over (or never placed).
    pub(super) fn transfer_done(&self) -> bool {
        self.transfer.as_deref().is_none_or(Transfer::is_done)
    }

    /// Gives back the transfer's lease at the end of the call.
    pub(super) fn finish_transfer(&mut self) {
        self.release_transfer_modem();
    }

    /// The agent hung up while its transfer goes on (a blind transfer's transferor
    /// leaves at once): the transfer continues.
    pub(super) fn agent_left_during_transfer(&mut self, tx: TxId, req: &Request) -> bool {
        if self.transfer.is_none() {
            return false;
        }
        self.reply(tx, req, 200, None);
        if let Some(t) = &mut self.transfer {
            t.agent_gone = true;
        }
        self.mark_agent_ended();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refer(refer_to: &str) -> Request {
        let text = format!(
            "REFER sip:gw@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bKr\r\n\
             From: <sip:agent@127.0.0.1>;tag=a\r\nTo: <sip:x@127.0.0.1>;tag=b\r\nCall-ID: c\r\n\
             CSeq: 2 REFER\r\n{refer_to}Content-Length: 0\r\n\r\n"
        );
        Request::try_from(text.as_str()).expect("parses")
    }

    #[test]
    fn refer_to_names_a_number() {
        let cases = [
            (
                "Refer-To: <sip:+5511987651234@gateway>\r\n",
                Some("+5511987651234"),
            ),
            (
                "Refer-To: sip:5511987651234@10.0.0.1;transport=udp\r\n",
                Some("5511987651234"),
            ),
            ("r: <sip:+5511987651234@gw>\r\n", Some("+5511987651234")),
            ("Refer-To: <sip:alice@gw>\r\n", None),
            ("", None),
        ];
        for (h, want) in cases {
            assert_eq!(
                refer_target(&refer(h)).map(|n| n.to_string()),
                want.map(String::from),
                "{h:?}"
            );
        }
        assert_eq!(sipfrag(486), "SIP/2.0 486 Busy Here");
        assert_eq!(sipfrag(999), "SIP/2.0 503 Service Unavailable");
    }
}
#[cfg(test)]
mod wire_tests {
    #[test]
    fn a_refer_from_the_wire_passes_the_checks() {
        let text = "REFER sip:e173gw@127.0.0.1:47767 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:41230;branch=z9hG4bK-8695-1-5\r\nFrom:  <sip:agent@127.0.0.1:41230>;tag=8695SIPpTag011\r\nTo:  <sip:5511988887777@127.0.0.1>;tag=7bb25d48167600aa\r\nCall-ID: 3005bae871d4802fc1ccc2ef-n1\r\nCSeq: 2 REFER\r\nContact: <sip:agent@127.0.0.1:41230>\r\nRefer-To: <sip:+5511987651234@gateway>\r\nReferred-By: <sip:agent@127.0.0.1:41230>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
        let policy = crate::sip::inbound::Policy {
            allow: vec![crate::sip::Method::Refer],
            supported: vec![],
            loop_branch_prefix: "z9hG4bK-e173gw-n1-".into(),
            limits: Default::default(),
            product: None,
        };
        let r = crate::sip::inbound::from_datagram(text.as_bytes(), &policy, "t");
        match r {
            Ok(crate::sip::inbound::Inbound::Request(req)) => {
                assert!(super::refer_target(&req).is_some(), "{req:?}");
            }
            Ok(other) => panic!("{other:?}"),
            Err(e) => panic!("{e:?}"),
        }
    }
}
