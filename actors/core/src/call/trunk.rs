//! The caller's side: responses to the INVITE, CANCEL, ACK, BYE, re-INVITE and UPDATE.

use std::time::Instant;

use crate::record::EndReason;
use crate::sip::build::{self, header};
use crate::sip::dialog::{Dialog, Local};
use crate::sip::transaction::TxId;
use crate::sip::{headers, Method, Peer, Request, Response};

use super::state::{CallState, DialogState};
use super::{Action, CallSession, Leg, Timer};

/// The caller's leg (we are its UAS).
#[derive(Debug)]
pub(super) struct TrunkLeg {
    pub(super) invite: Request,
    pub(super) tx: TxId,
    pub(super) source: Peer,
    pub(super) local: Local,
    pub(super) call_id: String,
    pub(super) to_tag: String,
    /// Final status sent to the INVITE.
    pub(super) final_status: Option<u16>,
    /// 183 with our SDP sent (early media from the modem).
    pub(super) early_media: bool,
    /// 180 sent.
    pub(super) ringing: bool,
    /// The dialog, once our 2xx went out.
    pub(super) dialog: Option<Dialog>,
    /// Our BYE to the caller is out.
    pub(super) bye_sent: bool,
    /// ... and answered (or timed out).
    pub(super) bye_done: bool,
    /// The caller sent BYE.
    pub(super) caller_bye: bool,
}

/// What we allow in the caller's dialog.
const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO";

impl CallSession {
    fn response(&self, code: u16) -> Response {
        let t = &self.trunk;
        let mut r = build::response(&t.invite, code, Some(&t.to_tag));
        if (101..300).contains(&code) {
            r.headers
                .push(header("Contact", format!("<{}>", t.local.contact)));
        }
        r
    }

    /// A provisional response to the INVITE (with SDP for early media).
    pub(super) fn provisional(
        &mut self,
        code: u16,
        sdp: Option<Vec<u8>>,
        now: Instant,
        ev: &'static str,
    ) {
        if self.trunk.final_status.is_some() {
            return;
        }
        let mut r = self.response(code);
        if let Some(body) = sdp {
            build::set_body(&mut r.headers, &mut r.body, "application/sdp", body);
        }
        let tx = self.trunk.tx;
        self.push(Action::Respond { tx, resp: r });
        self.m.dialog_to(DialogState::Early, now, ev);
        if matches!(self.m.call, CallState::Routing | CallState::Connecting) {
            self.m.call_to(CallState::Early, now, ev);
        }
    }

    /// 200 OK to the INVITE: the call is answered.
    pub(super) fn answer(&mut self, sdp: Option<Vec<u8>>, now: Instant, ev: &'static str) {
        if self.trunk.final_status.is_some() {
            return;
        }
        let mut r = self.response(200);
        if let Some(body) = sdp {
            build::set_body(&mut r.headers, &mut r.body, "application/sdp", body);
        }
        let tx = self.trunk.tx;
        self.push(Action::Respond { tx, resp: r });
        self.trunk.final_status = Some(200);
        self.rec.sip_status = Some(200);
        self.rec.answered_ms = Some(self.wall_ms(now));
        self.trunk.dialog = Dialog::uas(&self.trunk.invite, &self.trunk.to_tag, self.trunk.source);
        self.m.dialog_to(DialogState::Confirmed, now, ev);
        self.m.call_to(CallState::Answered, now, ev);
        let max = match self.rec.max_call {
            Some(m) if matches!(self.leg, Leg::Modem(_)) => m.min(self.cfg.max_duration),
            _ => self.cfg.max_duration,
        };
        self.arm(Timer::MaxDuration, max, now);
    }

    /// A final error response to the INVITE (once), with a `Reason` header when given.
    pub(super) fn reject(
        &mut self,
        code: u16,
        reason: Option<String>,
        now: Instant,
        ev: &'static str,
    ) {
        let mut extra = Vec::new();
        if let Some(reason) = reason {
            extra.push(header("Reason", reason));
        }
        if let (503, Some(s)) = (code, self.retry_after_s) {
            extra.push(header("Retry-After", s.to_string()));
        }
        self.reject_with(code, extra, now, ev);
    }

