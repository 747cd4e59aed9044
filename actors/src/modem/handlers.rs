//! Message handlers of the modem actor.

use actix::prelude::*;
use tokio::sync::oneshot;
use tracing::{debug, info, info_span, warn};

use e173gw_core::at::command::Command;
use e173gw_core::at::recovery::RecoveryAction;
use e173gw_core::at::session::{CallId, DialRefused, Unavailable};

use super::actor::{ActiveCall, ModemActor};
use super::audio::AudioCmd;
use super::messages::*;
use super::ModemError;

// === impl Handler ===

impl Handler<Dial> for ModemActor {
    type Result = Result<CallId, ModemError>;

    fn handle(&mut self, msg: Dial, ctx: &mut Context<Self>) -> Self::Result {
        if self.link != LinkState::Open {
            return Err(ModemError::Unavailable(Unavailable::Closed));
        }
        let now = self.now();
        let number = self.spec.profile.dial.dial_string(&msg.number, &msg.forms);
        let id = self
            .session
            .dial(now, &number)
            .map_err(|DialRefused::Unavailable(u)| ModemError::Unavailable(u))?;
        let span = info_span!("call", call_id = %msg.call_ref, modem = %self.spec.id);
        info!(parent: &span, number = %number, received = %msg.number, "Dialling.");
        self.call = Some(ActiveCall {
            id,
            events: msg.events,
            audio: msg.audio,
            span,
            trace: msg.trace.map(|to| super::actor::AtTrace {
                to,
                rx: Default::default(),
            }),
            incoming: false,
        });
        self.dirty = true;
        self.drive(ctx);
        Ok(id)
    }
}

impl Handler<Hangup> for ModemActor {
    type Result = Result<(), ModemError>;

    fn handle(&mut self, msg: Hangup, ctx: &mut Context<Self>) -> Self::Result {
        let now = self.now();
        self.session.hangup(now, msg.call)?;
        self.drive(ctx);
        Ok(())
    }
}

impl Handler<SendDtmf> for ModemActor {
    type Result = Result<(), ModemError>;

    fn handle(&mut self, msg: SendDtmf, ctx: &mut Context<Self>) -> Self::Result {
        let now = self.now();
        self.session.send_dtmf(now, msg.call, &msg.digits)?;
        self.drive(ctx);
        Ok(())
    }
}

impl Handler<AudioOut> for ModemActor {
    type Result = ();

    fn handle(&mut self, msg: AudioOut, _ctx: &mut Context<Self>) {
        if self.call.as_ref().is_some_and(|c| c.id == msg.call) {
            if let Some(io) = &self.io {
                let _ = io.audio_tx.send(AudioCmd::Frame(msg.pcm));
            }
        }
    }
}

impl Handler<Reset> for ModemActor {
    type Result = ();

    fn handle(&mut self, msg: Reset, ctx: &mut Context<Self>) {
        info!(modem = %self.spec.id, kind = ?msg.kind, "Reset requested.");
        self.last_fault = Some(format!("{:?} reset requested", msg.kind));
        match msg.kind {
            ResetKind::Soft => self.recover(ctx, RecoveryAction::SoftReset),
            ResetKind::Reopen => self.recover(ctx, RecoveryAction::ReopenPorts),
            ResetKind::Reboot => {
                let now = self.now();
                let id = self.next_command;
                self.next_command += 1;
                self.session.submit(now, id, Command::Reboot);
            }
        }
        self.drive(ctx);
    }
}

impl Handler<RunCommand> for ModemActor {
    type Result = ResponseFuture<Result<CommandOutput, ModemError>>;

    fn handle(&mut self, msg: RunCommand, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        let id = self.next_command;
        self.next_command += 1;
        self.commands.insert(id, tx);
        let now = self.now();
        self.session.submit(now, id, Command::parse(&msg.command));
        self.drive(ctx);
        Box::pin(async move {
            match rx.await {
                Ok(Some(out)) => Ok(out),
                _ => Err(ModemError::NoAnswer),
            }
        })
    }
}

impl Handler<AttachPorts> for ModemActor {
    type Result = ();

    fn handle(&mut self, msg: AttachPorts, ctx: &mut Context<Self>) {
        if self.link == LinkState::Open && self.ports.as_ref() == Some(&msg.ports) {
            return;
        }
        info!(modem = %self.spec.id, at = %msg.ports.at.display(), "Discovery found the modem.");
        self.ports = Some(msg.ports);
        self.open_ports(ctx);
    }
}

impl Handler<GetStatus> for ModemActor {
    type Result = MessageResult<GetStatus>;

    fn handle(&mut self, _msg: GetStatus, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(self.status())
    }
}

impl Handler<Subscribe> for ModemActor {
    type Result = ();

    fn handle(&mut self, msg: Subscribe, _ctx: &mut Context<Self>) {
        msg.0.do_send(ModemStatusChanged {
            status: self.status(),
        });
        self.watchers.push(msg.0);
    }
}

impl Handler<AtRx> for ModemActor {
    type Result = ();

    fn handle(&mut self, msg: AtRx, ctx: &mut Context<Self>) {
        if msg.generation != self.generation || self.io.is_none() {
            return;
        }
        debug!(modem = %self.spec.id, rx = %String::from_utf8_lossy(&msg.bytes).trim(), "AT bytes.");
        if let Some(t) = self.call.as_mut().and_then(|c| c.trace.as_mut()) {
            let lines = t.rx.push(&msg.bytes);
            t.lines(lines, false);
        }
        let now = self.now();
        self.session.receive(now, &msg.bytes);
        self.drive(ctx);
    }
}

impl Handler<AudioRx> for ModemActor {
    type Result = ();

    fn handle(&mut self, msg: AudioRx, _ctx: &mut Context<Self>) {
        if msg.generation != self.generation {
            return;
        }
        if let Ok(mut s) = self.audio_stats.lock() {
            s.frames_in += 1;
        }
        if let Some(call) = &self.call {
            if let Some(sink) = &call.audio {
                sink.do_send(AudioIn {
                    call: call.id,
                    pcm: msg.pcm,
                });
            }
        }
    }
}

impl Handler<PortLost> for ModemActor {
    type Result = ();

    fn handle(&mut self, msg: PortLost, ctx: &mut Context<Self>) {
        if msg.generation != self.generation || self.io.is_none() {
            return;
        }
        warn!(modem = %self.spec.id, port = %msg.port.display(), error = %msg.error, "Modem port lost.");
        self.last_fault = Some(format!("port {} lost: {}", msg.port.display(), msg.error));
        self.close_ports();
        let action = self.ladder.on_open_failed();
        self.recover(ctx, action);
        self.drive(ctx);
    }
}

impl Handler<Drain> for ModemActor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, msg: Drain, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        match self.call.as_ref().map(|c| c.id) {
            Some(call) => {
                info!(modem = %self.spec.id, "Hanging up the call in progress before stopping.");
                self.drain_waiters.push(tx);
                let now = self.now();
                let _ = self.session.hangup(now, call);
                self.drive(ctx);
            }
            None => {
                let _ = tx.send(());
            }
        }
        Box::pin(
            async move {
                let _ = tokio::time::timeout(msg.grace, rx).await;
            }
            .into_actor(self)
            .map(|_, act, ctx| {
                if let Some(h) = act.retry.take() {
                    ctx.cancel_future(h);
                }
                act.close_ports();
                act.drive(ctx);
                ctx.stop();
            }),
        )
    }
}
