//! The pure model of one simulated E173: host bytes in, device bytes out, no IO.
//!
//! Time is a parameter in milliseconds since any fixed epoch. The caller feeds the bytes
//! the host wrote ([`Device::input`]), calls [`Device::poll`] when [`Device::next_deadline`]
//! is due, writes [`Device::take_output`] to the AT port, and reacts to
//! [`Device::pop_event`] (a call started or ended). [`Device::audio_active`] says whether
//! PCM frames should flow on the audio port.
//!
//! Wire rules follow DIALECT.md §0: answers and URCs are `\r\n<text>\r\n`, `OK` for `ATD`
//! comes before `^ORIG`, one command runs at a time and the rest wait in order.
//!
//! # Layout
//!
//! - `commands`: the AT commands and their answers; `call`: the outgoing call and what any
//!   call shares; `incoming`: calls rung from the control socket (`RING`, `ATA`);
//!   `sms`: PDU-mode SMS (`AT+CMGS` and its prompt, SIM slots, `+CMTI`, status reports);
//!   `ussd`: configured USSD replies and menus; `ops`: faults and the `status` snapshot,
//!   whose types are in `status`.

mod call;
mod commands;
mod incoming;
mod ops;
mod sms;
mod status;
#[cfg(test)]
mod tests;
mod ussd;

use std::collections::VecDeque;

use e173gw_core::config::sim::{ResolvedModem, ScenarioRule, SimConfig, SimUssd};
use e173gw_core::sms::submit_read::SubmitRead;

pub(crate) use call::CallStat;
use call::{Call, CallStep};
use sms::SmsState;
pub(crate) use status::{CallStatus, Counters, DeviceStatus, LastCall};
use ussd::UssdState;

/// Longest command line kept; longer input is cut.
const MAX_LINE: usize = 1024;
/// Most commands waiting behind the running one; more are dropped.
const MAX_QUEUE: usize = 64;
/// The wall clock of a device nobody set one for: 2026-03-01 12:00:00 UTC.
const DEFAULT_WALL_BASE_MS: u64 = 1_772_366_400_000;

/// Timing of the simulated modem and network, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timing {
    pub(crate) command_delay_ms: u64,
    pub(crate) orig_ms: u64,
    pub(crate) conf_ms: u64,
    pub(crate) answer_after_ms: u64,
    pub(crate) ring_ms: u64,
    pub(crate) fail_after_ms: u64,
    pub(crate) cusd_ms: u64,
    pub(crate) rssi_interval_ms: u64,
    pub(crate) boot_interval_ms: u64,
    pub(crate) reboot_ms: u64,
    pub(crate) sms_send_ms: u64,
    pub(crate) sms_report_ms: u64,
    pub(crate) ring_interval_ms: u64,
    pub(crate) incoming_give_up_ms: u64,
}

impl From<&SimConfig> for Timing {
    fn from(c: &SimConfig) -> Self {
        Self {
            command_delay_ms: c.command_delay_ms,
            orig_ms: c.orig_ms,
            conf_ms: c.conf_ms,
            answer_after_ms: c.answer_after_ms,
            ring_ms: c.ring_ms,
            fail_after_ms: c.fail_after_ms,
            cusd_ms: c.cusd_ms,
            rssi_interval_ms: c.rssi_interval_ms,
            boot_interval_ms: c.boot_interval_ms,
            reboot_ms: c.reboot_ms,
            sms_send_ms: c.sms_send_ms,
            sms_report_ms: c.sms_report_ms,
            ring_interval_ms: c.ring_interval_ms,
            incoming_give_up_ms: c.incoming_give_up_ms,
        }
    }
}

/// Something the IO layer must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeviceEvent {
    /// `ATD` was accepted, or an incoming call rings: a new call (truncate the recording,
    /// reset call counters).
    CallStarted {
        /// Dialled number, or the caller's.
        number: String,
        /// Rung from the control socket (`ring`), not dialled.
        incoming: bool,
    },
    /// The call is gone (with or without `^CEND`).
    CallEnded {
        /// Dialled number, or the caller's.
        number: String,
        /// Rung from the control socket, not dialled.
        incoming: bool,
        /// How it ended (`remote_hangup`, `busy`, `local_hangup`, `abandoned`, `reboot`, ...).
        outcome: &'static str,
        /// Seconds since `^CONN`.
        duration_s: u64,
    },
}

/// A scheduled piece of work.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Timer {
    /// Answer this command now (after `command_delay_ms`).
    Exec(String),
    /// Periodic `^RSSI`.
    Rssi,
    /// Periodic `^BOOT`.
    Boot,
    /// The reboot is over.
    RebootDone,
    /// Send this `+CUSD:` line; the USSD session is then `session` (a menu path) or over.
    Cusd {
        /// The whole URC.
        line: String,
        /// The menu path the next request continues, if the reply waits for input.
        session: Option<String>,
    },
    /// A step of the current call.
    Call(CallStep),
    /// The network's answer to the PDU sent after the prompt: sent, or `+CMS ERROR: <n>`.
    SmsSent(Result<SubmitRead, u16>),
    /// The status report of message `mr` to `to` arrives.
    SmsReport {
        /// The `+CMGS` reference.
        mr: u8,
        /// The recipient.
        to: String,
    },
    /// A delayed `ring`: the call from this number starts now.
    IncomingAt(String),
}

