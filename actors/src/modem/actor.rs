//! The modem actor: holds the ports and the session, moves bytes, events and messages.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use e173gw_core::call::ladder::LineSplitter;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info, warn, Span};

use e173gw_core::at::recovery::{ExponentialBackoff, RecoveryAction, RecoveryLadder};
use e173gw_core::at::session::{CallEvent, CallId, Fault, ModemSession, SessionEvent};
use e173gw_core::config::profile::ModemProfile;
use e173gw_core::domain::{Imei, ModemId};

use super::audio::{spawn_pump, AudioCmd};
use super::messages::*;
use super::ports::{self, PortPaths, PortTasks};

/// What a modem actor is started with.
#[derive(Debug, Clone)]
pub struct ModemSpec {
    /// Id for logs, metrics and the API.
    pub id: ModemId,
    /// The device profile.
    pub profile: Arc<ModemProfile>,
    /// Ports to open at start; `None` waits for [`AttachPorts`] from discovery.
    pub ports: Option<PortPaths>,
    /// Refuse a device with another IMEI on these ports.
    pub expect_imei: Option<Imei>,
    /// Retry delays once the device is gone.
    pub backoff: ExponentialBackoff,
}

pub(super) struct OpenIo {
    pub(super) at_tx: mpsc::UnboundedSender<Vec<u8>>,
    pub(super) audio_tx: mpsc::UnboundedSender<AudioCmd>,
    tasks: PortTasks,
}

pub(super) struct ActiveCall {
    pub(super) id: CallId,
    pub(super) events: Recipient<ModemCallEvent>,
    pub(super) audio: Option<Recipient<AudioIn>>,
    pub(super) span: Span,
    /// Where the call's AT lines go (its ladder), with the call's reference.
    pub(super) trace: Option<AtTrace>,
    /// It came in on the SIM (its audio starts when it is answered).
    pub(super) incoming: bool,
}

/// The AT lines of a call, sent to its ladder.
pub(super) struct AtTrace {
    pub(super) to: Recipient<super::AtLines>,
    pub(super) rx: LineSplitter,
}

impl AtTrace {
    /// Sends `lines`, `out` from the gateway to the modem or back.
    pub(super) fn lines(&self, lines: Vec<String>, out: bool) {
        if !lines.is_empty() {
            self.to.do_send(super::AtLines {
                lines,
                out,
                at_ms: crate::wall_ms(),
            });
        }
    }
}

/// One modem. See the module docs.
pub struct ModemActor {
    pub(super) spec: ModemSpec,
    pub(super) session: ModemSession,
    pub(super) ladder: RecoveryLadder,
    pub(super) link: LinkState,
    pub(super) ports: Option<PortPaths>,
    pub(super) io: Option<OpenIo>,
    pub(super) generation: u64,
    pub(super) timer: Option<(Instant, SpawnHandle)>,
    pub(super) retry: Option<SpawnHandle>,
    pub(super) call: Option<ActiveCall>,
    pub(super) watchers: Vec<Recipient<ModemStatusChanged>>,
    pub(super) commands: HashMap<u64, oneshot::Sender<Option<CommandOutput>>>,
    pub(super) next_command: u64,
    pub(super) last_fault: Option<String>,
    pub(super) resets: u64,
    pub(super) audio_stats: Arc<Mutex<AudioStats>>,
    pub(super) dirty: bool,
    pub(super) drain_waiters: Vec<oneshot::Sender<()>>,
    /// Tasks of ports just closed, until they are gone (their descriptors with them).
    pub(super) closing: Vec<PortTasks>,
    /// SMS and USSD requests in flight, and where stored messages go.
    pub(super) messaging: super::messaging::Messaging,
    /// Who takes incoming calls (`None`: they are refused).
    pub(super) incoming: Option<Recipient<super::IncomingCall>>,
}

impl std::fmt::Debug for ModemActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModemActor")
            .field("id", &self.spec.id)
            .field("link", &self.link)
            .finish()
    }
}

