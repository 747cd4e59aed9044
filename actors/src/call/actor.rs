//! The call actor: moves messages in and out of its [`CallSession`] and arms its timers.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tracing::{debug, info, info_span, warn, Span};

use e173gw_core::call::{Action, CallSession, CallSetup, CallState, Event};
use e173gw_core::sip::ids::IdGen;

use super::media::{session_id, MediaSession, RtpIn};
use super::CallEnv;
use crate::board::ActiveCall;
use crate::ingress::{CallIn, NewCall, SipOut};
use crate::modem::{AudioIn, AudioOut, Dial, Hangup, ModemActor, ModemCallEvent, SendDtmf};
use crate::routing::{CallUsage, PeerDown, Release, RouteRequest};
use e173gw_core::call::ladder::{Ladder, Lane, Step};

/// One call. See the module docs.
pub(crate) struct CallActor {
    session: CallSession,
    env: Arc<CallEnv>,
    key: u64,
    sip: Recipient<SipOut>,
    /// The SIP host, for the SDP address.
    sip_host: String,
    span: Span,
    /// The leased modem's actor.
    modem: Option<Addr<ModemActor>>,
    media: Option<MediaSession>,
    ticker: Option<SpawnHandle>,
    /// The ingress was told the call is over.
    finished: bool,
    /// What the media measured, kept when the media is dropped before the record.
    quality: Option<e173gw_core::media::quality::MediaQuality>,
    /// The call's ladder, when it is kept, and whether a party is traced.
    ladder: Option<(Ladder, bool)>,
}

impl std::fmt::Debug for CallActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallActor")
            .field("call_id", &self.session.call_id())
            .field("state", &self.session.state())
            .finish()
    }
}

fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