    /// A final non-2xx response to the INVITE (once) with these extra headers.
    pub(super) fn reject_with(
        &mut self,
        code: u16,
        extra: Vec<crate::sip::Header>,
        now: Instant,
        ev: &'static str,
    ) {
        if self.trunk.final_status.is_some() {
            return;
        }
        let mut r = self.response(code);
        r.headers.extend(extra);
        let tx = self.trunk.tx;
        self.push(Action::Respond { tx, resp: r });
        self.trunk.final_status = Some(code);
        self.rec.sip_status = Some(code);
        self.m.dialog_to(DialogState::Terminated, now, ev);
    }

    /// Answers a request in one of the call's dialogs.
    pub(super) fn reply(&mut self, tx: TxId, req: &Request, code: u16, sdp: Option<Vec<u8>>) {
        let mut r = build::response(req, code, Some(&self.trunk.to_tag));
        match code {
            405 => r.headers.push(header("Allow", ALLOW)),
            500 => r.headers.push(header("Retry-After", "2")),
            _ => {}
        }
        if let Some(body) = sdp {
            r.headers
                .push(header("Contact", format!("<{}>", self.trunk.local.contact)));
            build::set_body(&mut r.headers, &mut r.body, "application/sdp", body);
        }
        self.push(Action::Respond { tx, resp: r });
    }

    /// BYE to the caller (once, after our 2xx).
    pub(super) fn bye_trunk(&mut self) {
        if self.trunk.bye_sent || self.trunk.caller_bye {
            return;
        }
        let branch = self.ids.branch();
        let t = &mut self.trunk;
        if let Some(d) = &mut t.dialog {
            let bye = d.request(Method::Bye, &branch, &t.local);
            let to = d.peer;
            t.bye_sent = true;
            self.push(Action::Send { req: bye, to });
        }
    }

    /// Whether the caller's side is over.
    pub(super) fn trunk_done(&self) -> bool {
        let t = &self.trunk;
        match t.final_status {
            Some(c) if (200..300).contains(&c) => t.bye_done || t.caller_bye,
            Some(_) => true,
            None => false,
        }
    }

    /// The caller cancelled: 487 to the INVITE (the CANCEL is answered by the transaction
    /// layer), then the callee leg is torn down. A CANCEL after the final response does
    /// nothing (RFC 3261 §9.2): the caller ACKs and BYEs.
    pub(super) fn on_cancel(&mut self, now: Instant, ev: &'static str) {
        if self.trunk.final_status.is_some() {
            return;
        }
        self.caller_gone = true;
        self.end_reason.get_or_insert(EndReason::Cancelled);
        self.reject(487, None, now, ev);
        self.m.call_to(CallState::Ending, now, ev);
        self.hang_up_callee();
        self.arm(Timer::Teardown, self.cfg.teardown_grace, now);
        self.settle(now, ev);
    }

    /// The caller's ACK for our 2xx (it carries the SDP answer when we offered).
    pub(super) fn on_ack(&mut self, now: Instant, req: &Request, ev: &'static str) {
        if self.m.call != CallState::Answered {
            return;
        }
        self.m.call_to(CallState::Confirmed, now, ev);
        let Some(m) = &mut self.media else { return };
        if req.body.is_empty() || !m.awaits_answer() {
            return;
        }
        match m.take_answer(&req.body) {
            Ok(n) => self.push(Action::ConfigureMedia(n)),
            // The answer cannot be used: the call cannot carry audio (RFC 3261 §13.2.1).
            Err(_) => self.hang_up_both(EndReason::Failed, now, ev),
        }
    }

