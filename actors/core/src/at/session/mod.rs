//! The sans-IO modem session: one modem's AT conversation as a state machine.
//!
//! Bytes and time go in, bytes to write and events come out; nothing here reads a clock
//! or touches a port. The owner (the modem actor, or a test) drives it:
//!
//! ```text
//! session.port_opened(now);                 // starts the init sequence
//! loop {
//!     write_all(session.poll_transmit());    // commands to send
//!     handle(session.poll_event());          // Ready, Signal, Call(..), Fault(..)
//!     sleep_until(session.next_deadline());  // then handle_timeout(now)
//!     session.receive(now, &bytes_read);     // or this, when bytes arrive
//! }
//! ```
//!
//! One command is in flight at a time, as on the real device. Call commands jump the
//! queue ahead of health polls. Every command and every call phase has a timeout; a
//! command that times out puts the session in a failed state and emits a
//! [`Fault`](types::Fault): the owner decides how to reset (see [`crate::at::recovery`]).

mod answers;
mod call;
mod incoming;
mod queue;
mod sms;
mod types;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use sms::{stored_pdus, SmsSendError, StoredSms, UssdReply};
pub use types::*;

use super::codec::{AtDecoder, Expect, FinalResult, Frame};
use super::command::Command;
use super::response::{OperatorInfo, Registration, Signal, VoiceFormat};
use crate::domain::DialNumber;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Closed,
    Init(usize),
    Ready,
    Failed(String),
}

/// Why a command was queued: decides what its answer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Init(usize),
    Poll,
    Ping,
    Dial,
    /// `ATA` for an incoming call.
    Answer,
    AudioOn,
    Hangup,
    CallList,
    Dtmf,
    /// Hang up a call that is not ours (incoming, or a ghost); the answer is ignored.
    Reject,
    SimRefresh {
        last: bool,
    },
    /// Reading stored messages (`AT+CMGR`, `AT+CMGL`).
    SmsRead,
    /// An SMS part of the owner's.
    Sms(u64),
    /// A USSD request of the owner's.
    Ussd(u64),
    User(u64),
}

impl Purpose {
    fn is_call(self) -> bool {
        matches!(self, Self::AudioOn | Self::CallList | Self::Dtmf)
    }
}

#[derive(Debug)]
struct Pending {
    cmd: Command,
    purpose: Purpose,
}

#[derive(Debug)]
struct InFlight {
    cmd: Command,
    purpose: Purpose,
    deadline: Instant,
    lines: Vec<String>,
    /// The SMS prompt came and the PDU went out.
    prompted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Voice {
    Unknown,
    Yes(VoiceFormat),
    No,
}

/// One modem's AT session. See the module docs.
#[derive(Debug)]
pub struct ModemSession {
    cfg: SessionConfig,
    decoder: AtDecoder,
    phase: Phase,
    urgent: VecDeque<Pending>,
    queue: VecDeque<Pending>,
    in_flight: Option<InFlight>,
    outbox: VecDeque<Vec<u8>>,
    events: VecDeque<SessionEvent>,
    identity: ModemIdentity,
    sim: SimState,
    signal: Option<Signal>,
    registration: Option<Registration>,
    operator: OperatorInfo,
    voice: Voice,
    call: Option<call::Call>,
    next_call_id: u64,
    next_poll: Option<Instant>,
    next_call_poll: Option<Instant>,
    last_activity: Option<Instant>,
    echo_expected: bool,
    rejecting: bool,
    ghost_strikes: u8,
    /// The last command written, to recognise its echo.
    last_sent: Option<String>,
    stats: SessionStats,
    /// What the SIM stores was listed in this session.
    sms_listed: bool,
}

impl ModemSession {
    /// A session for a closed port.
    pub fn new(cfg: SessionConfig) -> Self {
        Self {
            cfg,
            decoder: AtDecoder::new(),
            phase: Phase::Closed,
            urgent: VecDeque::new(),
            queue: VecDeque::new(),
            in_flight: None,
            outbox: VecDeque::new(),
            events: VecDeque::new(),
            identity: ModemIdentity::default(),
            sim: SimState::Unknown,
            signal: None,
            registration: None,
            operator: OperatorInfo::default(),
            voice: Voice::Unknown,
            call: None,
            next_call_id: 1,
            next_poll: None,
            next_call_poll: None,
            last_activity: None,
            echo_expected: true,
            rejecting: false,
            ghost_strikes: 0,
            last_sent: None,
            stats: SessionStats::default(),
            sms_listed: false,
        }
    }

