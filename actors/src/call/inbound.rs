//! GSM calls that arrive on the SIMs: the desk that decides each by `[inbound]`
//! ([`InboundDesk`]: answer and offer to a SIP target, refuse, or let ring), and the
//! actor of each offered call ([`InboundCall`]), the shell around its
//! [`InboundSession`]: its SIP leg goes through the ingress like a call's, its RTP is
//! bridged to the modem's PCM like an outgoing call's.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tracing::{info, info_span, warn, Span};

use e173gw_core::call::inbound::{InAction, InEvent, InboundModem, InboundSession, InboundSetup};
use e173gw_core::config::inbound::{InboundConfig, InboundPolicy};
use e173gw_core::domain::ModemId;
use e173gw_core::routing::AgentTarget;
use e173gw_core::sip::dialog::LocalSip;
use e173gw_core::sip::ids::IdGen;
use e173gw_core::sip::{Peer, Transport};

use super::media::{session_id, MediaSession, RtpIn};
use super::CallEnv;
use crate::board::ActiveCall;
use crate::ingress::{CallIn, OpenLeg, SipIngress, SipOut};
use crate::modem::{
    AnswerCall, AudioIn, AudioOut, Hangup, IncomingCall, IncomingDecision, ModemCallEvent,
    SetIncoming,
};
use crate::routing::ModemUpdate;

/// Decides what happens to each incoming GSM call, by `[inbound]`.
pub struct InboundDesk {
    cfg: InboundConfig,
    env: Arc<CallEnv>,
    ingress: Addr<SipIngress>,
    agent: Option<AgentTarget>,
    seen: BTreeSet<ModemId>,
    next: u64,
}

impl std::fmt::Debug for InboundDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundDesk")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl InboundDesk {
    /// A desk; subscribe it to the gateway's modems.
    pub fn new(
        cfg: InboundConfig,
        env: CallEnv,
        ingress: Addr<SipIngress>,
        agent: Option<AgentTarget>,
    ) -> Self {
        Self {
            cfg,
            env: Arc::new(env),
            ingress,
            agent,
            seen: BTreeSet::new(),
            next: 1,
        }
    }

    /// Where an answered call goes.
    fn target(&self, target: &str) -> Option<(String, Peer)> {
        if target == "agent" {
            return self.agent.as_ref().map(|a| (a.uri.clone(), a.peer));
        }
        let addr = e173gw_core::sip::headers::uri_target(target)?;
        let transport = if target.contains("transport=tcp") {
            Transport::Tcp
        } else {
            Transport::Udp
        };
        Some((target.to_string(), Peer { addr, transport }))
    }
}

impl Actor for InboundDesk {
    type Context = Context<Self>;
}

impl Handler<ModemUpdate> for InboundDesk {
    type Result = ();

    fn handle(&mut self, msg: ModemUpdate, ctx: &mut Context<Self>) {
        if self.seen.insert(msg.id) {
            msg.addr.do_send(SetIncoming(ctx.address().recipient()));
        }
    }
}

impl Handler<IncomingCall> for InboundDesk {
    type Result = IncomingDecision;

    fn handle(&mut self, msg: IncomingCall, _: &mut Context<Self>) -> IncomingDecision {
        let imsi = msg.imsi.as_ref().map(|i| i.to_string());
        let d = self
            .cfg
            .decide(msg.modem.as_str(), imsi.as_deref(), msg.operator.as_deref());
        match d.policy {
            InboundPolicy::Reject => return IncomingDecision::Reject,
            InboundPolicy::Ignore => return IncomingDecision::Ignore,
            InboundPolicy::Answer => {}
        }
        let Some((uri, peer)) = self.target(&d.target) else {
            warn!(modem = %msg.modem, target = %d.target, "Incoming call refused: its target has no address.");
            return IncomingDecision::Reject;
        };
        let key = self.next;
        self.next += 1;
        let call = InboundCall::new(
            self.env.clone(),
            self.ingress.clone(),
            msg,
            uri,
            peer,
            Duration::from_secs(self.cfg.answer_timeout_s),
            key,
        )
        .start();
        IncomingDecision::Take {
            events: call.clone().recipient(),
            audio: Some(call.recipient()),
        }
    }
}

/// One incoming GSM call offered to a SIP target.
pub struct InboundCall {
    env: Arc<CallEnv>,
    ingress: Addr<SipIngress>,
    call: IncomingCall,
    target: (String, Peer),
    answer_timeout: Duration,
    seed: u64,
    session: Option<InboundSession>,
    /// Events before the session exists (the ingress has not registered the leg yet).
    early: Vec<InEvent>,
    key: Option<u64>,
    local_host: String,
    media: Option<MediaSession>,
    ticker: Option<SpawnHandle>,
    span: Span,
    received_ms: u64,
    finished: bool,
}