impl ModemActor {
    /// A modem actor for `spec` (start it with `.start()`).
    pub fn new(spec: ModemSpec) -> Self {
        let session = ModemSession::new(spec.profile.session_config());
        let ladder = RecoveryLadder::new(spec.backoff);
        let ports = spec.ports.clone();
        Self {
            spec,
            session,
            ladder,
            link: LinkState::Unbound,
            ports,
            io: None,
            generation: 0,
            timer: None,
            retry: None,
            call: None,
            watchers: Vec::new(),
            commands: HashMap::new(),
            next_command: 1,
            last_fault: None,
            resets: 0,
            audio_stats: Arc::new(Mutex::new(AudioStats::default())),
            dirty: false,
            drain_waiters: Vec::new(),
            closing: Vec::new(),
            messaging: Default::default(),
            incoming: None,
        }
    }

    pub(super) fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    pub(super) fn status(&self) -> ModemStatus {
        ModemStatus {
            id: self.spec.id.clone(),
            profile: self.spec.profile.name.clone(),
            link: self.link,
            ports: self.ports.clone(),
            session: self.session.snapshot(),
            recovery_rung: self.ladder.rung(),
            last_fault: self.last_fault.clone(),
            resets: self.resets,
            audio: self.audio_stats.lock().map(|s| *s).unwrap_or_default(),
        }
    }

    // === ports ===

    pub(super) fn open_ports(&mut self, ctx: &mut Context<Self>) {
        if let Some(h) = self.retry.take() {
            ctx.cancel_future(h);
        }
        if self.ports.is_none() {
            self.link = LinkState::Unbound;
            return;
        }
        self.close_ports();
        if !self.closing.is_empty() {
            // Let the old descriptors close first: the ports are exclusive.
            let closing = std::mem::take(&mut self.closing);
            ctx.wait(
                async move {
                    for t in closing {
                        t.close().await;
                    }
                }
                .into_actor(self)
                .map(|_, act, ctx| act.open_ports(ctx)),
            );
            return;
        }
        let Some(paths) = self.ports.clone() else {
            return;
        };
        self.generation += 1;
        let generation = self.generation;
        let opened = ports::open(&paths.at).and_then(|at| Ok((at, ports::open(&paths.audio)?)));
        let (at, audio) = match opened {
            Ok(p) => p,
            Err(e) => {
                warn!(modem = %self.spec.id, at = %paths.at.display(), error = %e, "Cannot open modem ports.");
                self.last_fault = Some(format!("cannot open ports: {e}"));
                let action = self.ladder.on_open_failed();
                self.recover(ctx, action);
                return;
            }
        };
        let addr = ctx.address();
        let voice = &self.spec.profile.voice;
        let (frame, period) = (
            voice.frame_bytes(),
            Duration::from_millis(u64::from(voice.frame_ms)),
        );
        let (at_r, at_w) = tokio::io::split(at);
        let (au_r, au_w) = tokio::io::split(audio);
        let mut tasks = PortTasks::new();
        tasks.push(ports::spawn_at_reader(
            at_r,
            paths.at.clone(),
            addr.clone(),
            generation,
        ));
        tasks.push(ports::spawn_audio_reader(
            au_r,
            paths.audio.clone(),
            frame,
            addr.clone(),
            generation,
        ));
        let (at_tx, h) = ports::spawn_writer(at_w, paths.at.clone(), addr, generation);
        tasks.push(h);
        let (audio_tx, h) = spawn_pump(au_w, frame, period, self.audio_stats.clone());
        tasks.push(h);
        self.io = Some(OpenIo {
            at_tx,
            audio_tx,
            tasks,
        });
        self.link = LinkState::Open;
        info!(modem = %self.spec.id, at = %paths.at.display(), audio = %paths.audio.display(), "Modem ports opened.");
        let now = self.now();
        self.session.port_opened(now);
        self.dirty = true;
        self.drive(ctx);
    }

    /// Closes the ports; a call in progress ends as `DeviceGone`.
    pub(super) fn close_ports(&mut self) {
        if let Some(io) = self.io.take() {
            io.tasks.abort();
            self.closing.push(io.tasks);
            let now = self.now();
            self.session.port_closed(now);
            self.dirty = true;
        }
    }