/// One simulated modem, without IO.
#[derive(Debug)]
pub(crate) struct Device {
    id: ResolvedModem,
    timing: Timing,
    rules: Vec<ScenarioRule>,
    voice: bool,
    sim: bool,
    rssi: u8,
    frozen: bool,
    rebooting: bool,
    echo: bool,
    cmee: u8,
    creg_n: u8,
    cops_fmt: u8,
    ccwa: bool,
    clvl: u8,
    clip: bool,
    crc: bool,
    sms: SmsState,
    ussd: UssdState,
    /// Unix milliseconds at device time 0 (SMS time stamps).
    wall_base_ms: u64,
    line: Vec<u8>,
    queue: VecDeque<String>,
    busy: bool,
    call: Option<Call>,
    last_call: Option<LastCall>,
    timers: Vec<(u64, u64, Timer)>,
    timer_seq: u64,
    out: Vec<u8>,
    events: VecDeque<DeviceEvent>,
    counters: Counters,
}

impl Device {
    /// A powered-up modem with identity `id`; `rules` are the scenario rules that apply
    /// to it, in order.
    pub(crate) fn new(
        id: ResolvedModem,
        timing: Timing,
        rules: Vec<ScenarioRule>,
        now: u64,
    ) -> Self {
        let mut d = Self {
            voice: id.voice,
            rssi: id.rssi,
            id,
            timing,
            rules,
            sim: true,
            frozen: false,
            rebooting: false,
            echo: true,
            cmee: 0,
            creg_n: 0,
            cops_fmt: 0,
            ccwa: false,
            clvl: 4,
            clip: false,
            crc: false,
            sms: SmsState::default(),
            ussd: UssdState::default(),
            wall_base_ms: DEFAULT_WALL_BASE_MS,
            line: Vec::new(),
            queue: VecDeque::new(),
            busy: false,
            call: None,
            last_call: None,
            timers: Vec::new(),
            timer_seq: 0,
            out: Vec::new(),
            events: VecDeque::new(),
            counters: Counters::default(),
        };
        d.start_periodic(now);
        d
    }

    /// The replies of the simulated network to USSD codes (`[[sim.ussd]]`).
    pub(crate) fn with_ussd(mut self, replies: Vec<SimUssd>) -> Self {
        self.ussd.replies = replies;
        self
    }

    /// Ties device time `now` to the wall clock `unix_ms` (SMS time stamps).
    pub(crate) fn set_wall_clock(&mut self, now: u64, unix_ms: u64) {
        self.wall_base_ms = unix_ms.saturating_sub(now);
    }

    /// Unix milliseconds at device time `now`.
    fn wall_ms(&self, now: u64) -> u64 {
        self.wall_base_ms + now
    }

    /// The modem's identity (the IMSI and ICCID change with a SIM swap).
    pub(crate) fn identity(&self) -> &ResolvedModem {
        &self.id
    }

    /// Renames the modem (a replug under another name).
    pub(crate) fn rename(&mut self, name: &str) {
        self.id.name = name.to_string();
    }

    /// Bytes the host wrote to the AT port.
    pub(crate) fn input(&mut self, now: u64, bytes: &[u8]) {
        for &b in bytes {
            if self.frozen || self.rebooting {
                if b == b'\r' || b == b'\n' {
                    if !self.line.is_empty() {
                        self.counters.commands_dropped += 1;
                    }
                    self.line.clear();
                } else if self.line.len() < MAX_LINE {
                    self.line.push(b);
                }
                continue;
            }
            if self.echo {
                self.out.push(b);
            }
            if self.pdu_byte(now, b) {
                continue;
            }
            match b {
                b'\r' | b'\n' => {
                    let line = std::mem::take(&mut self.line);
                    self.command_line(now, &line);
                }
                0x08 | 0x7f => {
                    self.line.pop();
                }
                0x1a | 0x1b => self.line.clear(),
                _ if self.line.len() < MAX_LINE => self.line.push(b),
                _ => {}
            }
        }
    }

    fn command_line(&mut self, now: u64, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let upper = text.to_ascii_uppercase();
        let Some(at) = upper.find("AT") else {
            return;
        };
        let cmd = text[at..].trim().to_string();
        if self.queue.len() >= MAX_QUEUE {
            self.counters.commands_dropped += 1;
            return;
        }
        if upper[at..].contains("+CMGS=") {
            // What follows is the PDU, up to Ctrl-Z, even before the prompt is written.
            self.start_pdu();
        }
        self.queue.push_back(cmd);
        self.pump(now);
    }

    /// Starts the next queued command unless one is running.
    fn pump(&mut self, now: u64) {
        while !self.busy && !self.frozen && !self.rebooting {
            let Some(cmd) = self.queue.pop_front() else {
                return;
            };
            if self.timing.command_delay_ms == 0 {
                self.execute(now, &cmd);
            } else {
                self.busy = true;
                self.schedule(now + self.timing.command_delay_ms, Timer::Exec(cmd));
            }
        }
    }

