//! The agent side of a call: a UAC leg to the AI voice agent, the caller's SDP relayed,
//! and headers telling the agent why it got the call.

use actix::prelude::*;
use tracing::{debug, info};

use e173gw_core::record::EndReason;
use e173gw_core::sip::dialog::{new_invite, Dialog, Local, NewLeg};
use e173gw_core::sip::transaction::{cancel_for, TxId};
use e173gw_core::sip::{headers, Method, Request, Response};

use super::actor::{CallActor, Leg, Phase};
use crate::ingress::{RegisterCallId, SendAck};
use crate::routing::AgentTarget;

/// The agent leg.
#[derive(Debug)]
pub(super) struct AgentLeg {
    pub(super) call_id: String,
    agent: AgentTarget,
    local: Local,
    invite: Request,
    dialog: Option<Dialog>,
    provisional: bool,
    pub(super) answered: bool,
    final_received: bool,
    cancel_wanted: bool,
    cancel_sent: bool,
    bye_sent: bool,
    ended: bool,
    /// The agent's last SDP, for the caller's re-INVITEs.
    pub(super) last_sdp: Option<Vec<u8>>,
}

impl AgentLeg {
    /// Whether the agent leg is over.
    pub(super) fn done(&self) -> bool {
        self.ended || (self.final_received && !self.answered)
    }
}

impl CallActor {
    pub(super) fn start_agent_leg(
        &mut self,
        agent: AgentTarget,
        reason: String,
        ctx: &mut Context<Self>,
    ) {
        ctx.run_later(agent.answer_timeout, |act, ctx| {
            let Leg::Agent(a) = &act.leg else { return };
            if !a.answered && !a.final_received && act.final_status.is_none() {
                info!(parent: &act.span, "Agent did not answer in time.");
                act.hang_up_agent();
                act.reject(480, vec![]);
                act.end_reason = Some(EndReason::Failed);
                ctx.run_later(std::time::Duration::from_secs(5), |act, ctx| {
                    act.finish(EndReason::Failed, ctx)
                });
            }
        });
        self.phase = Phase::Setup;
        let local = self.env.local.for_transport(agent.peer.transport);
        let call_id = self.ids.call_id();
        let from_tag = self.ids.tag();
        let branch = self.ids.branch();
        let mf = headers::max_forwards(&self.invite.headers)
            .unwrap_or(70)
            .saturating_sub(1);
        let extra = vec![
            ("X-E173GW-Reason".to_string(), reason.clone()),
            ("X-E173GW-Trunk".to_string(), self.rec.trunk.clone()),
            ("X-E173GW-Caller".to_string(), self.caller().to_string()),
            ("X-E173GW-Callee".to_string(), self.callee().to_string()),
            ("X-E173GW-Call-ID".to_string(), self.call_id.clone()),
        ];
        let body =
            (!self.invite.body.is_empty()).then(|| ("application/sdp", self.invite.body.clone()));
        let invite = new_invite(
            &NewLeg {
                target: &agent.uri,
                call_id: &call_id,
                from_tag: &from_tag,
                caller: self.caller(),
                from_host: &self.env.local.host,
                branch: &branch,
                max_forwards: mf,
                body,
                extra: &extra,
            },
            &local,
        );
        info!(parent: &self.span, agent = %agent.uri, reason = %reason, "Sending the call to the agent.");
        self.env.ingress.do_send(RegisterCallId {
            call: self.key,
            call_id: call_id.clone(),
        });
        self.send_request(invite.clone(), agent.peer);
        self.leg = Leg::Agent(Box::new(AgentLeg {
            call_id,
            agent,
            local,
            invite,
            dialog: None,
            provisional: false,
            answered: false,
            final_received: false,
            cancel_wanted: false,
            cancel_sent: false,
            bye_sent: false,
            ended: false,
            last_sdp: None,
        }));
    }

    /// CANCEL before answer (once a provisional came), BYE after.
    pub(super) fn hang_up_agent(&mut self) {
        let branch = self.ids.branch();
        let Leg::Agent(a) = &mut self.leg else { return };
        if a.ended || a.final_received && !a.answered {
            return;
        }
        if a.answered {
            if !a.bye_sent {
                if let Some(d) = &mut a.dialog {
                    a.bye_sent = true;
                    let bye = d.request(Method::Bye, &branch, &a.local);
                    let to = a.agent.peer;
                    self.send_request(bye, to);
                }
            }
        } else if a.provisional && !a.cancel_sent {
            a.cancel_sent = true;
            let cancel = cancel_for(&a.invite);
            let to = a.agent.peer;
            self.send_request(cancel, to);
        } else {
            a.cancel_wanted = true;
        }
    }