fn id_seed(key: u64) -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    t ^ key.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl CallActor {
    pub(super) fn new(env: Arc<CallEnv>, new: NewCall) -> Self {
        let call_id = e173gw_core::sip::headers::call_id(&new.invite.headers)
            .unwrap_or_default()
            .to_string();
        let span = info_span!("call", call_id = %call_id, modem = tracing::field::Empty, trunk = %new.trunk);
        debug!(parent: &span, caller = %new.parties.caller, callee = %new.parties.callee, "New call.");
        let sip_host = new.local.host.clone();
        let mut ladder = env
            .ladders
            .as_ref()
            .and_then(|b| {
                b.lock()
                    .wants(new.parties.caller.as_str(), new.parties.callee.as_str())
            })
            .map(|traced| (Ladder::new(&call_id), traced));
        let setup = CallSetup {
            invite: new.invite,
            invite_tx: new.tx,
            source: new.from,
            local: new.local,
            parties: new.parties,
            trunk: new.trunk,
            target: new.target,
            from_peer: new.from_peer,
            received_ms: new.received_ms,
            ids: IdGen::new(id_seed(new.key), &env.node_id),
        };
        if let Some((l, _)) = &mut ladder {
            let line = format!("INVITE {}", setup.invite.uri);
            l.push(Step::new(
                new.received_ms,
                Lane::Trunk,
                Lane::Gateway,
                &line,
            ));
        }
        Self {
            session: CallSession::new(setup, env.timing, now()),
            key: new.key,
            sip: new.sip,
            sip_host,
            env,
            span,
            modem: None,
            media: None,
            ticker: None,
            finished: false,
            quality: None,
            ladder,
        }
    }

    /// Feeds the session one event and carries out what it asks.
    fn feed(&mut self, ev: Event, ctx: &mut Context<Self>) {
        let before = self.session.state();
        let name = ev.name();
        self.session.handle(now(), ev);
        let after = self.session.state();
        if before != after {
            debug!(parent: &self.span, from = before.as_str(), to = after.as_str(), event = name, "Call state changed.");
            if after == CallState::Answered {
                info!(parent: &self.span, "Call answered.");
                if let Some(m) = &mut self.media {
                    m.answered();
                }
            }
        }
        self.drive(ctx);
    }

    fn drive(&mut self, ctx: &mut Context<Self>) {
        while let Some(a) = self.session.poll_action() {
            self.act(a, ctx);
        }
    }

    fn act(&mut self, a: Action, ctx: &mut Context<Self>) {
        match a {
            Action::Respond { tx, resp } => {
                self.ladder_sip(false, &resp.headers, || resp.status_code.to_string());
                self.sip.do_send(SipOut::Respond { tx, resp })
            }
            Action::Send { req, to } => {
                self.ladder_sip(false, &req.headers, || {
                    format!("{} {}", req.method, req.uri)
                });
                self.sip.do_send(SipOut::Send {
                    call: self.key,
                    req,
                    to,
                })
            }
            Action::Ack { ack, to } => {
                self.ladder_sip(false, &ack.headers, || format!("ACK {}", ack.uri));
                self.sip.do_send(SipOut::Ack { ack, to })
            }
            Action::Watch(call_id) => self.sip.do_send(SipOut::Watch {
                call: self.key,
                call_id,
            }),
            Action::Screen(req) => {
                let filter = match &self.env.filter {
                    Some((f, active)) if active.load(std::sync::atomic::Ordering::Relaxed) => {
                        f.clone()
                    }
                    Some(_) => {
                        let unscreened = e173gw_core::filter::Verdict::allow_unscreened();
                        self.feed(Event::Screened(Box::new(unscreened)), ctx);
                        return;
                    }
                    None => {
                        self.feed(Event::ScreenGone, ctx);
                        return;
                    }
                };
                filter
                    .send(crate::filter::Screen(req))
                    .into_actor(self)
                    .map(|res, act, ctx| match res {
                        Ok(v) => {
                            debug!(parent: &act.span, decision = v.decision.name(), "Screened.");
                            act.feed(Event::Screened(Box::new(v)), ctx);
                        }
                        Err(e) => {
                            warn!(parent: &act.span, error = %e, "Filter unavailable; the call goes on unscreened.");
                            act.feed(Event::ScreenGone, ctx);
                        }
                    })
                    .spawn(ctx);
            }
            Action::Route {
                target,
                trunk,
                from_peer,
                caller,
                callee,
                age_ms,
                exclude,
                divert,
                operator,
            } => {
                let req = RouteRequest {
                    target,
                    trunk,
                    from_peer,
                    caller,
                    callee,
                    exclude,
                    age_ms,
                    divert,
                    operator,
                    call: Some(ctx.address().recipient()),
                };
                self.env
                    .router
                    .send(req)
                    .into_actor(self)
                    .map(|res, act, ctx| match res {
                        Ok(d) => {
                            if d.modem.is_some() {
                                act.modem = d.modem;
                            }
                            act.feed(Event::Routed(d.route, d.why), ctx);
                        }
                        Err(e) => {
                            warn!(parent: &act.span, error = %e, "Router unavailable.");
                            act.feed(Event::RouterGone, ctx);
                        }
                    })
                    .spawn(ctx);
            }
            Action::Release(modem) => self.env.release.do_send(Release { modem }),
            Action::BindMedia => self.bind_media(ctx),
            Action::ConfigureMedia(n) => {
                debug!(parent: &self.span, hold = n.on_hold, law = ?n.law, "Media agreed.");
                if let Some(m) = &mut self.media {
                    m.configure(n);
                }
                if self.ticker.is_none() {
                    self.ticker = Some(ctx.run_interval(Duration::from_millis(20), |act, _| {
                        act.media_tick();
                    }));
                }
            }
            Action::DropMedia => {
                if let Some(m) = self.media.take() {
                    self.quality = Some(m.quality());
                }
                if let Some(t) = self.ticker.take() {
                    ctx.cancel_future(t);
                }
            }
            Action::Dial {
                modem,
                number,
                forms,
            } => {
                self.span.record("modem", modem.as_str());
                if let Some((l, _)) = &mut self.ladder {
                    l.modem = Some(modem.to_string());
                }
                let Some(addr) = self.modem.clone() else {
                    self.feed(Event::DialRefused("the modem has no actor".into()), ctx);
                    return;
                };
                let me = ctx.address();
                let dial = Dial {
                    number,
                    forms,
                    call_ref: self.session.call_id().to_string(),
                    events: me.clone().recipient(),
                    audio: Some(me.recipient()),
                    trace: self.ladder.is_some().then(|| ctx.address().recipient()),
                };
                addr.send(dial)
                    .into_actor(self)
                    .map(|res, act, ctx| {
                        let ev = match res {
                            Ok(Ok(call)) => Event::DialAccepted(call),
                            Ok(Err(e)) => Event::DialRefused(e.to_string()),
                            Err(e) => Event::DialRefused(e.to_string()),
                        };
                        if let Event::DialRefused(why) = &ev {
                            debug!(parent: &act.span, error = %why, "Modem refused the call.");
                        }
                        act.feed(ev, ctx);
                    })
                    .spawn(ctx);
            }
            Action::Hangup { call, .. } => {
                if let Some(m) = &self.modem {
                    m.do_send(Hangup { call });
                }
            }
            Action::Dtmf { call, digit, .. } => {
                if let Some(m) = &self.modem {
                    info!(parent: &self.span, digit = %digit, "DTMF to the modem.");
                    m.do_send(SendDtmf {
                        call,
                        digits: digit.to_string(),
                    });
                }
            }
            Action::Arm { timer, after } => {
                ctx.run_later(after, move |act, ctx| act.feed(Event::Timer(timer), ctx));
            }
            Action::Record(mut r) => {
                r.quality = self
                    .media
                    .as_ref()
                    .map(MediaSession::quality)
                    .or_else(|| self.quality.take());
                info!(
                    parent: &self.span,
                    status = r.sip_status,
                    end = ?r.end_reason,
                    talk_ms = r.talk_ms,
                    "Call finished."
                );
                self.env.usage.do_send(CallUsage::from(&*r));
                if let Err(e) = self.env.records.record(*r) {
                    warn!(parent: &self.span, error = %e, "Call record not journaled.");
                }
            }
            Action::Done => {
                self.finished = true;
                self.hand_over_ladder();
                self.sip.do_send(SipOut::Finished { call: self.key });
                ctx.stop();
            }
        }
    }

    fn bind_media(&mut self, ctx: &mut Context<Self>) {
        let env = self.env.clone();
        let advertise = env.advertise(&self.sip_host);
        let sink = ctx.address().recipient::<RtpIn>();
        async move { MediaSession::bind(&env.ports, &env.media, sink).await }
            .into_actor(self)
            .map(move |res, act, ctx| match res {
                Ok(m) => {
                    let port = m.port();
                    act.media = Some(m);
                    act.feed(
                        Event::MediaBound {
                            addr: advertise,
                            port,
                            session_id: session_id(port),
                        },
                        ctx,
                    );
                }
                Err(e) => {
                    warn!(parent: &act.span, error = %e, "No RTP port for the call.");
                    act.feed(Event::MediaFailed(e.to_string()), ctx);
                }
            })
            .spawn(ctx);
    }

    /// Puts a SIP message on the call's ladder: the caller's leg is the trunk's lane,
    /// any other Call-ID (the agent's or a peer's leg) the agent's.
    fn ladder_sip(
        &mut self,
        inbound: bool,
        headers: &e173gw_core::sip::Headers,
        text: impl FnOnce() -> String,
    ) {
        let Some((l, _)) = &mut self.ladder else {
            return;
        };
        let leg = e173gw_core::sip::headers::call_id(headers);
        let far = if leg == Some(self.session.call_id()) {
            Lane::Trunk
        } else {
            Lane::Agent
        };
        let (from, to) = if inbound {
            (far, Lane::Gateway)
        } else {
            (Lane::Gateway, far)
        };
        l.push(Step::new(crate::wall_ms(), from, to, &text()));
    }

    /// Gives the finished call's ladder to the book (once).
    fn hand_over_ladder(&mut self) {
        if let (Some((l, traced)), Some(book)) = (self.ladder.take(), &self.env.ladders) {
            book.lock().finish(l, traced);
        }
    }

    fn media_tick(&mut self) {
        let (Some(m), Some((_, call)), Some(modem)) =
            (&mut self.media, self.session.audio_call(), &self.modem)
        else {
            return;
        };
        let (pcm, one_way) = m.tick();
        if let Some(pcm) = pcm {
            modem.do_send(AudioOut { call, pcm });
        }
        if let Some(side) = one_way {
            warn!(parent: &self.span, silent = side.as_str(), "One-way audio: no audio from one side while the other talks.");
        }
    }
}

