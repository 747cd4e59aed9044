//! USSD through the SMS centre: a request on one modem, balance checks by the operator's
//! template (on demand and on a schedule), low balances, recharge.

use std::time::Duration;

use actix::prelude::*;
use tracing::{info, warn};

use e173gw_core::at::session::UssdReply;
use e173gw_core::domain::ModemId;
use e173gw_core::sms::balance::BalanceTemplate;
use e173gw_core::sms::message::SimBalance;

use super::actor::SmsCenter;
use crate::modem::UssdRequest;
use crate::routing::{AdminAction, AdminModem};
use crate::wall_ms;

/// Why a USSD request or balance check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BalanceError {
    /// No such modem here.
    #[error("no modem {0:?} here")]
    NoSuchModem(String),
    /// No `[[ussd.balance]]` rule for the SIM's network.
    #[error("no balance rule for network {0:?}")]
    NoRule(String),
    /// The modem or the network failed.
    #[error("USSD: {0}")]
    Ussd(String),
    /// The reply did not match the template.
    #[error("reply not understood: {0:?}")]
    Unreadable(String),
    /// It could not be stored.
    #[error("storage: {0}")]
    Storage(String),
}

/// Send a USSD code on a modem; the answer is the network's reply.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<UssdReply, BalanceError>")]
pub struct RunUssd {
    /// The modem.
    pub modem: ModemId,
    /// The code, or a menu answer.
    pub code: String,
}

/// End a modem's open USSD session.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<(), BalanceError>")]
pub struct CancelUssd {
    /// The modem.
    pub modem: ModemId,
}

/// Read a SIM's balance with its operator's template, store it, and act on a low one.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<SimBalance, BalanceError>")]
pub struct CheckBalance {
    /// The modem.
    pub modem: ModemId,
}

/// Top a SIM up with a voucher through its operator's recharge code.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<UssdReply, BalanceError>")]
pub struct Recharge {
    /// The modem.
    pub modem: ModemId,
    /// The voucher digits.
    pub voucher: String,
}

/// Every SIM's last balance, and whether it is low.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Result<Vec<(SimBalance, bool)>, BalanceError>")]
pub struct GetBalances;

impl SmsCenter {
    fn ussd(
        &self,
        modem: &ModemId,
        code: String,
    ) -> Result<Request<crate::modem::ModemActor, UssdRequest>, BalanceError> {
        let m = self
            .modems
            .get(modem)
            .ok_or_else(|| BalanceError::NoSuchModem(modem.to_string()))?;
        Ok(m.addr.send(UssdRequest {
            code,
            timeout: Duration::from_secs(self.spec.ussd.timeout_s),
        }))
    }

    fn plmn(&self, modem: &ModemId) -> Option<String> {
        self.modems.get(modem)?.status.session.sim_plmn.clone()
    }

    pub(super) fn is_low(&self, cents: i64) -> bool {
        self.spec.ussd.low_balance_cents.is_some_and(|l| cents < l)
    }

    /// Acts on a balance just read: a low one is logged (and rests the SIM until a check
    /// finds it topped up, with `rest_when_low`); a topped-up one ends that rest.
    fn after_balance(&mut self, b: &SimBalance) {
        let Ok(id) = ModemId::parse(&b.modem) else {
            return;
        };
        let rest = |seconds: u32, reason: String| AdminModem {
            id: id.clone(),
            action: AdminAction::Rest { seconds, reason },
        };
        if self.is_low(b.cents) {
            warn!(modem = %b.modem, imsi = %b.imsi, cents = b.cents, "SIM balance low.");
            if let (true, Some(r)) = (self.spec.ussd.rest_when_low, &self.spec.rest) {
                // Until a check finds it topped up (a week at most).
                r.do_send(rest(604_800, format!("balance low ({} cents)", b.cents)));
                self.rested_low.insert(id.clone());
            }
        } else {
            info!(modem = %b.modem, imsi = %b.imsi, cents = b.cents, "SIM balance read.");
            if self.rested_low.remove(&id) {
                if let Some(r) = &self.spec.rest {
                    // A rest of one second replaces the long one: back in routing at once.
                    r.do_send(rest(1, format!("balance topped up ({} cents)", b.cents)));
                }
            }
        }
    }

    /// Checks every ready SIM's balance once per `[ussd] balance_every_s`, spread over
    /// the period one modem at a time.
    pub(super) fn balance_schedule(&mut self, ctx: &mut Context<Self>) {
        let every = self.spec.ussd.balance_every_s;
        if every == 0 || self.modems.is_empty() {
            return;
        }
        let step = (every / self.modems.len() as u64).max(1);
        if self.ticks % step != 0 {
            return;
        }
        let i = ((self.ticks / step) as usize) % self.modems.len();
        if let Some(id) = self.modems.keys().nth(i).cloned() {
            let me = ctx.address();
            ctx.spawn(
                async move {
                    if let Ok(Err(e)) = me.send(CheckBalance { modem: id.clone() }).await {
                        warn!(modem = %id, error = %e, "Scheduled balance check failed.");
                    }
                }
                .into_actor(self),
            );
        }
    }
}

