//! Calls that arrive on a modem's SIM: offered to whoever took the modem's incoming calls
//! ([`SetIncoming`]), which takes the call (its events and audio then go there, and it
//! answers with [`AnswerCall`] or hangs up with [`super::Hangup`]), refuses it, or lets it
//! ring. With no taker the modem refuses incoming calls at once, as its profile says.

use actix::prelude::*;
use tracing::{info, info_span};

use e173gw_core::at::session::{CallEvent, CallId};
use e173gw_core::domain::{Imsi, ModemId};

use super::actor::{ActiveCall, ModemActor};
use super::{AudioIn, ModemCallEvent, ModemError};

/// A call arrived on a modem's SIM.
#[derive(Message, Debug, Clone)]
#[rtype(result = "IncomingDecision")]
pub struct IncomingCall {
    /// The modem.
    pub modem: ModemId,
    /// Its actor.
    pub addr: Addr<ModemActor>,
    /// The call on the modem.
    pub call: CallId,
    /// The caller's number (absent when withheld).
    pub caller: Option<String>,
    /// The SIM.
    pub imsi: Option<Imsi>,
    /// The SIM's own number, when known.
    pub own_number: Option<String>,
    /// The network the modem is on (its name), when known.
    pub operator: Option<String>,
}

/// What to do with an incoming call.
#[derive(Debug)]
pub enum IncomingDecision {
    /// Take it: its events and audio go to these.
    Take {
        /// Call progress.
        events: Recipient<ModemCallEvent>,
        /// Audio read from the modem once answered.
        audio: Option<Recipient<AudioIn>>,
    },
    /// Refuse it now (`AT+CHUP`).
    Reject,
    /// Let it ring (the caller gives up, or the modem's answer timeout ends it).
    Ignore,
}

impl<A, M> actix::dev::MessageResponse<A, M> for IncomingDecision
where
    A: Actor,
    M: Message<Result = IncomingDecision>,
{
    fn handle(self, _: &mut A::Context, tx: Option<actix::dev::OneshotSender<M::Result>>) {
        if let Some(tx) = tx {
            let _ = tx.send(self);
        }
    }
}

/// Offer this modem's incoming calls to `0` (instead of refusing them).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct SetIncoming(pub Recipient<IncomingCall>);

/// Answer the incoming call taken with [`IncomingDecision::Take`].
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Result<(), ModemError>")]
pub struct AnswerCall {
    /// The call.
    pub call: CallId,
}

impl ModemActor {
    /// A call rings: ask the taker, then do what it says.
    pub(super) fn on_incoming(
        &mut self,
        ctx: &mut Context<Self>,
        call: CallId,
        caller: Option<String>,
    ) {
        let id = self.spec.id.clone();
        info!(modem = %id, caller = caller.as_deref().unwrap_or("withheld"), "Incoming GSM call.");
        let Some(taker) = self.incoming.clone() else {
            let now = self.now();
            let _ = self.session.hangup(now, call);
            self.drive(ctx);
            return;
        };
        let ask = IncomingCall {
            modem: id.clone(),
            addr: ctx.address(),
            call,
            caller: caller.clone(),
            imsi: self.session.identity().imsi.clone(),
            own_number: self.session.identity().own_number.clone(),
            operator: self.session.snapshot().operator.name,
        };
        ctx.spawn(taker.send(ask).into_actor(self).map(move |d, act, ctx| {
            let now = act.now();
            match d {
                Ok(IncomingDecision::Take { events, audio }) => {
                    let span = info_span!("inbound", modem = %id, caller = caller.as_deref().unwrap_or(""));
                    act.call = Some(ActiveCall {
                        id: call,
                        events,
                        audio,
                        span,
                        trace: None,
                        incoming: true,
                    });
                }
                Ok(IncomingDecision::Ignore) => {
                    info!(modem = %id, "Incoming GSM call left ringing.");
                }
                Ok(IncomingDecision::Reject) | Err(_) => {
                    let _ = act.session.hangup(now, call);
                }
            }
            act.drive(ctx);
        }));
    }

    /// Whether `ev` is an incoming call's first word (handled by [`Self::on_incoming`]).
    pub(super) fn take_incoming(&mut self, ctx: &mut Context<Self>, ev: &CallEvent) -> bool {
        if let CallEvent::Incoming { call, number } = ev {
            if self.call.is_none() {
                self.on_incoming(ctx, *call, number.clone());
            }
            return true;
        }
        false
    }
}

impl Handler<SetIncoming> for ModemActor {
    type Result = ();

    fn handle(&mut self, msg: SetIncoming, _: &mut Context<Self>) {
        self.incoming = Some(msg.0);
        self.session.set_reject_incoming(false);
    }
}

impl Handler<AnswerCall> for ModemActor {
    type Result = Result<(), ModemError>;

    fn handle(&mut self, msg: AnswerCall, ctx: &mut Context<Self>) -> Self::Result {
        let now = self.now();
        self.session.answer(now, msg.call)?;
        self.drive(ctx);
        Ok(())
    }
}