impl Actor for CallActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // The session's first actions (a route request, or a refusal).
        self.drive(ctx);
    }

    fn stopping(&mut self, ctx: &mut Context<Self>) -> Running {
        if self.session.state() != CallState::Ended {
            // Stopped from outside (shutdown): the call still gets its one record.
            self.feed(Event::Shutdown, ctx);
        }
        if !self.finished {
            self.finished = true;
            self.hand_over_ladder();
            self.sip.do_send(SipOut::Finished { call: self.key });
        }
        Running::Stop
    }
}

impl Handler<CallIn> for CallActor {
    type Result = ();

    fn handle(&mut self, msg: CallIn, ctx: &mut Context<Self>) {
        let ev = match msg {
            CallIn::Describe(tx) => {
                // The asker may have given up; nothing to do then.
                let p = self.session.progress();
                let shown = ActiveCall {
                    call_id: p.call_id.to_string(),
                    trunk: p.trunk.to_string(),
                    caller: p.caller.to_string(),
                    callee: p.callee.to_string(),
                    received_ms: p.received_ms,
                    state: p.state.as_str(),
                    state_since_ms: p.state_since_ms,
                    modem: p.modem.map(ToString::to_string),
                };
                let _ = tx.send((shown, self.ladder.as_ref().map(|(l, _)| l.clone())));
                return;
            }
            CallIn::Request { tx, req, .. } => {
                self.ladder_sip(true, &req.headers, || format!("{} {}", req.method, req.uri));
                Event::Request { tx, req }
            }
            CallIn::Cancel { .. } => {
                info!(parent: &self.span, "Caller cancelled.");
                if let Some((l, _)) = &mut self.ladder {
                    l.push(Step::new(
                        crate::wall_ms(),
                        Lane::Trunk,
                        Lane::Gateway,
                        "CANCEL",
                    ));
                }
                Event::Cancel
            }
            CallIn::Ack { req } => {
                self.ladder_sip(true, &req.headers, || format!("ACK {}", req.uri));
                Event::Ack(req)
            }
            CallIn::Response { resp, .. } | CallIn::Stray { resp } => {
                self.ladder_sip(true, &resp.headers, || resp.status_code.to_string());
                Event::Response(resp)
            }
            CallIn::Timeout {
                call_id, method, ..
            } => Event::Timeout { call_id, method },
            CallIn::NoAck { .. } => {
                warn!(parent: &self.span, "Caller never acknowledged the answer.");
                Event::NoAck
            }
        };
        self.feed(ev, ctx);
    }
}

