//! What `status` reports about a device: counters, the current and the last call, SMS
//! and USSD state.

use serde::Serialize;

use super::sms::{SentSms, SmsStatus};
use super::ussd::UssdStatus;
use super::CallStat;

/// Counters reported by `status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Counters {
    /// Command lines executed.
    pub(crate) commands: u64,
    /// Command lines dropped (frozen, rebooting, queue full).
    pub(crate) commands_dropped: u64,
    /// URC lines sent.
    pub(crate) urcs: u64,
    /// Calls accepted by `ATD`.
    pub(crate) calls: u64,
    /// Incoming calls that rang.
    pub(crate) incoming_calls: u64,
    /// Delayed `ring`s that could not start (no SIM, no network, a call in progress).
    pub(crate) incoming_refused: u64,
    /// Messages (parts) sent with `AT+CMGS`.
    pub(crate) sms_sent: u64,
    /// Messages delivered from the control socket (a long text counts once).
    pub(crate) sms_received: u64,
    /// USSD requests (`AT+CUSD=1,"..."`).
    pub(crate) ussd_requests: u64,
    /// Reboots (`AT+CFUN=1,1` or `reboot`).
    pub(crate) reboots: u64,
}

/// The last finished call, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct LastCall {
    /// Dialled number, or the caller's.
    pub(crate) number: String,
    /// `outgoing` or `incoming`.
    pub(crate) direction: &'static str,
    /// It was answered (`^CONN`).
    pub(crate) answered: bool,
    /// How it ended.
    pub(crate) outcome: &'static str,
    /// Seconds since `^CONN`.
    pub(crate) duration_s: u64,
    /// DTMF digits sent with `AT^DTMF`.
    pub(crate) dtmf: String,
}

/// The current call, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CallStatus {
    /// Dialled number, or the caller's.
    pub(crate) number: String,
    /// `outgoing` or `incoming`.
    pub(crate) direction: &'static str,
    /// `dialing`, `alerting`, `incoming` (ringing) or `active`.
    pub(crate) stat: CallStat,
    /// `AT^DDSETEX=2` received: PCM flows.
    pub(crate) audio: bool,
    /// DTMF digits so far.
    pub(crate) dtmf: String,
}

/// A snapshot of the device for `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct DeviceStatus {
    /// `ready`, `frozen` or `rebooting`.
    pub(crate) state: &'static str,
    /// Registered on the home network.
    pub(crate) registered: bool,
    /// `+CREG` stat (0 none, 1 home, 2 searching).
    pub(crate) reg_stat: u8,
    /// Signal quality.
    pub(crate) rssi: u8,
    /// `present` or `absent`.
    pub(crate) sim: &'static str,
    /// Commands are dropped unanswered.
    pub(crate) frozen: bool,
    /// Voice enabled.
    pub(crate) voice: bool,
    /// Echo on.
    pub(crate) echo: bool,
    /// `AT+CMEE` mode.
    pub(crate) cmee: u8,
    /// `AT+CREG` URC mode.
    pub(crate) creg_n: u8,
    /// `AT+CLIP=1`: `+CLIP` after each `RING`.
    pub(crate) clip: bool,
    /// `AT+CRC=1`: `+CRING: VOICE` instead of `RING`.
    pub(crate) crc: bool,
    /// SMS mode, SIM slots, the failure switch.
    pub(crate) sms: SmsStatus,
    /// The last messages sent (at most 100), oldest first.
    pub(crate) sms_sent: Vec<SentSms>,
    /// Balance and USSD session.
    pub(crate) ussd: UssdStatus,
    /// The current call.
    pub(crate) call: Option<CallStatus>,
    /// The last finished call.
    pub(crate) last_call: Option<LastCall>,
    /// Counters.
    pub(crate) counters: Counters,
}
