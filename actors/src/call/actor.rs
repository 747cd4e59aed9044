//! The call actor's state, lifecycle and the steps shared by both kinds of leg.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tracing::{debug, info, info_span, warn, Span};

use e173gw_core::config::sip::Target;
use e173gw_core::record::{EndReason, RecordTarget};
use e173gw_core::sip::build::{self, header};
use e173gw_core::sip::dialog::{Dialog, Local};
use e173gw_core::sip::ids::IdGen;
use e173gw_core::sip::transaction::TxId;
use e173gw_core::sip::{headers, Header, Method, Peer, Request};

use super::agent_leg::AgentLeg;
use super::media::MediaSession;
use super::modem_leg::ModemLeg;
use super::record::{wall_ms, Draft};
use super::{CallEnv, NewCall};
use crate::ingress::{CallFinished, CallIn, Respond, SendRequest};
use crate::routing::{Release, RouteDecision, RouteRequest};

/// Where the call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Waiting for the router.
    Routing,
    /// A leg is being set up.
    Setup,
    /// Answered.
    Answered,
    /// Tearing down; the record follows.
    Ending,
}

/// The callee side.
#[derive(Debug)]
pub(super) enum Leg {
    None,
    Modem(ModemLeg),
    Agent(Box<AgentLeg>),
}

/// One call. See the module docs.
pub(crate) struct CallActor {
    pub(super) env: Arc<CallEnv>,
    pub(super) key: u64,
    pub(super) ids: IdGen,
    pub(super) invite: Request,
    pub(super) invite_tx: TxId,
    pub(super) source: Peer,
    pub(super) local: Local,
    pub(super) call_id: String,
    pub(super) to_tag: String,
    pub(super) target: Target,
    pub(super) span: Span,
    pub(super) phase: Phase,
    /// Final status sent to the caller's INVITE.
    pub(super) final_status: Option<u16>,
    pub(super) early_media_sent: bool,
    pub(super) ringing_sent: bool,
    pub(super) trunk_dialog: Option<Dialog>,
    /// Our BYE to the caller is out.
    pub(super) trunk_bye: bool,
    pub(super) leg: Leg,
    pub(super) media: Option<MediaSession>,
    pub(super) exclude: Vec<String>,
    pub(super) rec: Draft,
    pub(super) end_reason: Option<EndReason>,
    pub(super) cancelled: bool,
    pub(super) recorded: bool,
}

impl std::fmt::Debug for CallActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallActor")
            .field("call_id", &self.call_id)
            .field("phase", &self.phase)
            .finish()
    }
}

/// The called number: the Request-URI's user, else the To URI's.
pub(crate) fn callee_of(req: &Request) -> String {
    headers::uri_user(&req.uri.to_string())
        .or_else(|| {
            headers::to(&req.headers).and_then(|t| headers::uri_user(headers::name_addr_uri(t)))
        })
        .unwrap_or_default()
}

/// The calling number: P-Asserted-Identity, else From.
pub(crate) fn caller_of(req: &Request) -> String {
    let pai = req.headers.iter().find_map(|h| match h {
        Header::PAssertedIdentity(p) => Some(p.value().to_string()),
        _ => None,
    });
    pai.as_deref()
        .or_else(|| headers::from(&req.headers))
        .and_then(|v| headers::uri_user(headers::name_addr_uri(v)))
        .unwrap_or_else(|| "anonymous".into())
}