    fn ack_agent(&mut self) {
        let branch = self.ids.branch();
        let Leg::Agent(a) = &self.leg else { return };
        if let Some(d) = &a.dialog {
            let ack = d.ack(1, &branch, &a.local);
            self.env.ingress.do_send(SendAck {
                ack,
                to: a.agent.peer,
            });
        }
    }

    pub(super) fn on_agent_response(&mut self, resp: Response, ctx: &mut Context<Self>) {
        let method = headers::cseq(&resp.headers)
            .map(|c| c.method.to_ascii_uppercase())
            .unwrap_or_default();
        let code = resp.status_code.code();
        let Leg::Agent(a) = &mut self.leg else { return };
        match method.as_str() {
            "INVITE" if code == 100 => {}
            "INVITE" if code < 200 => {
                a.provisional = true;
                if !resp.body.is_empty() {
                    a.last_sdp = Some(resp.body.clone());
                }
                if a.cancel_wanted {
                    self.hang_up_agent();
                    return;
                }
                let relay = if code == 180 || code == 183 {
                    code
                } else if resp.body.is_empty() {
                    180
                } else {
                    183
                };
                let body = (!resp.body.is_empty()).then(|| resp.body.clone());
                if relay == 180 {
                    self.rec
                        .alerting_ms
                        .get_or_insert_with(super::record::wall_ms);
                }
                self.provisional(relay, body);
            }
            "INVITE" if code < 300 => {
                if a.answered {
                    // A retransmitted 2xx: our ACK was lost.
                    self.ack_agent();
                    return;
                }
                a.answered = true;
                a.final_received = true;
                a.dialog = Dialog::uac(&a.invite, &resp, a.agent.peer);
                if !resp.body.is_empty() {
                    a.last_sdp = Some(resp.body.clone());
                }
                let body = a.last_sdp.clone();
                self.ack_agent();
                if self.cancelled || self.phase == Phase::Ending {
                    // The caller left while the agent answered: hang the agent up.
                    self.hang_up_agent();
                } else {
                    self.answer(body, ctx);
                }
            }
            "INVITE" => {
                a.final_received = true;
                if self.cancelled || self.final_status.is_some() {
                    let why = self.end_reason.unwrap_or(EndReason::Cancelled);
                    self.finish(why, ctx);
                    return;
                }
                info!(parent: &self.span, status = code, "Agent refused the call.");
                let relay = if code < 400 { 480 } else { code };
                self.fail(relay, None, EndReason::Failed, ctx);
            }
            "BYE" if code >= 200 => {
                a.ended = true;
                self.after_agent_ended(ctx);
            }
            _ => {
                debug!(parent: &self.span, method = %method, status = code, "Agent response ignored.")
            }
        }
    }

    fn after_agent_ended(&mut self, ctx: &mut Context<Self>) {
        if self.trunk_bye
            || self.trunk_dialog.is_none()
            || self.end_reason == Some(EndReason::CallerHangup)
        {
            let why = self.end_reason.unwrap_or(EndReason::CalleeHangup);
            if !self.trunk_bye || self.end_reason == Some(EndReason::CallerHangup) {
                self.finish(why, ctx);
            } else {
                self.trunk_callee_done(ctx);
            }
        }
    }

    pub(super) fn on_agent_request(&mut self, tx: TxId, req: Request, ctx: &mut Context<Self>) {
        match req.method {
            Method::Bye => {
                self.reply(tx, &req, 200, None);
                if let Leg::Agent(a) = &mut self.leg {
                    a.ended = true;
                }
                info!(parent: &self.span, "Agent hung up.");
                self.end_reason.get_or_insert(EndReason::CalleeHangup);
                self.phase = Phase::Ending;
                if self.trunk_dialog.is_some() {
                    self.bye_trunk();
                    ctx.run_later(std::time::Duration::from_secs(5), |act, ctx| {
                        act.finish(EndReason::CalleeHangup, ctx)
                    });
                } else {
                    self.fail(480, None, EndReason::Failed, ctx);
                }
            }
            Method::Invite | Method::Update => {
                // The agent refreshes its side; answer with the caller's SDP.
                let sdp = (!self.invite.body.is_empty()).then(|| self.invite.body.clone());
                self.reply(tx, &req, 200, sdp);
            }
            _ => self.reply(tx, &req, 200, None),
        }
    }
}