    /// The port was opened (or reopened): start the init sequence. The identity learned
    /// before is kept until the new answers replace it, so a SIM swap is noticed.
    pub fn port_opened(&mut self, now: Instant) {
        self.decoder.clear();
        self.restart(now, None);
    }

    /// The port is gone. A call in progress ends with [`EndKind::DeviceGone`](super::cause::EndKind).
    pub fn port_closed(&mut self, now: Instant) {
        self.abort_everything(now, super::cause::EndKind::DeviceGone, "modem port lost");
        self.phase = Phase::Closed;
        self.decoder.clear();
    }

    /// Soft reset: drop what is queued, end a call in progress, and run the init sequence
    /// again over the open port (it starts with `AT`, `ATZ`).
    pub fn soft_reset(&mut self, now: Instant, reason: &str) {
        self.restart(now, Some(reason));
    }

    fn restart(&mut self, now: Instant, reason: Option<&str>) {
        let detail = reason.map_or_else(
            || "modem port reopened".to_string(),
            |r| format!("modem reset: {r}"),
        );
        self.abort_everything(now, super::cause::EndKind::ModemRestarted, &detail);
        self.signal = None;
        self.registration = None;
        self.voice = Voice::Unknown;
        self.sim = SimState::Unknown;
        self.echo_expected = true;
        self.rejecting = false;
        self.ghost_strikes = 0;
        self.next_poll = None;
        self.next_call_poll = None;
        self.sms_listed = false;
        self.last_activity = Some(now);
        if self.cfg.init.is_empty() {
            self.finish_init(now);
        } else {
            self.phase = Phase::Init(0);
            self.enqueue(Purpose::Init(0), self.cfg.init[0].command.clone());
        }
        self.pump(now);
    }

    /// Ends the call, fails user commands, clears every queue.
    fn abort_everything(&mut self, now: Instant, kind: super::cause::EndKind, detail: &str) {
        if self.call.is_some() {
            self.end_call(now, super::cause::EndCause::new(kind, detail));
        }
        let inflight = self.in_flight.take().map(|f| f.purpose);
        let queued: Vec<Purpose> = self
            .urgent
            .drain(..)
            .chain(self.queue.drain(..))
            .map(|p| p.purpose)
            .collect();
        for purpose in inflight.into_iter().chain(queued) {
            let event = match purpose {
                Purpose::User(id) => SessionEvent::CommandDone {
                    id,
                    result: None,
                    lines: Vec::new(),
                },
                Purpose::Sms(id) => SessionEvent::SmsSubmitted {
                    id,
                    result: Err(SmsSendError::Aborted),
                },
                Purpose::Ussd(id) => SessionEvent::UssdSent {
                    id,
                    result: Err(detail.to_string()),
                },
                _ => continue,
            };
            self.events.push_back(event);
        }
        self.decoder.expect(Expect::default());
    }

    /// Bytes read from the AT port.
    pub fn receive(&mut self, now: Instant, bytes: &[u8]) {
        self.stats.bytes_in += bytes.len() as u64;
        self.last_activity = Some(now);
        self.decoder.push(bytes);
        while let Some(frame) = self.decoder.decode() {
            self.on_frame(now, frame);
        }
        self.pump(now);
    }