    pub(super) fn recover(&mut self, ctx: &mut Context<Self>, action: RecoveryAction) {
        let now = self.now();
        match action {
            RecoveryAction::SoftReset => {
                self.resets += 1;
                info!(modem = %self.spec.id, "Soft-resetting modem.");
                self.session
                    .soft_reset(now, self.last_fault.as_deref().unwrap_or("fault"));
            }
            RecoveryAction::ReopenPorts => {
                self.resets += 1;
                info!(modem = %self.spec.id, "Reopening modem ports.");
                self.open_ports(ctx);
            }
            RecoveryAction::RetryAfter(delay) => {
                self.close_ports();
                self.link = LinkState::Gone;
                info!(modem = %self.spec.id, retry_in_ms = delay.as_millis() as u64, "Modem gone; will retry.");
                if let Some(h) = self.retry.take() {
                    ctx.cancel_future(h);
                }
                self.retry = Some(ctx.run_later(delay, |act, ctx| {
                    act.retry = None;
                    act.open_ports(ctx);
                }));
            }
        }
        self.dirty = true;
    }

    // === session driving ===

    /// Writes what the session wants written, handles its events, re-arms its timer and
    /// tells watchers about changes.
    pub(super) fn drive(&mut self, ctx: &mut Context<Self>) {
        loop {
            while let Some(bytes) = self.session.poll_transmit() {
                if let Some(t) = self.call.as_ref().and_then(|c| c.trace.as_ref()) {
                    let lines = LineSplitter::default().push(&[&bytes[..], b"\r"].concat());
                    t.lines(lines, true);
                }
                if let Some(io) = &self.io {
                    debug!(modem = %self.spec.id, tx = %String::from_utf8_lossy(&bytes).trim_end(), "AT command.");
                    let _ = io.at_tx.send(bytes);
                }
            }
            match self.session.poll_event() {
                Some(ev) => self.on_session_event(ctx, ev),
                None => break,
            }
        }
        self.arm_timer(ctx);
        if std::mem::take(&mut self.dirty) {
            let status = self.status();
            self.watchers.retain(|w| {
                w.try_send(ModemStatusChanged {
                    status: status.clone(),
                })
                .is_ok()
                    || w.connected()
            });
        }
    }

    fn arm_timer(&mut self, ctx: &mut Context<Self>) {
        let next = self.session.next_deadline();
        if let (Some(d), Some((at, _))) = (next, &self.timer) {
            if *at == d {
                return;
            }
        }
        if let Some((_, h)) = self.timer.take() {
            ctx.cancel_future(h);
        }
        if let Some(d) = next {
            let delay = d.saturating_duration_since(self.now());
            let h = ctx.run_later(delay, |act, ctx| {
                act.timer = None;
                let now = act.now();
                act.session.handle_timeout(now);
                act.drive(ctx);
            });
            self.timer = Some((d, h));
        }
    }

