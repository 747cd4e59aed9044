//! The modem actor: one per device. It owns the AT and audio ports, runs the sans-IO
//! [`ModemSession`](e173gw_core::at::session::ModemSession), publishes health to its
//! gateway and call events to the call that holds it, and climbs the recovery ladder
//! when the device misbehaves.

mod actor;
mod audio;
mod handlers;
mod incoming;
mod messages;
mod messaging;
pub(crate) mod ports;

pub use actor::{ModemActor, ModemSpec};
pub use incoming::{AnswerCall, IncomingCall, IncomingDecision, SetIncoming};
pub use messages::*;
pub use messaging::{SendSmsPart, SetInbox, SmsDeleteStored, SmsStored, UssdCancel, UssdRequest};
pub use ports::PortPaths;

use e173gw_core::at::session::{CallRequestError, Unavailable};

/// Why a request to a modem failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModemError {
    /// The modem cannot take a call now.
    #[error("modem unavailable: {0:?}")]
    Unavailable(Unavailable),
    /// No such call on this modem.
    #[error("no such call")]
    NoSuchCall,
    /// The call is not answered yet.
    #[error("call not active")]
    NotActive,
    /// A DTMF digit that cannot be sent.
    #[error("digit {0:?} cannot be sent")]
    BadDigit(char),
    /// The modem refused the request.
    #[error("modem refused: {0}")]
    Refused(String),
    /// A request of the same kind is running (one USSD session at a time).
    #[error("modem busy with another request")]
    Busy,
    /// The command got no answer (timeout, reset or port loss).
    #[error("no answer from the modem")]
    NoAnswer,
    /// The actor is gone.
    #[error("modem actor stopped")]
    Stopped,
}

impl From<CallRequestError> for ModemError {
    fn from(e: CallRequestError) -> Self {
        match e {
            CallRequestError::NoSuchCall => Self::NoSuchCall,
            CallRequestError::NotActive => Self::NotActive,
            CallRequestError::BadDigit(c) => Self::BadDigit(c),
        }
    }
}
