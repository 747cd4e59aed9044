//! SMS and USSD through the modem actor: parts handed to the session and their outcome
//! sent back, stored messages handed to the inbox (deleted from the SIM only once the
//! inbox says they are kept), USSD requests answered with the network's first reply.

use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;
use tracing::{info, warn};

use e173gw_core::at::session::{SmsSendError, StoredSms, UssdReply};
use e173gw_core::domain::{Imsi, ModemId};

use super::actor::ModemActor;
use super::ModemError;

/// Send one SMS part (a PDU from `e173gw_core::sms::pdu::submit`). The answer is the
/// message reference a status report will carry.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<u8, SmsSendError>")]
pub struct SendSmsPart {
    /// Octets after the SMSC field.
    pub tpdu_len: usize,
    /// The PDU as hex.
    pub pdu: String,
}

/// Send a USSD request and wait for the network's reply.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<UssdReply, ModemError>")]
pub struct UssdRequest {
    /// The code (`*100#`) or a menu answer (`1`).
    pub code: String,
    /// Longest wait for the reply.
    pub timeout: Duration,
}

/// End the open USSD session (a menu the network waits on); a request waiting for its
/// reply gets [`ModemError::NoAnswer`].
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct UssdCancel;

/// Where stored messages go.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct SetInbox(pub Recipient<SmsStored>);

/// A message or status report read from a modem's SIM. Answer `true` once it is kept
/// (then it is deleted from the SIM); `false` leaves it there to be read again.
#[derive(Message, Debug, Clone)]
#[rtype(result = "bool")]
pub struct SmsStored {
    /// The modem.
    pub modem: ModemId,
    /// The SIM it came to.
    pub imsi: Option<Imsi>,
    /// What was read.
    pub sms: StoredSms,
}

/// Requests in flight on one modem.
#[derive(Debug, Default)]
pub(super) struct Messaging {
    sms: std::collections::HashMap<u64, oneshot::Sender<Result<u8, SmsSendError>>>,
    /// The USSD request waiting for its reply (one at a time, as on the device).
    ussd: Option<(u64, oneshot::Sender<Result<UssdReply, ModemError>>)>,
    pub(super) inbox: Option<Recipient<SmsStored>>,
}

impl ModemActor {
    pub(super) fn on_sms_submitted(&mut self, id: u64, result: Result<u8, SmsSendError>) {
        if let Some(tx) = self.messaging.sms.remove(&id) {
            let _ = tx.send(result);
        }
    }

    pub(super) fn on_stored_sms(&mut self, ctx: &mut Context<Self>, sms: StoredSms) {
        let Some(inbox) = self.messaging.inbox.clone() else {
            // Nobody to keep it: it stays on the SIM.
            return;
        };
        let index = sms.index;
        let msg = SmsStored {
            modem: self.spec.id.clone(),
            imsi: self.session.identity().imsi.clone(),
            sms,
        };
        ctx.spawn(inbox.send(msg).into_actor(self).map(move |kept, act, ctx| {
            if matches!(kept, Ok(true)) {
                let now = act.now();
                act.session.delete_sms(now, index);
                act.drive(ctx);
            } else {
                warn!(modem = %act.spec.id, index, "Stored SMS not kept yet; it stays on the SIM.");
            }
        }));
    }

    pub(super) fn on_ussd_sent(&mut self, id: u64, result: Result<(), String>) {
        if let Err(e) = result {
            if let Some((_, tx)) = self.messaging.ussd.take_if(|(i, _)| *i == id) {
                let _ = tx.send(Err(ModemError::Refused(e)));
            }
        }
    }

    pub(super) fn on_ussd_reply(&mut self, reply: UssdReply) {
        match self.messaging.ussd.take() {
            Some((_, tx)) => {
                let _ = tx.send(Ok(reply));
            }
            // Network-initiated, or after the request stopped waiting: logged.
            None => {
                info!(modem = %self.spec.id, mode = reply.mode, text = ?reply.text, "USSD from the network.");
            }
        }
    }
}

impl Handler<SendSmsPart> for ModemActor {
    type Result = ResponseFuture<Result<u8, SmsSendError>>;

    fn handle(&mut self, msg: SendSmsPart, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        let id = self.next_command;
        self.next_command += 1;
        self.messaging.sms.insert(id, tx);
        let now = self.now();
        self.session.send_sms(now, id, msg.tpdu_len, msg.pdu);
        self.drive(ctx);
        Box::pin(async move { rx.await.unwrap_or(Err(SmsSendError::Aborted)) })
    }
}

impl Handler<UssdRequest> for ModemActor {
    type Result = ResponseFuture<Result<UssdReply, ModemError>>;

    fn handle(&mut self, msg: UssdRequest, ctx: &mut Context<Self>) -> Self::Result {
        if self
            .messaging
            .ussd
            .as_ref()
            .is_some_and(|(_, tx)| !tx.is_closed())
        {
            return Box::pin(async { Err(ModemError::Busy) });
        }
        let enc = self.spec.profile.ussd_encoding.into();
        let Some((payload, dcs)) = e173gw_core::sms::ussd::request(&msg.code, enc) else {
            return Box::pin(async {
                Err(ModemError::Refused(
                    "the code has characters USSD cannot carry".into(),
                ))
            });
        };
        let (tx, rx) = oneshot::channel();
        let id = self.next_command;
        self.next_command += 1;
        self.messaging.ussd = Some((id, tx));
        let now = self.now();
        self.session.ussd(now, id, payload, dcs);
        self.drive(ctx);
        let timeout = msg.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(r)) => r,
                Ok(Err(_)) | Err(_) => Err(ModemError::NoAnswer),
            }
        })
    }
}

impl Handler<UssdCancel> for ModemActor {
    type Result = ();

    fn handle(&mut self, _: UssdCancel, ctx: &mut Context<Self>) {
        self.messaging.ussd = None;
        let now = self.now();
        self.session.ussd_cancel(now);
        self.drive(ctx);
    }
}

impl Handler<SetInbox> for ModemActor {
    type Result = ();

    fn handle(&mut self, msg: SetInbox, ctx: &mut Context<Self>) {
        self.messaging.inbox = Some(msg.0);
        // Messages read before there was an inbox are still on the SIM: read them again
        // with the next health poll.
        self.session.reread_stored_sms();
        let _ = ctx;
    }
}

/// Delete a stored message (a part of a long text, once the whole text is kept).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct SmsDeleteStored {
    /// Its slot.
    pub index: u16,
}

impl Handler<SmsDeleteStored> for ModemActor {
    type Result = ();

    fn handle(&mut self, msg: SmsDeleteStored, ctx: &mut Context<Self>) {
        let now = self.now();
        self.session.delete_sms(now, msg.index);
        self.drive(ctx);
    }
}
