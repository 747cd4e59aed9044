//! The agent side of a call: a UAC leg to the AI voice agent, the caller's SDP relayed,
//! and headers telling the agent why it got the call.

use std::time::Instant;

use crate::record::{Attempt, EndReason};
use crate::routing::AgentTarget;
use crate::sip::dialog::{new_invite, Dialog, Local, NewLeg};
use crate::sip::transaction::{cancel_for, TxId};
use crate::sip::{headers, Method, Request, Response};

use super::state::CallState;
use super::{Action, CallSession, Leg, Timer};

/// What makes an agent leg a leg to a peer node's SIM.
#[derive(Debug, Clone)]
pub(super) struct PeerLeg {
    /// The SIM's routing id (leased; excluded on failure).
    pub(super) id: crate::domain::ModemId,
    /// The peer node.
    pub(super) node: String,
    /// The modem's id there.
    pub(super) modem: String,
}

/// The agent leg (also the leg to a peer node, which is a SIP UAS like the agent).
#[derive(Debug)]
pub(super) struct AgentLeg {
    /// Set for a leg to a peer node's SIM.
    pub(super) peer: Option<PeerLeg>,
    /// The peer SIM's lease was given back.
    released: bool,
    pub(super) call_id: String,
    agent: AgentTarget,
    local: Local,
    invite: Request,
    dialog: Option<Dialog>,
    /// A provisional response came (a CANCEL may be sent).
    provisional: bool,
    answered: bool,
    final_received: bool,
    /// CANCEL as soon as a provisional response comes.
    cancel_wanted: bool,
    cancel_sent: bool,
    bye_sent: bool,
    ended: bool,
    /// The agent's last SDP, for the caller's re-INVITEs.
    pub(super) last_sdp: Option<Vec<u8>>,
}

impl AgentLeg {
    /// Whether the agent leg is over.
    pub(super) fn is_done(&self) -> bool {
        self.ended || (self.final_received && !self.answered)
    }

    /// Whether the agent answered.
    pub(super) fn is_answered(&self) -> bool {
        self.answered
    }