    /// Call when [`Self::next_deadline`] has passed (calling early is harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(f) = &self.in_flight {
            if now >= f.deadline {
                let command = f.cmd.wire();
                if matches!(f.cmd, Command::SmsSend { .. }) {
                    // A prompt left open swallows every later command: ESC clears it.
                    self.outbox.push_back(vec![0x1b]);
                }
                self.stats.timeouts += 1;
                self.fail(now, Fault::CommandTimeout { command });
                return;
            }
        }
        self.call_timeouts(now);
        if self.phase == Phase::Ready {
            if self.next_poll.is_some_and(|t| now >= t) {
                self.next_poll = Some(now + self.cfg.poll_interval);
                self.queue_poll();
            }
            if self.call.is_some() && self.next_call_poll.is_some_and(|t| now >= t) {
                self.next_call_poll = Some(now + self.cfg.call_poll_interval);
                self.queue_call_list();
            }
            if self.idle() && self.silence_deadline().is_some_and(|t| now >= t) {
                self.enqueue(Purpose::Ping, Command::Ping);
            }
        }
        self.pump(now);
    }

    /// The next instant at which [`Self::handle_timeout`] has work to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut d: Option<Instant> = None;
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                d = Some(d.map_or(t, |x| x.min(t)));
            }
        };
        consider(self.in_flight.as_ref().map(|f| f.deadline));
        consider(self.call.as_ref().and_then(|c| c.deadline));
        if self.phase == Phase::Ready {
            consider(self.next_poll);
            if self.call.is_some() {
                consider(self.next_call_poll);
            }
            if self.idle() {
                consider(self.silence_deadline());
            }
        }
        d
    }

    /// Next bytes to write to the AT port.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.outbox.pop_front()
    }

    /// Next event for the owner.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// Queues a command on behalf of an operator (`modem cmd`); its answer comes back as
    /// [`SessionEvent::CommandDone`] with this `id`.
    pub fn submit(&mut self, now: Instant, id: u64, command: Command) {
        if matches!(self.phase, Phase::Closed | Phase::Failed(_)) {
            self.events.push_back(SessionEvent::CommandDone {
                id,
                result: None,
                lines: Vec::new(),
            });
            return;
        }
        self.enqueue(Purpose::User(id), command);
        self.pump(now);
    }

    /// Places a call. Events for it carry the returned id.
    pub fn dial(&mut self, now: Instant, number: &DialNumber) -> Result<CallId, DialRefused> {
        self.available().map_err(DialRefused::Unavailable)?;
        let id = CallId(self.next_call_id);
        self.next_call_id += 1;
        self.stats.calls += 1;
        self.call = Some(call::Call::new(id));
        self.urgent.push_back(Pending {
            cmd: Command::Dial(number.clone()),
            purpose: Purpose::Dial,
        });
        self.next_call_poll = Some(now + self.cfg.call_poll_interval);
        self.pump(now);
        Ok(id)
    }

    /// Whether a call can be placed now, and if not, why.
    pub fn available(&self) -> Result<(), Unavailable> {
        self.sim_ready()?;
        if self.voice == Voice::No {
            return Err(Unavailable::NoVoice);
        }
        self.registered()?;
        if self.call.is_some() || self.rejecting {
            return Err(Unavailable::InCall);
        }
        Ok(())
    }

    /// Init is done and the SIM is ready.
    fn sim_ready(&self) -> Result<(), Unavailable> {
        match &self.phase {
            Phase::Closed => return Err(Unavailable::Closed),
            Phase::Init(_) => return Err(Unavailable::Initializing),
            Phase::Failed(r) => return Err(Unavailable::Failed(r.clone())),
            Phase::Ready => {}
        }
        if self.sim != SimState::Ready {
            return Err(Unavailable::Sim(self.sim));
        }
        Ok(())
    }

    /// Registered on a network.
    fn registered(&self) -> Result<(), Unavailable> {
        if self
            .registration
            .as_ref()
            .is_some_and(|r| r.state.is_registered())
        {
            Ok(())
        } else {
            Err(Unavailable::NotRegistered)
        }
    }

    /// SMS and USSD can go out: init done, SIM ready, registered (a call may be up).
    fn can_message(&self) -> Result<(), Unavailable> {
        self.sim_ready()?;
        self.registered()
    }

    /// A point-in-time view for the gateway and the API.
    pub fn snapshot(&self) -> ModemSnapshot {
        ModemSnapshot {
            identity: self.identity.clone(),
            sim: self.sim,
            signal: self.signal,
            registration: self.registration.clone(),
            operator: self.operator.clone(),
            sim_plmn: self
                .identity
                .imsi
                .as_ref()
                .map(|i| i.home_plmn(self.operator.numeric.as_deref()).to_string()),
            voice: match &self.voice {
                Voice::Yes(v) => Some(*v),
                Voice::Unknown | Voice::No => None,
            },
            call: self.call.as_ref().map(|c| c.phase),
            available: self.available(),
            stats: self.stats(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> SessionStats {
        let mut s = self.stats;
        s.garbage = self.decoder.stats().garbage;
        s
    }

    /// Identity learned so far.
    pub fn identity(&self) -> &ModemIdentity {
        &self.identity
    }

    /// Whether init has finished and no fault is pending.
    pub fn is_ready(&self) -> bool {
        self.phase == Phase::Ready
    }

    /// Puts the session in the failed state: the owner must reset it.
    fn fail(&mut self, now: Instant, fault: Fault) {
        let reason = match &fault {
            Fault::CommandTimeout { command } => format!("{command} timed out"),
            Fault::InitFailed { command, result } => {
                format!("{command} failed during init: {result}")
            }
            Fault::Restarted => "modem restarted".to_string(),
            Fault::StuckCall => "call stuck after hang-up".to_string(),
        };
        let kind = match fault {
            Fault::Restarted => super::cause::EndKind::ModemRestarted,
            _ => super::cause::EndKind::Timeout,
        };
        self.abort_everything(now, kind, &format!("modem stopped working: {reason}"));
        self.phase = Phase::Failed(reason);
        self.events.push_back(SessionEvent::Fault(fault));
    }

    // === frames ===

    fn on_frame(&mut self, now: Instant, frame: Frame) {
        match frame {
            Frame::Final(result) => match self.in_flight.take() {
                Some(f) => {
                    if !result.is_ok() {
                        self.stats.errors += 1;
                    }
                    self.on_final(now, f, result);
                }
                None => self.stats.stray_finals += 1,
            },
            Frame::Response(line) => match &mut self.in_flight {
                Some(f) if f.lines.len() < 64 => f.lines.push(line),
                _ => self.stats.stray_finals += 1,
            },
            Frame::Urc(urc) => {
                self.stats.urcs += 1;
                self.on_urc(now, urc);
            }
            Frame::Echo(line) => {
                // Echo of the command just written, after ATE0: the modem lost its settings,
                // so it restarted. Anything else that starts with "AT" is noise.
                let is_echo = self
                    .last_sent
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(&line));
                if is_echo && self.phase == Phase::Ready && !self.echo_expected {
                    self.fail(now, Fault::Restarted);
                }
            }
            Frame::Prompt => self.on_prompt(),
            Frame::Garbage(_) => {}
        }
    }

    fn on_final(&mut self, now: Instant, f: InFlight, result: FinalResult) {
        let semantic = self.apply_answer(&f.cmd, &result, &f.lines);
        match f.purpose {
            Purpose::Init(step) => self.init_step_done(now, step, &f.cmd, &result, semantic),
            Purpose::User(id) => {
                self.events.push_back(SessionEvent::CommandDone {
                    id,
                    result: Some(result),
                    lines: f.lines,
                });
            }
            Purpose::SimRefresh { last: true } => {
                self.events
                    .push_back(SessionEvent::Identity(self.identity.clone()));
            }
            Purpose::Dial => self.on_dial_result(now, &result),
            Purpose::Answer => self.on_answer_result(now, &result),
            Purpose::Hangup => self.on_hangup_result(now, &result),
            Purpose::CallList => {
                if result.is_ok() {
                    self.reconcile_calls(now, &f.lines);
                }
            }
            Purpose::Reject => {
                self.rejecting = false;
            }
            Purpose::SmsRead => self.on_sms_read(&f.cmd, &result, &f.lines),
            Purpose::Sms(id) => self.on_sms_sent(id, &result, &f.lines),
            Purpose::Ussd(id) => {
                let result = if result.is_ok() {
                    Ok(())
                } else {
                    Err(format!("modem answered {result:?}"))
                };
                self.events.push_back(SessionEvent::UssdSent { id, result });
            }
            Purpose::Poll
            | Purpose::Ping
            | Purpose::AudioOn
            | Purpose::Dtmf
            | Purpose::SimRefresh { .. } => {}
        }
    }

    /// How long the modem has been quiet (for the owner's stuck detection and logs).
    pub fn quiet_for(&self, now: Instant) -> Option<Duration> {
        self.last_activity.map(|t| now.saturating_duration_since(t))
    }
}