impl std::fmt::Debug for InboundCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundCall")
            .field("modem", &self.call.modem)
            .finish_non_exhaustive()
    }
}

fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

impl InboundCall {
    fn new(
        env: Arc<CallEnv>,
        ingress: Addr<SipIngress>,
        call: IncomingCall,
        target: String,
        peer: Peer,
        answer_timeout: Duration,
        key: u64,
    ) -> Self {
        let span = info_span!("inbound", modem = %call.modem, caller = call.caller.as_deref().unwrap_or("withheld"), call_id = tracing::field::Empty);
        let seed = crate::wall_ms() ^ key.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        Self {
            env,
            ingress,
            call,
            target: (target, peer),
            answer_timeout,
            seed,
            session: None,
            early: Vec::new(),
            key: None,
            local_host: String::new(),
            media: None,
            ticker: None,
            span,
            received_ms: crate::wall_ms(),
            finished: false,
        }
    }

    fn open(&mut self, key: u64, local: Arc<LocalSip>, ctx: &mut Context<Self>) {
        let (uri, peer) = self.target.clone();
        let chosen = match peer.transport {
            Transport::Tcp => local.tcp.clone().or_else(|| local.udp.clone()),
            _ => local.udp.clone().or_else(|| local.tcp.clone()),
        };
        let Some(l) = chosen else {
            warn!(parent: &self.span, "No SIP listener to offer the call from; refused.");
            self.call.addr.do_send(Hangup {
                call: self.call.call,
            });
            ctx.stop();
            return;
        };
        self.key = Some(key);
        self.local_host = local.host.clone();
        let c = &self.call;
        let setup = InboundSetup {
            modem: InboundModem {
                id: c.modem.to_string(),
                imei: None,
                imsi: c.imsi.as_ref().map(|i| i.to_string()),
                iccid: None,
            },
            modem_call: c.call,
            caller: c.caller.clone(),
            callee: c.own_number.clone().unwrap_or_else(|| c.modem.to_string()),
            target: uri,
            peer,
            local: l,
            from_host: local.host.clone(),
            ids: IdGen::new(self.seed, &self.env.node_id),
            received_ms: self.received_ms,
            answer_timeout: self.answer_timeout,
            max_duration: self.env.timing.max_duration,
        };
        let session = InboundSession::new(setup, now());
        self.span.record("call_id", session.call_id());
        info!(parent: &self.span, target = %self.target.0, "Offering the incoming call.");
        self.session = Some(session);
        for ev in std::mem::take(&mut self.early) {
            self.feed(ev, ctx);
        }
        self.drive(ctx);
    }

    fn feed(&mut self, ev: InEvent, ctx: &mut Context<Self>) {
        match &mut self.session {
            Some(s) => s.handle(now(), ev),
            None => {
                self.early.push(ev);
                return;
            }
        }
        self.drive(ctx);
    }

    fn drive(&mut self, ctx: &mut Context<Self>) {
        while let Some(a) = self.session.as_mut().and_then(InboundSession::poll_action) {
            self.act(a, ctx);
        }
    }

    fn sip(&self, msg: SipOut) {
        self.ingress.do_send(msg);
    }

    fn act(&mut self, a: InAction, ctx: &mut Context<Self>) {
        let key = self.key.unwrap_or(0);
        match a {
            InAction::BindMedia => {
                let env = self.env.clone();
                let advertise = env.advertise(&self.local_host);
                let sink = ctx.address().recipient::<RtpIn>();
                async move { MediaSession::bind(&env.ports, &env.media, sink).await }
                    .into_actor(self)
                    .map(move |res, act, ctx| match res {
                        Ok(m) => {
                            let port = m.port();
                            act.media = Some(m);
                            act.feed(
                                InEvent::MediaBound {
                                    addr: advertise,
                                    port,
                                    session_id: session_id(port),
                                },
                                ctx,
                            );
                        }
                        Err(e) => {
                            warn!(parent: &act.span, error = %e, "No RTP port for the incoming call.");
                            act.feed(InEvent::MediaFailed, ctx);
                        }
                    })
                    .spawn(ctx);
            }
            InAction::Watch(call_id) => self.sip(SipOut::Watch { call: key, call_id }),
            InAction::Send { req, to } => self.sip(SipOut::Send { call: key, req, to }),
            InAction::Ack { ack, to } => self.sip(SipOut::Ack { ack, to }),
            InAction::Respond { tx, resp } => self.sip(SipOut::Respond { tx, resp }),
            InAction::ConfigureMedia(n) => {
                if let Some(m) = &mut self.media {
                    m.configure(n);
                }
                if self.ticker.is_none() {
                    self.ticker = Some(ctx.run_interval(Duration::from_millis(20), |act, _| {
                        act.media_tick();
                    }));
                }
            }
            InAction::AnswerModem => {
                let ask = self.call.addr.send(AnswerCall {
                    call: self.call.call,
                });
                ctx.spawn(ask.into_actor(self).map(|r, act, ctx| {
                    if !matches!(r, Ok(Ok(()))) {
                        act.feed(InEvent::ModemFailed, ctx);
                    }
                }));
            }
            InAction::HangupModem => self.call.addr.do_send(Hangup {
                call: self.call.call,
            }),
            InAction::Arm { timer, after } => {
                ctx.run_later(after, move |act, ctx| act.feed(InEvent::Timer(timer), ctx));
            }
            InAction::Record(mut r) => {
                r.quality = self.media.as_ref().map(MediaSession::quality);
                info!(parent: &self.span, status = r.sip_status, reason = ?r.end_reason, talk_ms = r.talk_ms, "Incoming call over.");
                if let Err(e) = self.env.records.record(*r) {
                    warn!(parent: &self.span, error = %e, "Record of an incoming call not journaled.");
                }
            }
            InAction::Done => {
                self.media = None;
                if let Some(t) = self.ticker.take() {
                    ctx.cancel_future(t);
                }
                self.finish();
                ctx.stop();
            }
        }
    }