    /// A request in the agent's dialog (NOTIFY, BYE), with `extra` headers and a body.
    fn request(
        &mut self,
        method: Method,
        branch: &str,
        extra: Vec<crate::sip::Header>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Option<(Request, crate::sip::Peer)> {
        if self.ended || self.bye_sent {
            return None;
        }
        let d = self.dialog.as_mut()?;
        let mut req = d.request(method, branch, &self.local);
        req.headers.extend(extra);
        if let Some((ct, b)) = body {
            crate::sip::build::set_body(&mut req.headers, &mut req.body, ct, b);
        }
        Some((req, self.agent.peer))
    }
}

impl CallSession {
    /// A request in the agent's dialog (while it is the call's leg).
    pub(super) fn agent_request(
        &mut self,
        method: Method,
        branch: &str,
        extra: Vec<crate::sip::Header>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Option<(Request, crate::sip::Peer)> {
        match &mut self.leg {
            Leg::Agent(a) => a.request(method, branch, extra, Some((content_type, body))),
            _ => None,
        }
    }

    /// The agent left (its BYE is answered).
    pub(super) fn mark_agent_ended(&mut self) {
        if let Leg::Agent(a) = &mut self.leg {
            a.ended = true;
        }
    }

    /// BYE to the agent whose call was transferred away.
    pub(super) fn bye_transferor(&mut self) {
        let branch = self.ids.branch();
        let Some(a) = &mut self.transferor else {
            return;
        };
        if let Some((req, to)) = a.request(Method::Bye, &branch, Vec::new(), None) {
            a.bye_sent = true;
            self.push(Action::Send { req, to });
        }
    }

    /// Whether a message belongs to the agent's leg after its transfer.
    pub(super) fn is_transferor(&self, h: &crate::sip::Headers) -> bool {
        self.transferor
            .as_ref()
            .is_some_and(|a| headers::call_id(h) == Some(a.call_id.as_str()))
    }

    /// The transferred-away agent's requests and answers: it may only leave.
    pub(super) fn on_transferor(&mut self, tx: Option<TxId>, req: Option<&Request>) {
        if let (Some(tx), Some(req)) = (tx, req) {
            self.reply(tx, req, 200, None);
        }
        let bye = req.is_none_or(|r| r.method == Method::Bye);
        if let (true, Some(a)) = (bye, &mut self.transferor) {
            a.ended = true;
        }
    }

    pub(super) fn start_agent_leg(
        &mut self,
        now: Instant,
        agent: AgentTarget,
        reason: &str,
        peer: Option<PeerLeg>,
        ev: &'static str,
    ) {
        let local = self.local_for(agent.peer.transport);
        let call_id = self.ids.call_id();
        let from_tag = self.ids.tag();
        let branch = self.ids.branch();
        let max_forwards = headers::max_forwards(&self.invite().headers)
            .unwrap_or(70)
            .saturating_sub(1);
        let mut extra = vec![
            (
                "X-E173GW-Reason".to_string(),
                super::screen::one_line(reason),
            ),
            ("X-E173GW-Trunk".to_string(), self.trunk_name.clone()),
            ("X-E173GW-Caller".to_string(), self.caller.clone()),
            ("X-E173GW-Callee".to_string(), self.callee.to_string()),
            ("X-E173GW-Call-ID".to_string(), self.trunk.call_id.clone()),
        ];
        extra.extend(self.screening_headers());
        if let Some(p) = &peer {
            extra.push((
                crate::routing::node::MODEM_HEADER.to_string(),
                p.modem.clone(),
            ));
        }
        let body = (!self.invite().body.is_empty())
            .then(|| ("application/sdp", self.invite().body.clone()));
        let invite = new_invite(
            &NewLeg {
                target: &agent.uri,
                call_id: &call_id,
                from_tag: &from_tag,
                caller: &self.caller,
                from_host: &self.local.host,
                branch: &branch,
                max_forwards,
                body,
                extra: &extra,
            },
            &local,
        );
        self.push(Action::Watch(call_id.clone()));
        self.push(Action::Send {
            req: invite.clone(),
            to: agent.peer,
        });
        self.arm(Timer::AgentAnswer, agent.answer_timeout, now);
        self.leg = Leg::Agent(Box::new(AgentLeg {
            peer,
            released: false,
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
        self.m.call_to(CallState::Connecting, now, ev);
    }

    /// CANCEL before answer (once a provisional came), BYE after.
    pub(super) fn hang_up_agent(&mut self) {
        let branch = self.ids.branch();
        let Leg::Agent(a) = &mut self.leg else { return };
        if a.is_done() {
            return;
        }
        if a.answered {
            if let (false, Some(d)) = (a.bye_sent, &mut a.dialog) {
                a.bye_sent = true;
                let bye = d.request(Method::Bye, &branch, &a.local);
                let to = a.agent.peer;
                self.push(Action::Send { req: bye, to });
            }
        } else if a.provisional && !a.cancel_sent {
            a.cancel_sent = true;
            let cancel = cancel_for(&a.invite);
            let to = a.agent.peer;
            self.push(Action::Send { req: cancel, to });
        } else {
            a.cancel_wanted = true;
        }
    }

    fn ack_agent(&mut self) {
        let branch = self.ids.branch();
        let Leg::Agent(a) = &self.leg else { return };
        if let Some(d) = &a.dialog {
            let ack = d.ack(1, &branch, &a.local);
            let to = a.agent.peer;
            self.push(Action::Ack { ack, to });
        }
    }

    pub(super) fn on_agent_response(&mut self, now: Instant, resp: &Response, ev: &'static str) {
        let Some(cseq) = headers::cseq(&resp.headers) else {
            return;
        };
        let code = resp.status_code.code();
        let Leg::Agent(a) = &mut self.leg else { return };
        match cseq.method.to_ascii_uppercase().as_str() {
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
                if self.caller_gone || self.m.call == CallState::Ending {
                    return;
                }
                let relay = match code {
                    180 | 183 => code,
                    _ if resp.body.is_empty() => 180,
                    _ => 183,
                };
                if relay == 180 {
                    self.rec.alerting_ms.get_or_insert(self.clock.wall_ms(now));
                }
                let body = (!resp.body.is_empty()).then(|| resp.body.clone());
                self.provisional(relay, body, now, ev);
            }
            "INVITE" if code < 300 => {
                if a.answered {
                    // A 2xx again: our ACK was lost.
                    self.ack_agent();
                    return;
                }
                a.answered = true;
                a.final_received = true;
                a.dialog = Dialog::uac(&a.invite, resp, a.agent.peer);
                if !resp.body.is_empty() {
                    a.last_sdp = Some(resp.body.clone());
                }
                let body = a.last_sdp.clone();
                self.disarm(Timer::AgentAnswer);
                self.ack_agent();
                if self.m.call == CallState::Ending || self.trunk.final_status.is_some() {
                    // The caller left while the agent answered: hang the agent up.
                    self.hang_up_agent();
                    self.settle(now, ev);
                } else {
                    self.answer(body, now, ev);
                }
            }
            "INVITE" => {
                a.final_received = true;
                let to_peer = a.peer.is_some();
                self.disarm(Timer::AgentAnswer);
                if self.m.call == CallState::Ending || self.trunk.final_status.is_some() {
                    self.settle(now, ev);
                    return;
                }
                if to_peer && peer_fault(code) {
                    self.peer_failed(format!("peer answered {code}"), now, ev);
                    return;
                }
                let relay = if code < 400 { 480 } else { code };
                self.fail(relay, None, EndReason::Failed, now, ev);
            }
            "BYE" if code >= 200 => {
                a.ended = true;
                self.settle(now, ev);
            }
            _ => {}
        }
    }

    /// A 2xx from the agent after the call's record: ACK and BYE it, so it does not hold a
    /// call nobody is on.
    pub(super) fn agent_answered_too_late(&mut self, resp: &Response) {
        let invite_2xx = (200..300).contains(&resp.status_code.code())
            && headers::cseq(&resp.headers)
                .is_some_and(|c| c.method.eq_ignore_ascii_case("INVITE"));
        let Leg::Agent(a) = &mut self.leg else { return };
        if !invite_2xx {
            return;
        }
        if a.dialog.is_none() {
            a.dialog = Dialog::uac(&a.invite, resp, a.agent.peer);
            a.answered = true;
        }
        self.ack_agent();
        self.hang_up_agent();
    }

    pub(super) fn on_agent_request(
        &mut self,
        now: Instant,
        tx: TxId,
        req: &Request,
        ev: &'static str,
    ) {
        match req.method {
            Method::Refer => self.on_refer(now, tx, req),
            Method::Bye if self.agent_left_during_transfer(tx, req) => {}
            Method::Bye => {
                self.reply(tx, req, 200, None);
                if let Leg::Agent(a) = &mut self.leg {
                    a.ended = true;
                }
                if self.m.call.is_up() {
                    self.end_reason.get_or_insert(EndReason::CalleeHangup);
                    self.m.call_to(CallState::Ending, now, ev);
                    self.bye_trunk();
                    self.arm(Timer::Teardown, self.cfg.teardown_grace, now);
                    self.settle(now, ev);
                } else {
                    self.fail(480, None, EndReason::Failed, now, ev);
                }
            }
            Method::Invite | Method::Update => {
                // The agent refreshes its side: answer with the caller's SDP.
                let sdp = (!self.invite().body.is_empty()).then(|| self.invite().body.clone());
                self.reply(tx, req, 200, sdp);
            }
            _ => self.reply(tx, req, 200, None),
        }
    }

    /// A request to the agent got no final response.
    pub(super) fn on_agent_timeout(&mut self, now: Instant, method: Method, ev: &'static str) {
        let Leg::Agent(a) = &mut self.leg else { return };
        match method {
            Method::Invite => {
                a.final_received = true;
                if !a.answered && self.trunk.final_status.is_none() && a.peer.is_some() {
                    self.peer_failed("peer did not answer the INVITE".into(), now, ev);
                } else if !a.answered && self.trunk.final_status.is_none() {
                    self.fail(408, None, EndReason::Failed, now, ev);
                } else {
                    self.settle(now, ev);
                }
            }
            Method::Bye | Method::Cancel => {
                a.ended = true;
                self.settle(now, ev);
            }
            _ => {}
        }
    }

    /// The agent rang too long: CANCEL it, 480 to the caller.
    pub(super) fn on_agent_no_answer(&mut self, now: Instant, ev: &'static str) {
        let Leg::Agent(a) = &self.leg else { return };
        if a.answered || a.final_received || self.trunk.final_status.is_some() {
            return;
        }
        self.fail(480, None, EndReason::Failed, now, ev);
    }
}

/// Answers of a peer node that are its own trouble, not the callee's: the call moves on.
fn peer_fault(code: u16) -> bool {
    matches!(code, 408 | 500..=599)
}

impl CallSession {
    /// The leg to a peer node's SIM failed before answer for a reason of the peer's own
    /// (it refused with 5xx, timed out, or went down): the call asks for another SIM.
    pub(super) fn peer_failed(&mut self, why: String, now: Instant, ev: &'static str) {
        let Leg::Agent(a) = &mut self.leg else { return };
        let Some(p) = a.peer.clone() else { return };
        if a.answered {
            return;
        }
        a.final_received = true;
        a.ended = true;
        self.disarm(Timer::AgentAnswer);
        self.rec.attempts.push(Attempt {
            modem: p.id.to_string(),
            end: None,
            q850: None,
            detail: why,
        });
        self.failover(now, ev);
    }

    /// A peer node went down: a call on its way there moves on; one it carries ends.
    pub(super) fn on_peer_down(&mut self, node: &str, now: Instant, ev: &'static str) {
        let Leg::Agent(a) = &mut self.leg else { return };
        if a.peer.as_ref().is_none_or(|p| p.node != node) {
            return;
        }
        if a.answered {
            // Nothing to send that way: the leg is over; the caller gets a BYE.
            a.ended = true;
            self.hang_up_both(EndReason::CalleeHangup, now, ev);
        } else {
            self.peer_failed(format!("peer {node} went down"), now, ev);
        }
    }

    /// Gives back the lease of a peer SIM (once).
    pub(super) fn release_peer(&mut self) {
        if let Leg::Agent(a) = &mut self.leg {
            if let (Some(p), false) = (&a.peer, a.released) {
                a.released = true;
                let id = p.id.clone();
                self.push(Action::Release(id));
            }
        }
    }
}