    fn on_session_event(&mut self, ctx: &mut Context<Self>, ev: SessionEvent) {
        let id = &self.spec.id;
        match ev {
            SessionEvent::Ready => {
                self.ladder.on_ready();
                let snap = self.session.snapshot();
                info!(
                    modem = %id,
                    imei = %snap.identity.imei.as_ref().map(|i| i.as_str()).unwrap_or("-"),
                    imsi = %snap.identity.imsi.as_ref().map(|i| i.as_str()).unwrap_or("-"),
                    operator = %snap.operator.name.as_deref().unwrap_or("-"),
                    sim_plmn = %snap.sim_plmn.as_deref().unwrap_or("-"),
                    available = snap.available.is_ok(),
                    unavailable = ?snap.available.as_ref().err(),
                    "Modem ready."
                );
            }
            SessionEvent::Identity(identity) => {
                if let (Some(want), Some(got)) = (&self.spec.expect_imei, &identity.imei) {
                    if want != got {
                        error!(modem = %id, expected = %want, found = %got, "Wrong device on the modem's ports; releasing them.");
                        self.last_fault = Some(format!("ports hold IMEI {got}, expected {want}"));
                        self.close_ports();
                        self.link = LinkState::WrongDevice;
                        let action = self.ladder.on_open_failed();
                        if let RecoveryAction::RetryAfter(d) = action {
                            self.retry = Some(ctx.run_later(d, |act, ctx| {
                                act.retry = None;
                                act.open_ports(ctx);
                            }));
                        }
                    }
                }
            }
            SessionEvent::SimChanged { old_imsi, new_imsi } => {
                warn!(modem = %id, old = ?old_imsi.map(|i| i.to_string()), new = ?new_imsi.map(|i| i.to_string()), "SIM card changed.");
            }
            SessionEvent::Sim(s) => info!(modem = %id, sim = ?s, "SIM state changed."),
            SessionEvent::Registration(r) => {
                debug!(modem = %id, registration = ?r.state, "Registration changed.")
            }
            SessionEvent::Signal(_) | SessionEvent::Operator(_) => {}
            SessionEvent::Call(ev) => {
                if !self.take_incoming(ctx, &ev) {
                    self.on_call_event(ev)
                }
            }
            SessionEvent::Fault(f) => {
                let reason = match &f {
                    Fault::CommandTimeout { command } => format!("{command} timed out"),
                    Fault::InitFailed { command, result } => {
                        format!("{command} failed during init: {result}")
                    }
                    Fault::Restarted => "modem restarted on its own".into(),
                    Fault::StuckCall => "call stuck after hang-up".into(),
                };
                warn!(modem = %id, fault = %reason, rung = self.ladder.rung(), "Modem fault.");
                self.last_fault = Some(reason);
                let action = if matches!(f, Fault::Restarted) {
                    RecoveryAction::SoftReset
                } else {
                    self.ladder.on_fault()
                };
                self.recover(ctx, action);
            }
            SessionEvent::CommandDone { id, result, lines } => {
                if let Some(tx) = self.commands.remove(&id) {
                    let _ = tx.send(result.map(|result| CommandOutput { result, lines }));
                }
            }
            SessionEvent::IncomingRejected => info!(modem = %id, "Incoming GSM call refused."),
            SessionEvent::SmsSubmitted { id, result } => self.on_sms_submitted(id, result),
            SessionEvent::StoredSms(sms) => self.on_stored_sms(ctx, sms),
            SessionEvent::UssdSent { id, result } => self.on_ussd_sent(id, result),
            SessionEvent::Ussd(reply) => self.on_ussd_reply(reply),
        }
        self.dirty = true;
    }

    fn on_call_event(&mut self, ev: CallEvent) {
        let Some(call) = self.call.as_ref().filter(|c| c.id == ev.call()) else {
            return;
        };
        let audio_tx = self.io.as_ref().map(|io| io.audio_tx.clone());
        match &ev {
            CallEvent::Dialing(_) => {
                info!(parent: &call.span, "Modem dialling.");
                if let Some(tx) = &audio_tx {
                    let _ = tx.send(AudioCmd::Start);
                }
            }
            CallEvent::Alerting(_) => info!(parent: &call.span, "Callee alerting."),
            CallEvent::Answered(_) => {
                info!(parent: &call.span, "Call answered.");
                if let (true, Some(tx)) = (call.incoming, &audio_tx) {
                    let _ = tx.send(AudioCmd::Start);
                }
            }
            CallEvent::Incoming { .. } => {}
            CallEvent::Ended { cause, talk, .. } => {
                info!(parent: &call.span, cause = ?cause.kind, q850 = ?cause.q850, detail = %cause.detail, talk_s = talk.as_secs(), "Call ended.");
                if let Some(tx) = &audio_tx {
                    let _ = tx.send(AudioCmd::Stop);
                }
            }
        }
        call.events.do_send(ModemCallEvent {
            modem: self.spec.id.clone(),
            event: ev.clone(),
        });
        if matches!(ev, CallEvent::Ended { .. }) {
            self.call = None;
            for w in self.drain_waiters.drain(..) {
                let _ = w.send(());
            }
        }
    }
}

impl Actor for ModemActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(1024);
        if self.ports.is_some() {
            self.open_ports(ctx);
        } else {
            info!(modem = %self.spec.id, imei = ?self.spec.expect_imei.as_ref().map(|i| i.to_string()), "Waiting for discovery to find the modem.");
        }
    }

    fn stopping(&mut self, _ctx: &mut Context<Self>) -> Running {
        self.close_ports();
        Running::Stop
    }
}