fn reply_text(
    r: Result<Result<UssdReply, crate::modem::ModemError>, MailboxError>,
) -> Result<UssdReply, BalanceError> {
    match r {
        Ok(Ok(reply)) if reply.failed() => Err(BalanceError::Ussd(format!(
            "network answered mode {}",
            reply.mode
        ))),
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(e)) => Err(BalanceError::Ussd(e.to_string())),
        Err(e) => Err(BalanceError::Ussd(e.to_string())),
    }
}

impl Handler<RunUssd> for SmsCenter {
    type Result = ResponseFuture<Result<UssdReply, BalanceError>>;

    fn handle(&mut self, msg: RunUssd, _: &mut Context<Self>) -> Self::Result {
        let req = self.ussd(&msg.modem, msg.code);
        Box::pin(async move { reply_text(req?.await) })
    }
}

impl Handler<CancelUssd> for SmsCenter {
    type Result = Result<(), BalanceError>;

    fn handle(&mut self, msg: CancelUssd, _: &mut Context<Self>) -> Self::Result {
        let m = self
            .modems
            .get(&msg.modem)
            .ok_or_else(|| BalanceError::NoSuchModem(msg.modem.to_string()))?;
        m.addr.do_send(crate::modem::UssdCancel);
        Ok(())
    }
}

impl Handler<Recharge> for SmsCenter {
    type Result = ResponseFuture<Result<UssdReply, BalanceError>>;

    fn handle(&mut self, msg: Recharge, _: &mut Context<Self>) -> Self::Result {
        let plmn = self.plmn(&msg.modem).unwrap_or_default();
        let rule = self
            .spec
            .ussd
            .rule_for(Some(&plmn))
            .filter(|r| !r.recharge.is_empty())
            .cloned();
        let Some(rule) = rule else {
            return Box::pin(async move { Err(BalanceError::NoRule(plmn)) });
        };
        if msg.voucher.is_empty() || !msg.voucher.bytes().all(|b| b.is_ascii_digit()) {
            return Box::pin(async {
                Err(BalanceError::Ussd("the voucher must be digits".into()))
            });
        }
        let code = rule.recharge.replace("{voucher}", &msg.voucher);
        let req = self.ussd(&msg.modem, code);
        let modem = msg.modem;
        Box::pin(async move {
            let reply = reply_text(req?.await)?;
            let text = reply.text.clone().unwrap_or_default();
            let ok = rule.recharge_ok.is_empty()
                || regex::Regex::new(&rule.recharge_ok).is_ok_and(|r| r.is_match(&text));
            info!(modem = %modem, ok, reply = %text, "Recharge.");
            if ok {
                Ok(reply)
            } else {
                Err(BalanceError::Unreadable(text))
            }
        })
    }
}

impl Handler<CheckBalance> for SmsCenter {
    type Result = ResponseActFuture<Self, Result<SimBalance, BalanceError>>;

    fn handle(&mut self, msg: CheckBalance, _: &mut Context<Self>) -> Self::Result {
        let plmn = self.plmn(&msg.modem).unwrap_or_default();
        let template = match self.spec.ussd.rule_for(Some(&plmn)) {
            Some(r) => BalanceTemplate::new(&r.code, &r.pattern)
                .map_err(|e| BalanceError::NoRule(format!("{plmn}: {e}"))),
            None => Err(BalanceError::NoRule(plmn)),
        };
        let imsi = self.imsi_of(&msg.modem);
        let req = template.and_then(|t| Ok((self.ussd(&msg.modem, t.code.clone())?, t)));
        let store = self.spec.store.clone();
        let modem = msg.modem;
        Box::pin(
            async move {
                let (req, t) = req?;
                let reply = reply_text(req.await)?;
                let text = reply.text.unwrap_or_default();
                let b = t
                    .read(&text)
                    .ok_or_else(|| BalanceError::Unreadable(text.clone()))?;
                let bal = SimBalance {
                    imsi: imsi.unwrap_or_default(),
                    modem: modem.to_string(),
                    cents: b.cents,
                    expiry: b.expiry,
                    reply: text,
                    at_ms: wall_ms(),
                };
                if !bal.imsi.is_empty() {
                    store
                        .put_balance(&bal)
                        .await
                        .map_err(|e| BalanceError::Storage(e.to_string()))?;
                }
                Ok(bal)
            }
            .into_actor(self)
            .map(|res, act, _| {
                if let Ok(b) = &res {
                    act.after_balance(b);
                }
                res
            }),
        )
    }
}

impl Handler<GetBalances> for SmsCenter {
    type Result = ResponseActFuture<Self, Result<Vec<(SimBalance, bool)>, BalanceError>>;

    fn handle(&mut self, _: GetBalances, _: &mut Context<Self>) -> Self::Result {
        let store = self.spec.store.clone();
        Box::pin(
            async move { store.balances().await }
                .into_actor(self)
                .map(|r, act, _| {
                    r.map(|v| {
                        v.into_iter()
                            .map(|b| {
                                let low = act.is_low(b.cents);
                                (b, low)
                            })
                            .collect()
                    })
                    .map_err(|e| BalanceError::Storage(e.to_string()))
                }),
        )
    }
}
