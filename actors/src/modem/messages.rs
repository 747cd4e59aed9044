//! Messages the modem actor handles, and the ones it sends.

use std::path::PathBuf;

use actix::prelude::*;
use serde::Serialize;

use e173gw_core::at::codec::FinalResult;
use e173gw_core::at::session::{CallEvent, CallId, ModemSnapshot};
use e173gw_core::domain::{DialNumber, ModemId};

use super::ModemError;

/// Place a call. Progress comes to `events`; received audio (20 ms frames of 16-bit
/// little-endian PCM) to `audio`.
#[derive(Message, Debug)]
#[rtype(result = "Result<CallId, ModemError>")]
pub struct Dial {
    /// Number to dial, as received.
    pub number: DialNumber,
    /// Its forms from screening; the profile's `[dial]` table picks the one dialled.
    pub forms: e173gw_core::config::dial::DialForms,
    /// Reference for logs (the SIP Call-ID, when there is one).
    pub call_ref: String,
    /// Receives call progress.
    pub events: Recipient<ModemCallEvent>,
    /// Receives audio read from the modem while the call is up.
    pub audio: Option<Recipient<AudioIn>>,
    /// Receives the AT lines of the call (for its ladder).
    pub trace: Option<Recipient<AtLines>>,
}

/// AT lines of a call, for its ladder.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct AtLines {
    /// The lines.
    pub lines: Vec<String>,
    /// Written to the modem (else read from it).
    pub out: bool,
    /// When (Unix ms).
    pub at_ms: u64,
}

/// Hang up a call placed with [`Dial`].
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Result<(), ModemError>")]
pub struct Hangup {
    /// The call.
    pub call: CallId,
}

/// Send DTMF digits on an answered call.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<(), ModemError>")]
pub struct SendDtmf {
    /// The call.
    pub call: CallId,
    /// Digits `0-9 * #`.
    pub digits: String,
}

/// Audio to play to the callee: one frame of 16-bit little-endian PCM (the profile's frame
/// size, 320 bytes on an E173). Frames are queued and written one per frame period.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct AudioOut {
    /// The call.
    pub call: CallId,
    /// PCM bytes.
    pub pcm: Vec<u8>,
}

/// How hard to reset a modem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetKind {
    /// Re-run the init sequence over the open ports.
    Soft,
    /// Close and reopen both ports.
    Reopen,
    /// `AT+CFUN=1,1`: reboot the device (it may re-enumerate with new tty names).
    Reboot,
}

/// Reset the modem (operator action). A call in progress ends.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Reset {
    /// How.
    pub kind: ResetKind,
}

/// Run a raw AT command (operator diagnostics).
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<CommandOutput, ModemError>")]
pub struct RunCommand {
    /// The command text, e.g. `AT^SYSCFG?`.
    pub command: String,
}

/// The answer to [`RunCommand`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// Final result.
    pub result: FinalResult,
    /// Information lines.
    pub lines: Vec<String>,
}

/// Give the modem a pair of ports to use (discovery found its IMEI there).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct AttachPorts {
    /// The ports.
    pub ports: super::PortPaths,
}

/// The current status.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "ModemStatus")]
pub struct GetStatus;

/// Receive a [`ModemStatusChanged`] on every change.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Subscribe(pub Recipient<ModemStatusChanged>);

/// Whether the modem holds its ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Waiting for discovery to find the device.
    Unbound,
    /// Ports open.
    Open,
    /// Ports could not be opened or were lost; retrying after a backoff.
    Gone,
    /// The ports hold a different device (IMEI mismatch); released.
    WrongDevice,
}

/// Counters of the audio path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AudioStats {
    /// Frames read from the modem.
    pub frames_in: u64,
    /// Frames written to the modem (including silence).
    pub frames_out: u64,
    /// Silence frames written because nothing was queued.
    pub underruns: u64,
    /// Frames dropped because the queue was full.
    pub overflows: u64,
}

/// Everything known about a modem.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModemStatus {
    /// Configured or adopted id.
    pub id: ModemId,
    /// Profile name.
    pub profile: String,
    /// Port state.
    pub link: LinkState,
    /// Ports in use (or last used).
    pub ports: Option<super::PortPaths>,
    /// The session's view: identity, SIM, signal, registration, operator, call, counters.
    pub session: ModemSnapshot,
    /// Recovery ladder rung (0 = healthy).
    pub recovery_rung: u32,
    /// Last fault, for the operator.
    pub last_fault: Option<String>,
    /// Resets performed.
    pub resets: u64,
    /// Audio counters.
    pub audio: AudioStats,
}

impl ModemStatus {
    /// Whether a call can be placed on this modem now.
    pub fn is_available(&self) -> bool {
        self.link == LinkState::Open && self.session.available.is_ok()
    }
}

/// Call progress, sent to the requester of a [`Dial`].
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct ModemCallEvent {
    /// The modem.
    pub modem: ModemId,
    /// What happened.
    pub event: CallEvent,
}

/// Audio read from the modem during a call.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct AudioIn {
    /// The call.
    pub call: CallId,
    /// One frame of PCM.
    pub pcm: Vec<u8>,
}

/// A modem's status changed.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct ModemStatusChanged {
    /// The new status.
    pub status: ModemStatus,
}

/// Bytes from the AT port (internal).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub(crate) struct AtRx {
    pub(crate) generation: u64,
    pub(crate) bytes: Vec<u8>,
}

/// A frame from the audio port (internal).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub(crate) struct AudioRx {
    pub(crate) generation: u64,
    pub(crate) pcm: Vec<u8>,
}

/// A port failed (internal).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub(crate) struct PortLost {
    pub(crate) generation: u64,
    pub(crate) port: PathBuf,
    pub(crate) error: String,
}

/// Hang up any call, wait up to `grace` for the modem to confirm, then close the ports.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Drain {
    /// Longest wait for the hang-up.
    pub grace: std::time::Duration,
}
