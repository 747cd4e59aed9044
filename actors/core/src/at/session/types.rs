//! Types the session takes and emits.

use std::time::Duration;

use serde::Serialize;

use crate::at::cause::EndCause;
use crate::at::codec::FinalResult;
use crate::at::command::{Command, TimeoutClass};
use crate::at::response::{OperatorInfo, Registration, Signal, VoiceFormat};
use crate::domain::{Iccid, Imei, Imsi};

/// One step of the init sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitStep {
    /// The command.
    pub command: Command,
    /// An `ERROR` does not stop init (SIM and voice queries never stop it either: they set state).
    pub optional: bool,
}

/// Every timeout of the session. Built from the modem profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// `AT` ping.
    pub ping: Duration,
    /// Most commands.
    pub command: Duration,
    /// `ATD` until its final result (a wedged modem is detected by this).
    pub dial_ack: Duration,
    /// `ATA`, `AT+CHUP` until their final result.
    pub call_command: Duration,
    /// USSD, SMS, reboot.
    pub long_command: Duration,
    /// `ATD` OK until `^ORIG`.
    pub orig: Duration,
    /// `^ORIG` until `^CONF` (or alerting in `+CLCC`).
    pub alerting: Duration,
    /// Alerting until `^CONN`: the gateway's own no-answer timer.
    pub answer: Duration,
    /// `AT+CHUP` until `^CEND`.
    pub hangup: Duration,
    /// No byte from the modem for this long: send an `AT` ping.
    pub silence_ping: Duration,
}

impl Timeouts {
    /// The timeout for a command of this class.
    pub fn for_class(&self, c: TimeoutClass) -> Duration {
        match c {
            TimeoutClass::Ping => self.ping,
            TimeoutClass::Normal => self.command,
            TimeoutClass::Dial => self.dial_ack,
            TimeoutClass::Call => self.call_command,
            TimeoutClass::Long => self.long_command,
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            ping: Duration::from_secs(1),
            command: Duration::from_secs(5),
            dial_ack: Duration::from_secs(3),
            call_command: Duration::from_secs(10),
            long_command: Duration::from_secs(40),
            orig: Duration::from_secs(10),
            alerting: Duration::from_secs(30),
            answer: Duration::from_secs(90),
            hangup: Duration::from_secs(5),
            silence_ping: Duration::from_secs(10),
        }
    }
}

/// How the session runs a modem. The composition root builds it from the modem profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Init sequence, in order.
    pub init: Vec<InitStep>,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Health poll period (`AT+CSQ`, `AT+CREG?`, `AT+COPS?`).
    pub poll_interval: Duration,
    /// `AT+CLCC` period while a call is up (zombie and stuck-call detection).
    pub call_poll_interval: Duration,
    /// Send `AT^DDSETEX=2` after `ATD` OK so PCM flows.
    pub audio_command: bool,
    /// Reject incoming GSM calls with `AT+CHUP` (the gateway only places calls).
    pub reject_incoming: bool,
    /// Read stored SMS (`+CMTI`, `+CDSI`, and what the SIM holds after init).
    pub sms: bool,
}

impl SessionConfig {
    /// The E173 defaults (what `modem-profiles/e173.toml` also says).
    pub fn e173_default() -> Self {
        let init = [
            ("AT", false),
            ("ATZ", false),
            ("ATE0", false),
            ("AT+CMEE=1", true),
            ("AT+CGMI", false),
            ("AT+CGMM", false),
            ("AT+CGMR", false),
            ("AT+CGSN", false),
            ("AT+CIMI", false),
            ("AT^ICCID?", true),
            ("AT+CPIN?", false),
            ("AT+CREG=2", false),
            ("AT+CREG?", false),
            ("AT+CNUM", true),
            ("AT+COPS=3,2", true),
            ("AT+COPS?", true),
            ("AT+COPS=3,0", true),
            ("AT+COPS?", true),
            ("AT^CVOICE?", false),
            ("AT+CCWA=0,0,1", true),
            ("AT+CSSN=1,1", true),
            ("AT+CMGF=0", true),
            ("AT+CPMS=\"SM\",\"SM\",\"SM\"", true),
            ("AT+CNMI=2,1,0,2,0", true),
            ("AT+CSQ", false),
        ]
        .into_iter()
        .map(|(c, optional)| InitStep {
            command: Command::parse(c),
            optional,
        })
        .collect();
        Self {
            init,
            timeouts: Timeouts::default(),
            poll_interval: Duration::from_secs(30),
            call_poll_interval: Duration::from_secs(5),
            audio_command: true,
            reject_incoming: true,
            sms: true,
        }
    }
}