    /// Runs every timer due at `now`.
    pub(crate) fn poll(&mut self, now: u64) {
        loop {
            let due = self
                .timers
                .iter()
                .enumerate()
                .filter(|(_, (t, _, _))| *t <= now)
                .min_by_key(|(_, (t, seq, _))| (*t, *seq))
                .map(|(i, _)| i);
            let Some(i) = due else {
                return;
            };
            let (at, _, timer) = self.timers.swap_remove(i);
            self.fire(at, now, timer);
        }
    }

    /// Runs a timer that was due at `at`; what it starts is timed from `at`, so a late
    /// poll does not shift the rest of a call.
    fn fire(&mut self, at: u64, now: u64, timer: Timer) {
        match timer {
            Timer::Exec(cmd) => {
                self.busy = false;
                self.execute(at, &cmd);
                self.pump(at);
            }
            Timer::Rssi => {
                self.urc(&format!("^RSSI:{}", self.rssi));
                self.reschedule(at, now, self.timing.rssi_interval_ms, Timer::Rssi);
            }
            Timer::Boot => {
                self.urc(&self.boot_line());
                self.reschedule(at, now, self.timing.boot_interval_ms, Timer::Boot);
            }
            Timer::RebootDone => self.reboot_done(at),
            Timer::Cusd { line, session } => {
                self.urc(&line);
                self.ussd.session = session;
            }
            Timer::Call(step) => self.call_step(at, step),
            Timer::SmsSent(result) => self.sms_sent(at, result),
            Timer::SmsReport { mr, to } => self.sms_report(at, mr, &to),
            Timer::IncomingAt(number) => {
                if self.start_incoming(at, &number).is_err() {
                    self.counters.incoming_refused += 1;
                }
            }
        }
    }

    /// When [`Device::poll`] must next run.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.timers.iter().map(|(t, _, _)| *t).min()
    }

    /// Bytes to write to the AT port.
    pub(crate) fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// The next event for the IO layer.
    pub(crate) fn pop_event(&mut self) -> Option<DeviceEvent> {
        self.events.pop_front()
    }

    /// Whether PCM frames flow: a call is up and `AT^DDSETEX=2` was received for it (an
    /// incoming call only once answered).
    pub(crate) fn audio_active(&self) -> bool {
        self.call
            .as_ref()
            .is_some_and(|c| c.audio && (!c.incoming || c.connected_at.is_some()))
    }

    /// Whether a call exists (host audio is recorded only then).
    pub(crate) fn in_call(&self) -> bool {
        self.call.is_some()
    }

    fn schedule(&mut self, at: u64, timer: Timer) {
        self.timer_seq += 1;
        self.timers.push((at, self.timer_seq, timer));
    }

    /// Schedules the next run of a periodic timer that was due at `at`, without bursts.
    fn reschedule(&mut self, at: u64, now: u64, period: u64, timer: Timer) {
        if period > 0 {
            let next = at + period;
            self.schedule(if next >= now { next } else { now + period }, timer);
        }
    }

    fn cancel(&mut self, f: impl Fn(&Timer) -> bool) {
        self.timers.retain(|(_, _, t)| !f(t));
    }

    fn start_periodic(&mut self, now: u64) {
        self.cancel(|t| matches!(t, Timer::Rssi | Timer::Boot));
        if self.timing.rssi_interval_ms > 0 {
            self.schedule(now + self.timing.rssi_interval_ms, Timer::Rssi);
        }
        if self.timing.boot_interval_ms > 0 {
            self.schedule(now + self.timing.boot_interval_ms, Timer::Boot);
        }
    }

    fn line_out(&mut self, text: &str) {
        self.out.extend_from_slice(b"\r\n");
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    fn urc(&mut self, text: &str) {
        self.counters.urcs += 1;
        self.line_out(text);
    }

    fn boot_line(&self) -> String {
        format!("^BOOT:{},0,0,0,72", 20_952_548 + self.id.index)
    }

    /// `+CREG` stat: 0 no SIM, 1 home, 2 searching (no signal).
    fn reg_stat(&self) -> u8 {
        if !self.sim {
            0
        } else if self.rssi == 0 || self.rssi == 99 {
            2
        } else {
            1
        }
    }

    fn registered(&self) -> bool {
        self.reg_stat() == 1
    }

    /// Emits `+CREG`/`^SRVST` URCs if registration went from `before` to something else.
    fn reg_changed(&mut self, before: u8) {
        let stat = self.reg_stat();
        if stat == before {
            return;
        }
        match self.creg_n {
            1 => self.urc(&format!("+CREG: {stat}")),
            2 if stat == 1 => self.urc(&format!(
                "+CREG: {stat},\"{}\",\"{}\"",
                self.id.lac, self.id.ci
            )),
            2 => self.urc(&format!("+CREG: {stat}")),
            _ => {}
        }
        self.urc(if stat == 1 { "^SRVST:2" } else { "^SRVST:0" });
    }
}