impl Handler<crate::modem::AtLines> for CallActor {
    type Result = ();

    fn handle(&mut self, msg: crate::modem::AtLines, _: &mut Context<Self>) {
        let Some((l, _)) = &mut self.ladder else {
            return;
        };
        let (from, to) = if msg.out {
            (Lane::Gateway, Lane::Modem)
        } else {
            (Lane::Modem, Lane::Gateway)
        };
        for line in msg.lines {
            l.push(Step::new(msg.at_ms, from, to, &line));
        }
    }
}

impl Handler<PeerDown> for CallActor {
    type Result = ();

    fn handle(&mut self, msg: PeerDown, ctx: &mut Context<Self>) {
        self.feed(Event::PeerDown(msg.node), ctx);
    }
}

impl Handler<ModemCallEvent> for CallActor {
    type Result = ();

    fn handle(&mut self, msg: ModemCallEvent, ctx: &mut Context<Self>) {
        self.feed(Event::Modem(msg.event), ctx);
    }
}

impl Handler<AudioIn> for CallActor {
    type Result = ();

    fn handle(&mut self, msg: AudioIn, ctx: &mut Context<Self>) {
        if self.media.is_none() {
            return;
        }
        if matches!(
            self.session.state(),
            CallState::Connecting | CallState::Early
        ) {
            // Before answer: the network's ringback or an announcement (early media).
            self.feed(Event::ModemAudio, ctx);
        }
        if let Some(m) = &mut self.media {
            m.send_modem_audio(&msg.pcm);
        }
    }
}

impl Handler<RtpIn> for CallActor {
    type Result = ();

    fn handle(&mut self, msg: RtpIn, ctx: &mut Context<Self>) {
        let Some(m) = &mut self.media else { return };
        if let Some(d) = m.receive(&msg.bytes) {
            self.feed(Event::Dtmf(d), ctx);
        }
    }
}