/// Identity learned during init.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ModemIdentity {
    /// `AT+CGMI`
    pub manufacturer: Option<String>,
    /// `AT+CGMM`
    pub model: Option<String>,
    /// `AT+CGMR`
    pub firmware: Option<String>,
    /// `AT+CGSN`
    pub imei: Option<Imei>,
    /// `AT+CIMI`
    pub imsi: Option<Imsi>,
    /// `AT^ICCID?`
    pub iccid: Option<Iccid>,
    /// `AT+CNUM`
    pub own_number: Option<String>,
}

/// SIM state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SimState {
    /// Not known yet.
    Unknown,
    /// Present and unlocked.
    Ready,
    /// Present but asks for a PIN/PUK or is network-locked.
    Locked,
    /// Not inserted (or unreadable).
    Absent,
}

/// Why a modem cannot take a call right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "detail")]
pub enum Unavailable {
    /// The port is not open.
    Closed,
    /// Init is running.
    Initializing,
    /// Init failed or the modem stopped answering; a reset is due.
    Failed(String),
    /// No SIM, or SIM locked.
    Sim(SimState),
    /// The firmware has no voice support (`AT^CVOICE?` failed).
    NoVoice,
    /// Not registered on a network.
    NotRegistered,
    /// A call is up or being torn down.
    InCall,
}

/// Outgoing call phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallPhase {
    /// `ATD` sent, no `^CONF` yet.
    Dialing,
    /// The network is ringing the callee.
    Alerting,
    /// Answered.
    Active,
    /// `AT+CHUP` sent.
    HangingUp,
    /// An incoming call rings, not answered (yet).
    Ringing,
}

/// Identifies one call placed through a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct CallId(pub u64);

/// Progress of the call placed by [`super::ModemSession::dial`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// The modem accepted the dial (`ATD` OK / `^ORIG`).
    Dialing(CallId),
    /// The callee is being alerted (`^CONF` or `+CLCC` stat 3): ringback is on the audio port.
    Alerting(CallId),
    /// Answered (`^CONN`).
    Answered(CallId),
    /// A call arrived on the SIM (`RING`, `+CLIP`, `+CLCC` stat 4): answer it with
    /// [`super::ModemSession::answer`] or refuse it with [`super::ModemSession::hangup`].
    Incoming {
        /// The call.
        call: CallId,
        /// The caller's number as the network gave it (empty or absent when withheld).
        number: Option<String>,
    },
    /// The call is over.
    Ended {
        /// Which call.
        call: CallId,
        /// Why.
        cause: EndCause,
        /// Talk time: from answer to end (0 if never answered).
        talk: Duration,
        /// Whether it was ever answered.
        answered: bool,
    },
}

/// Why the session gave up on the modem: the owner must reset it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A command got no final result in time.
    CommandTimeout {
        /// The command text.
        command: String,
    },
    /// A mandatory init step failed.
    InitFailed {
        /// The command text.
        command: String,
        /// What the modem answered.
        result: String,
    },
    /// The modem forgot its settings (echo came back on): it restarted on its own.
    Restarted,
    /// A hang-up did not end the call in time.
    StuckCall,
}