    fn finish(&mut self) {
        if let (false, Some(key)) = (self.finished, self.key) {
            self.finished = true;
            self.sip(SipOut::Finished { call: key });
        }
    }

    fn media_tick(&mut self) {
        let Some(m) = &mut self.media else { return };
        let (pcm, _) = m.tick();
        if let Some(pcm) = pcm {
            self.call.addr.do_send(AudioOut {
                call: self.call.call,
                pcm,
            });
        }
    }
}

impl Actor for InboundCall {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let ask = self.ingress.send(OpenLeg(ctx.address().recipient()));
        ctx.wait(ask.into_actor(self).map(|r, act, ctx| match r {
            Ok((key, local)) => act.open(key, local, ctx),
            Err(_) => {
                act.call.addr.do_send(Hangup {
                    call: act.call.call,
                });
                ctx.stop();
            }
        }));
    }

    fn stopping(&mut self, ctx: &mut Context<Self>) -> Running {
        if self.session.as_ref().is_some_and(|s| !s.is_over()) {
            self.feed(InEvent::Shutdown, ctx);
        }
        self.finish();
        Running::Stop
    }
}

impl Handler<CallIn> for InboundCall {
    type Result = ();

    fn handle(&mut self, msg: CallIn, ctx: &mut Context<Self>) {
        let ev = match msg {
            CallIn::Request { tx, req, .. } => InEvent::Request { tx, req },
            CallIn::Response { resp, .. } => InEvent::Response(resp),
            CallIn::Stray { resp } => InEvent::Stray(resp),
            CallIn::Timeout { method, .. } => InEvent::Timeout(method),
            CallIn::Describe(tx) => {
                let call_id = self
                    .session
                    .as_ref()
                    .map(|s| s.call_id().to_string())
                    .unwrap_or_default();
                let _ = tx.send((
                    ActiveCall {
                        call_id,
                        trunk: "inbound".into(),
                        caller: self.call.caller.clone().unwrap_or_default(),
                        callee: self.target.0.clone(),
                        received_ms: self.received_ms,
                        state: "inbound",
                        state_since_ms: self.received_ms,
                        modem: Some(self.call.modem.to_string()),
                    },
                    None,
                ));
                return;
            }
            CallIn::Cancel { .. } | CallIn::Ack { .. } | CallIn::NoAck { .. } => return,
        };
        self.feed(ev, ctx);
    }
}

impl Handler<ModemCallEvent> for InboundCall {
    type Result = ();

    fn handle(&mut self, msg: ModemCallEvent, ctx: &mut Context<Self>) {
        if matches!(msg.event, e173gw_core::at::session::CallEvent::Answered(_)) {
            if let Some(m) = &mut self.media {
                m.answered();
            }
        }
        self.feed(InEvent::Modem(msg.event), ctx);
    }
}

impl Handler<AudioIn> for InboundCall {
    type Result = ();

    fn handle(&mut self, msg: AudioIn, _: &mut Context<Self>) {
        if let Some(m) = &mut self.media {
            m.send_modem_audio(&msg.pcm);
        }
    }
}

impl Handler<RtpIn> for InboundCall {
    type Result = ();

    fn handle(&mut self, msg: RtpIn, _: &mut Context<Self>) {
        if let Some(m) = &mut self.media {
            let _ = m.receive(&msg.bytes);
        }
    }
}