    /// A request in the caller's dialog.
    pub(super) fn on_trunk_request(
        &mut self,
        now: Instant,
        tx: TxId,
        req: &Request,
        ev: &'static str,
    ) {
        let seq = headers::cseq(&req.headers).map_or(0, |c| c.seq);
        if let Some(d) = &mut self.trunk.dialog {
            if !d.accept_remote_cseq(&req.method, seq) {
                self.reply(tx, req, 500, None);
                return;
            }
        }
        match req.method {
            Method::Bye => self.on_trunk_bye(now, tx, req, ev),
            // The call is hanging up: its dialog is going away.
            _ if self.m.call == CallState::Ending => self.reply(tx, req, 481, None),
            // A re-INVITE before our 2xx to the first INVITE (RFC 3261 §14.2).
            Method::Invite if self.trunk.final_status.is_none() => {
                self.reply(tx, req, 500, None);
            }
            Method::Invite | Method::Update => self.on_offer(now, tx, req, ev),
            Method::Info | Method::Options => self.reply(tx, req, 200, None),
            _ => self.reply(tx, req, 405, None),
        }
    }

    fn on_trunk_bye(&mut self, now: Instant, tx: TxId, req: &Request, ev: &'static str) {
        self.reply(tx, req, 200, None);
        self.trunk.caller_bye = true;
        if self.trunk.final_status.is_none() {
            // BYE on the early dialog: the INVITE ends too (RFC 3261 §15.1.2), and the
            // caller gave up before answer.
            self.caller_gone = true;
            self.end_reason.get_or_insert(EndReason::Cancelled);
            self.reject(487, None, now, ev);
        }
        self.end_reason.get_or_insert(EndReason::CallerHangup);
        self.m.call_to(CallState::Ending, now, ev);
        self.m.dialog_to(DialogState::Terminated, now, ev);
        self.hang_up_callee();
        self.arm(Timer::Teardown, self.cfg.teardown_grace, now);
        self.settle(now, ev);
    }

    /// re-INVITE or UPDATE from the caller: hold, unhold, a new address. Modem calls answer
    /// from their SDP; agent calls with the agent's last SDP (the agent keeps its own
    /// media); a request without an offer gets our current SDP.
    fn on_offer(&mut self, _now: Instant, tx: TxId, req: &Request, _ev: &'static str) {
        if let Some(d) = &mut self.trunk.dialog {
            d.refresh_target(&req.headers);
        }
        if let Some(m) = &mut self.media {
            if req.body.is_empty() {
                let sdp = m.sdp();
                self.reply(tx, req, 200, sdp);
                return;
            }
            match m.answer(&req.body) {
                Ok((sdp, n)) => {
                    self.push(Action::ConfigureMedia(n));
                    self.reply(tx, req, 200, Some(sdp));
                }
                Err(_) => self.reply(tx, req, 488, None),
            }
            return;
        }
        let sdp = match &self.leg {
            Leg::Agent(a) => a.last_sdp.clone(),
            _ => None,
        };
        if sdp.is_none() && !req.body.is_empty() {
            // An offer nobody can answer yet.
            self.reply(tx, req, 488, None);
        } else {
            self.reply(tx, req, 200, sdp);
        }
    }

    /// A response to a request we sent the caller (our BYE).
    pub(super) fn on_trunk_response(&mut self, now: Instant, resp: &Response, ev: &'static str) {
        let is_bye =
            headers::cseq(&resp.headers).is_some_and(|c| c.method.eq_ignore_ascii_case("BYE"));
        if is_bye && resp.status_code.code() >= 200 && self.trunk.bye_sent {
            self.trunk.bye_done = true;
            self.settle(now, ev);
        }
    }

    /// Our BYE to the caller got no answer: the caller's side is over anyway.
    pub(super) fn on_trunk_timeout(&mut self, now: Instant, method: Method, ev: &'static str) {
        if method == Method::Bye && self.trunk.bye_sent {
            self.trunk.bye_done = true;
            self.settle(now, ev);
        }
    }
}