/// Something the owner of the session should know.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// Init finished; the snapshot shows whether calls can be placed.
    Ready,
    /// Identity learned (after init, or after a SIM change was re-read).
    Identity(ModemIdentity),
    /// A different SIM is in the modem than last time (IMSI or ICCID changed).
    SimChanged {
        /// The previous IMSI.
        old_imsi: Option<Imsi>,
        /// The new IMSI.
        new_imsi: Option<Imsi>,
    },
    /// SIM state changed.
    Sim(SimState),
    /// Signal changed.
    Signal(Signal),
    /// Registration changed.
    Registration(Registration),
    /// Operator learned or changed.
    Operator(OperatorInfo),
    /// Call progress.
    Call(CallEvent),
    /// The modem needs a reset; calls are already ended.
    Fault(Fault),
    /// A command submitted with [`super::ModemSession::submit`] finished.
    CommandDone {
        /// The id given at submit.
        id: u64,
        /// The final result (`None`: it timed out or the session was reset).
        result: Option<FinalResult>,
        /// Information lines.
        lines: Vec<String>,
    },
    /// An incoming call was refused (the gateway only places calls).
    IncomingRejected,
    /// An SMS part given to [`super::ModemSession::send_sms`] was sent (`Ok(<TP-MR>)`) or not.
    SmsSubmitted {
        /// The id given at send.
        id: u64,
        /// The message reference the status report will carry, or why it was not sent.
        result: Result<u8, super::SmsSendError>,
    },
    /// A message or status report is on the SIM; delete it with
    /// [`super::ModemSession::delete_sms`] once it is kept.
    StoredSms(super::StoredSms),
    /// Whether the modem took a USSD request.
    UssdSent {
        /// The id given at request.
        id: u64,
        /// `Err` says why not.
        result: Result<(), String>,
    },
    /// A USSD reply from the network.
    Ussd(super::UssdReply),
}

/// Counters, reset only when the process restarts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SessionStats {
    /// Commands written.
    pub commands: u64,
    /// Commands that timed out.
    pub timeouts: u64,
    /// Commands answered with an error.
    pub errors: u64,
    /// URCs seen.
    pub urcs: u64,
    /// Garbage lines or byte runs seen.
    pub garbage: u64,
    /// Final results with no command in flight.
    pub stray_finals: u64,
    /// Calls dialled.
    pub calls: u64,
    /// Calls answered.
    pub answered: u64,
    /// Seconds of talk time.
    pub talk_seconds: u64,
    /// Bytes read from the AT port.
    pub bytes_in: u64,
    /// Bytes written to the AT port.
    pub bytes_out: u64,
}

/// A point-in-time view of the modem, for the gateway, the router and the API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModemSnapshot {
    /// Identity.
    pub identity: ModemIdentity,
    /// SIM state.
    pub sim: SimState,
    /// Last signal reading.
    pub signal: Option<Signal>,
    /// Last registration.
    pub registration: Option<Registration>,
    /// Last operator of the network the modem is registered on.
    pub operator: OperatorInfo,
    /// The SIM's home network (MCC+MNC, from the IMSI), which may differ from the
    /// network's when roaming.
    pub sim_plmn: Option<String>,
    /// Voice format (`None`: not known, or no voice).
    pub voice: Option<VoiceFormat>,
    /// Current call phase.
    pub call: Option<CallPhase>,
    /// `Ok(())` when a call can be placed now.
    pub available: Result<(), Unavailable>,
    /// Counters.
    pub stats: SessionStats,
}

impl CallEvent {
    /// The call this event is about.
    pub fn call(&self) -> CallId {
        match self {
            Self::Dialing(c)
            | Self::Alerting(c)
            | Self::Answered(c)
            | Self::Incoming { call: c, .. }
            | Self::Ended { call: c, .. } => *c,
        }
    }
}

/// Why a dial was refused before anything was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialRefused {
    /// The modem cannot take a call now.
    #[error("modem unavailable: {0:?}")]
    Unavailable(Unavailable),
}

/// Why an in-call request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallRequestError {
    /// No call with that id is up.
    #[error("no such call")]
    NoSuchCall,
    /// The call is not answered yet (DTMF needs an active call), or not one that rings
    /// here (only an incoming call is answered).
    #[error("call not active")]
    NotActive,
    /// A DTMF digit outside `0-9 * #` (A-D make some firmware hang up).
    #[error("digit {0:?} cannot be sent")]
    BadDigit(char),
}