impl CallActor {
    pub(super) fn new(env: Arc<CallEnv>, new: NewCall) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut ids = IdGen::new(
            seed ^ new.key.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            &env.seed.node_id,
        );
        let call_id = headers::call_id(&new.invite.headers)
            .unwrap_or_default()
            .to_string();
        let (caller, callee) = (caller_of(&new.invite), callee_of(&new.invite));
        let span = info_span!("call", call_id = %call_id, modem = tracing::field::Empty, trunk = %new.trunk);
        let local = env.local.for_transport(new.from.transport);
        let rec = Draft::new(&call_id, &new.trunk, &caller, &callee, new.received_ms);
        Self {
            to_tag: ids.tag(),
            ids,
            key: new.key,
            invite_tx: new.tx,
            source: new.from,
            local,
            call_id,
            target: new.target,
            span,
            phase: Phase::Routing,
            final_status: None,
            early_media_sent: false,
            ringing_sent: false,
            trunk_dialog: None,
            trunk_bye: false,
            leg: Leg::None,
            media: None,
            exclude: Vec::new(),
            rec,
            end_reason: None,
            cancelled: false,
            recorded: false,
            invite: new.invite,
            env,
        }
    }

    pub(super) fn callee(&self) -> &str {
        &self.rec.callee
    }

    pub(super) fn caller(&self) -> &str {
        &self.rec.caller
    }

    // === talking to the caller ===

    fn response(&self, code: u16) -> e173gw_core::sip::Response {
        let mut r = build::response(&self.invite, code, Some(&self.to_tag));
        if (101..300).contains(&code) {
            r.headers
                .push(header("Contact", format!("<{}>", self.local.contact)));
        }
        r
    }

    /// A provisional response to the INVITE, with an SDP body when given.
    pub(super) fn provisional(&mut self, code: u16, sdp: Option<Vec<u8>>) {
        if self.final_status.is_some() {
            return;
        }
        let mut r = self.response(code);
        if let Some(body) = sdp {
            build::set_body(&mut r.headers, &mut r.body, "application/sdp", body);
        }
        self.env.ingress.do_send(Respond {
            tx: self.invite_tx,
            resp: r,
        });
    }

    /// 200 OK to the INVITE with our (or the agent's) SDP; the call is answered.
    pub(super) fn answer(&mut self, sdp: Option<Vec<u8>>, ctx: &mut Context<Self>) {
        if self.final_status.is_some() {
            return;
        }
        let mut r = self.response(200);
        if let Some(body) = sdp {
            build::set_body(&mut r.headers, &mut r.body, "application/sdp", body);
        }
        self.env.ingress.do_send(Respond {
            tx: self.invite_tx,
            resp: r,
        });
        self.final_status = Some(200);
        self.rec.sip_status = Some(200);
        self.rec.answered_ms = Some(wall_ms());
        self.trunk_dialog = Dialog::uas(&self.invite, &self.to_tag, self.source);
        self.phase = Phase::Answered;
        info!(parent: &self.span, "Call answered.");
        let max = self.env.max_duration;
        ctx.run_later(max, |act, ctx| {
            if act.phase == Phase::Answered {
                info!(parent: &act.span, max_s = act.env.max_duration.as_secs(), "Maximum call duration reached.");
                act.hang_up_both(EndReason::MaxDuration, ctx);
            }
        });
    }

    /// A final error response to the INVITE (once).
    pub(super) fn reject(&mut self, code: u16, extra: Vec<Header>) {
        if self.final_status.is_some() {
            return;
        }
        let mut r = self.response(code);
        for h in extra {
            r.headers.push(h);
        }
        self.env.ingress.do_send(Respond {
            tx: self.invite_tx,
            resp: r,
        });
        self.final_status = Some(code);
        self.rec.sip_status = Some(code);
    }

    /// Answers a request in the caller's dialog.
    pub(super) fn reply(&self, tx: TxId, req: &Request, code: u16, sdp: Option<Vec<u8>>) {
        let mut r = build::response(req, code, Some(&self.to_tag));
        if let Some(body) = sdp {
            r.headers
                .push(header("Contact", format!("<{}>", self.local.contact)));
            build::set_body(&mut r.headers, &mut r.body, "application/sdp", body);
        }
        self.env.ingress.do_send(Respond { tx, resp: r });
    }

    /// Sends a request in a new client transaction (responses come back as `CallIn`).
    pub(super) fn send_request(&self, req: Request, to: Peer) {
        self.env.ingress.do_send(SendRequest {
            call: self.key,
            req,
            to,
        });
    }

    /// BYE to the caller (after answer).
    pub(super) fn bye_trunk(&mut self) {
        if self.trunk_bye {
            return;
        }
        let branch = self.ids.branch();
        if let Some(d) = &mut self.trunk_dialog {
            let bye = d.request(Method::Bye, &branch, &self.local);
            let to = d.peer;
            self.trunk_bye = true;
            self.send_request(bye, to);
        }
    }

    // === routing ===

    pub(super) fn route(&mut self, ctx: &mut Context<Self>) {
        self.phase = Phase::Routing;
        let sticky = (self.target == Target::Modems
            && self.exclude.is_empty()
            && self.env.seed.sticky_ttl.is_some())
        .then(|| self.env.seed.stores.sticky.clone());
        let callee = self.callee().to_string();
        let router = self.env.seed.router.clone();
        let target = self.target;
        let exclude = self.exclude.clone();
        async move {
            // A sticky route is a preference only: any storage trouble just skips it.
            let prefer = match sticky {
                Some(s) => s
                    .get(&callee, super::record::wall_ms())
                    .await
                    .ok()
                    .flatten()
                    .map(|r| r.target),
                None => None,
            };
            router
                .send(RouteRequest {
                    target,
                    exclude,
                    prefer,
                })
                .await
        }
        .into_actor(self)
        .map(|res, act, ctx| match res {
            Ok(d) => act.on_route(d, ctx),
            Err(e) => {
                warn!(parent: &act.span, error = %e, "Router unavailable.");
                act.fail(503, None, EndReason::NoRoute, ctx);
            }
        })
        .wait(ctx);
    }

    fn on_route(&mut self, d: RouteDecision, ctx: &mut Context<Self>) {
        if self.cancelled {
            if let RouteDecision::Modem { id, .. } = d {
                self.env.seed.release.do_send(Release { modem: id });
            }
            self.finish(EndReason::Cancelled, ctx);
            return;
        }
        self.rec.routed_ms.get_or_insert_with(wall_ms);
        match d {
            RouteDecision::Modem { id, addr, identity } => {
                self.start_modem_leg(id, addr, identity, ctx)
            }
            RouteDecision::Agent { agent, reason } => {
                self.rec.target = RecordTarget::Agent {
                    uri: agent.uri.clone(),
                };
                self.start_agent_leg(agent, reason, ctx);
            }
            RouteDecision::Reject { status, reason } => {
                info!(parent: &self.span, status, reason = %reason, "No route.");
                let why = if self.exclude.is_empty() {
                    EndReason::NoRoute
                } else {
                    EndReason::Failed
                };
                self.fail(status, None, why, ctx);
            }
        }
    }

    // === ending ===

    /// Rejects the INVITE (if not answered yet) and ends the call.
    pub(super) fn fail(
        &mut self,
        code: u16,
        reason_hdr: Option<String>,
        why: EndReason,
        ctx: &mut Context<Self>,
    ) {
        let extra = reason_hdr
            .map(|r| vec![header("Reason", r)])
            .unwrap_or_default();
        self.reject(code, extra);
        self.finish(why, ctx);
    }

    /// Hangs up both sides after answer (max duration, caller lost, shutdown).
    pub(super) fn hang_up_both(&mut self, why: EndReason, ctx: &mut Context<Self>) {
        self.end_reason.get_or_insert(why);
        self.phase = Phase::Ending;
        self.bye_trunk();
        self.hang_up_callee(ctx);
        // Give the legs a moment to confirm; the record is written either way.
        ctx.run_later(Duration::from_secs(5), move |act, ctx| act.finish(why, ctx));
    }

    /// Ends the callee leg (modem hang-up, agent CANCEL or BYE).
    pub(super) fn hang_up_callee(&mut self, ctx: &mut Context<Self>) {
        match &self.leg {
            Leg::Modem(_) => self.hang_up_modem(ctx),
            Leg::Agent(_) => self.hang_up_agent(),
            Leg::None => {}
        }
    }

    /// Writes the record, releases everything and stops. Runs once.
    pub(super) fn finish(&mut self, why: EndReason, ctx: &mut Context<Self>) {
        if self.recorded {
            return;
        }
        self.recorded = true;
        self.phase = Phase::Ending;
        let why = self.end_reason.unwrap_or(why);
        if self.final_status.is_none() {
            // Every path should have answered by now; never leave the caller hanging.
            let code = if why == EndReason::Cancelled {
                487
            } else {
                500
            };
            self.reject(code, vec![]);
        }
        if let Leg::Modem(m) = &self.leg {
            self.env.seed.release.do_send(Release {
                modem: m.id.clone(),
            });
        }
        let record = self.rec.finish(why);
        info!(
            parent: &self.span,
            status = record.sip_status,
            end = ?record.end_reason,
            talk_ms = record.talk_ms,
            "Call finished."
        );
        super::usage::account(&self.env, &record);
        if let Err(e) = self.env.seed.records.record(record) {
            warn!(parent: &self.span, error = %e, "Call record not journaled.");
        }
        // Let retransmissions of the last responses reach us for a while, then forget.
        let ingress = self.env.ingress.clone();
        let key = self.key;
        self.media = None;
        ctx.run_later(Duration::from_secs(2), move |_, ctx| {
            ingress.do_send(CallFinished { call: key });
            ctx.stop();
        });
    }
}

