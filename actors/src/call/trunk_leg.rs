//! The caller's side: CANCEL, ACK, BYE, re-INVITE/UPDATE (hold and unhold), INFO.

use actix::prelude::*;
use tracing::{debug, info};

use e173gw_core::record::EndReason;
use e173gw_core::sip::transaction::TxId;
use e173gw_core::sip::{headers, Method, Peer, Request, Response};

use super::actor::{CallActor, Leg, Phase};

impl CallActor {
    /// The caller cancelled: 487 to the INVITE (the CANCEL is answered by the transaction
    /// layer), then the callee leg is torn down; the record follows when it confirms.
    pub(super) fn on_cancel(&mut self, ctx: &mut Context<Self>) {
        if self.final_status.is_some() {
            return;
        }
        info!(parent: &self.span, "Caller cancelled.");
        self.cancelled = true;
        self.end_reason = Some(EndReason::Cancelled);
        self.reject(487, vec![]);
        match self.phase {
            Phase::Routing => {} // the route decision finishes the call
            _ => match &self.leg {
                Leg::None => self.finish(EndReason::Cancelled, ctx),
                _ => {
                    self.hang_up_callee(ctx);
                    // If the callee never confirms, finish anyway.
                    ctx.run_later(std::time::Duration::from_secs(5), |act, ctx| {
                        act.finish(EndReason::Cancelled, ctx)
                    });
                }
            },
        }
    }

    /// The caller's ACK for our 200 (late offers carry the SDP answer here).
    pub(super) fn on_trunk_ack(&mut self, req: Request) {
        if !req.body.is_empty() {
            if let Some(m) = &mut self.media {
                if let Err(e) = m.take_answer(&req.body) {
                    debug!(parent: &self.span, error = %e, "SDP answer in ACK not usable.");
                }
            }
        }
    }

    /// A request in the caller's dialog.
    pub(super) fn on_trunk_request(
        &mut self,
        tx: TxId,
        req: Request,
        _from: Peer,
        ctx: &mut Context<Self>,
    ) {
        let seq = headers::cseq(&req.headers).map_or(0, |c| c.seq);
        if let Some(d) = &mut self.trunk_dialog {
            if !d.accept_remote_cseq(&req.method, seq) {
                self.reply(tx, &req, 500, None);
                return;
            }
        }
        match req.method {
            Method::Bye => {
                self.reply(tx, &req, 200, None);
                if self.final_status.is_none() {
                    // BYE before our final response (RFC 3261 §15): end the INVITE too.
                    self.reject(487, vec![]);
                }
                info!(parent: &self.span, "Caller hung up.");
                self.end_reason.get_or_insert(EndReason::CallerHangup);
                self.phase = Phase::Ending;
                self.hang_up_callee(ctx);
                if matches!(self.leg, Leg::None) {
                    self.finish(EndReason::CallerHangup, ctx);
                } else {
                    ctx.run_later(std::time::Duration::from_secs(5), |act, ctx| {
                        act.finish(EndReason::CallerHangup, ctx)
                    });
                }
            }
            Method::Invite | Method::Update => self.on_reinvite(tx, req),
            Method::Info | Method::Options => self.reply(tx, &req, 200, None),
            _ => self.reply(tx, &req, 405, None),
        }
    }

    /// re-INVITE or UPDATE from the caller: hold, unhold, new address. Modem calls answer
    /// from the media session; agent calls answer with the agent's last SDP (the agent
    /// keeps its own media; the call goes on either way).
    fn on_reinvite(&mut self, tx: TxId, req: Request) {
        if let Some(d) = &mut self.trunk_dialog {
            d.refresh_target(&req.headers);
        }
        let sdp = match (&mut self.media, &self.leg) {
            (Some(m), _) => {
                if req.body.is_empty() {
                    m.sdp().map(String::into_bytes)
                } else {
                    match m.answer_offer(&req.body) {
                        Ok(sdp) => {
                            let hold = m.on_hold();
                            info!(parent: &self.span, hold, "Media updated.");
                            Some(sdp.into_bytes())
                        }
                        Err(e) => {
                            debug!(parent: &self.span, error = %e, "re-INVITE offer not acceptable.");
                            self.reply(tx, &req, 488, None);
                            return;
                        }
                    }
                }
            }
            (None, Leg::Agent(a)) => a.last_sdp.clone(),
            _ => None,
        };
        self.reply(tx, &req, 200, sdp);
    }

    /// A response to a request we sent the caller (our BYE).
    pub(super) fn on_trunk_response(&mut self, resp: Response, ctx: &mut Context<Self>) {
        let is_bye =
            headers::cseq(&resp.headers).is_some_and(|c| c.method.eq_ignore_ascii_case("BYE"));
        if is_bye && resp.status_code.code() >= 200 && self.trunk_bye {
            self.trunk_callee_done(ctx);
        }
    }

    /// Our BYE to the caller is confirmed (or timed out): finish once the callee leg is
    /// done too.
    pub(super) fn trunk_callee_done(&mut self, ctx: &mut Context<Self>) {
        let callee_done = match &self.leg {
            Leg::Modem(m) => m.ended,
            Leg::Agent(a) => a.done(),
            Leg::None => true,
        };
        if callee_done {
            let why = self.end_reason.unwrap_or(EndReason::CalleeHangup);
            self.finish(why, ctx);
        }
    }

    /// A client transaction of ours got no answer.
    pub(super) fn on_timeout(&mut self, _tx: TxId, ctx: &mut Context<Self>) {
        if let Leg::Agent(a) = &self.leg {
            if !a.answered && self.final_status.is_none() {
                info!(parent: &self.span, "Agent did not answer.");
                self.rec.sip_status = Some(408);
                self.fail(408, None, EndReason::Failed, ctx);
                return;
            }
        }
        if self.phase == Phase::Ending {
            let why = self.end_reason.unwrap_or(EndReason::CallerLost);
            self.finish(why, ctx);
        }
    }
}
