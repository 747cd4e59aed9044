//! The SMS centre: SMS sent through the modems and SMS received on their SIMs, and USSD
//! balance checks.
//!
//! - Sending ([`SendSms`]): a modem is picked (the one asked for, else the ready SIM
//!   under its daily and monthly SMS limits that sent the fewest today), the message is
//!   stored `queued`, and its parts go out one at a time per modem, at most one per
//!   `[sms] pace_ms`, retried up to `max_attempts`. A status report moves it to
//!   `delivered` (or `failed`). Every change is stored, and pushed to the webhook.
//! - Receiving: each modem hands over what its SIM stores ([`crate::modem::SmsStored`]).
//!   A long text's parts stay on the SIM until the whole message is stored, so a crash
//!   or a dead database loses nothing (the SIM is the spool; a message read twice is
//!   stored once: its id comes from its content). Stored messages are delivered to the
//!   SIP target (`MESSAGE`) and the webhook, retried with backoff until each took it.
//! - USSD ([`RunUssd`], [`CheckBalance`]): a request on one modem, the reply decoded;
//!   balances read by the operator's template, stored per SIM, low ones counted (and
//!   optionally rested in routing), on demand and on a schedule.

mod actor;
mod inbound;
mod io;
mod ussd;

pub use actor::{SmsCenter, SmsSpec};
pub use ussd::{BalanceError, CancelUssd, CheckBalance, GetBalances, Recharge, RunUssd};

use actix::prelude::*;
use e173gw_core::sms::message::SmsRecord;

/// Why an SMS was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// The number or text cannot be sent as SMS.
    #[error("{0}")]
    Invalid(String),
    /// No modem can take it.
    #[error(transparent)]
    NoModem(#[from] e173gw_core::sms::delivery::PickError),
    /// It could not be stored (it is not queued).
    #[error("storage: {0}")]
    Storage(String),
}

/// Send an SMS. The answer is the stored message (state `queued`).
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<SmsRecord, SmsError>")]
pub struct SendSms {
    /// The recipient: digits with an optional `+`.
    pub to: String,
    /// The text.
    pub text: String,
    /// A modem id or an IMSI to send from.
    pub via: Option<String>,
    /// Ask for a status report (`None`: `[sms] status_report`).
    pub status_report: Option<bool>,
    /// Where the request came from (`api`, `sip:<trunk>`).
    pub origin: String,
}

/// One message, from memory when it is in flight, else from the store.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<Option<SmsRecord>, SmsError>")]
pub struct GetSms(pub String);