impl Actor for CallActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        debug!(parent: &self.span, caller = %self.caller(), callee = %self.callee(), "New call.");
        if self.callee().is_empty() {
            self.fail(484, None, EndReason::Rejected, ctx);
            return;
        }
        // A call can never outlive this, whatever goes wrong.
        let hard = self.env.max_duration + Duration::from_secs(300);
        ctx.run_later(hard, |act, ctx| {
            if !act.recorded {
                warn!(parent: &act.span, "Call overstayed; ending it.");
                act.hang_up_both(EndReason::MaxDuration, ctx);
            }
        });
        self.route(ctx);
    }

    fn stopping(&mut self, _: &mut Context<Self>) -> Running {
        if !self.recorded {
            // The actor is being stopped from outside (shutdown): still one record.
            self.recorded = true;
            let record = self
                .rec
                .finish(self.end_reason.unwrap_or(EndReason::Shutdown));
            if let Err(e) = self.env.seed.records.record(record) {
                warn!(parent: &self.span, error = %e, "Call record not journaled.");
            }
            self.env.ingress.do_send(CallFinished { call: self.key });
        }
        Running::Stop
    }
}

impl Handler<CallIn> for CallActor {
    type Result = ();

    fn handle(&mut self, msg: CallIn, ctx: &mut Context<Self>) {
        let agent_call_id = match &self.leg {
            Leg::Agent(a) => Some(a.call_id.clone()),
            _ => None,
        };
        let is_agent = |h: &e173gw_core::sip::Headers| {
            agent_call_id
                .as_deref()
                .is_some_and(|c| headers::call_id(h) == Some(c))
        };
        match msg {
            CallIn::Request { tx, req, from } => {
                if is_agent(&req.headers) {
                    self.on_agent_request(tx, req, ctx);
                } else {
                    self.on_trunk_request(tx, req, from, ctx);
                }
            }
            CallIn::Cancel { .. } => self.on_cancel(ctx),
            CallIn::Ack { req } => self.on_trunk_ack(req),
            CallIn::Response { resp, .. } | CallIn::Stray { resp } => {
                if is_agent(&resp.headers) {
                    self.on_agent_response(resp, ctx);
                } else {
                    self.on_trunk_response(resp, ctx);
                }
            }
            CallIn::Timeout { tx } => self.on_timeout(tx, ctx),
            CallIn::NoAck { .. } => {
                warn!(parent: &self.span, "Caller never acknowledged the answer.");
                self.hang_up_both(EndReason::CallerLost, ctx);
            }
        }
    }
}
