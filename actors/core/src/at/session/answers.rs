//! What the answers of typed commands do to the session's view of the modem.

use std::time::Instant;

use super::{Fault, ModemSession, Phase, Purpose, SessionEvent, SimState, Voice};
use crate::at::codec::FinalResult;
use crate::at::command::Command;
use crate::at::response::{
    parse_cnum, parse_cops, parse_cpin, parse_creg, parse_csq, parse_cvoice, parse_iccid_line,
    Registration, Signal, SimPin,
};
use crate::domain::{Iccid, Imei, Imsi};

/// How an answer bears on the init sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Semantic {
    /// An error is a failure of the step.
    Plain,
    /// Errors set state (SIM absent, no voice) and never stop init.
    Tolerated,
    /// The command said OK but its answer is unusable.
    Invalid(String),
}

fn first(lines: &[String]) -> Option<&str> {
    lines.iter().map(|l| l.trim()).find(|l| !l.is_empty())
}

impl ModemSession {
    /// Updates identity, SIM, signal, registration, operator and voice from an answer.
    pub(super) fn apply_answer(
        &mut self,
        cmd: &Command,
        result: &FinalResult,
        lines: &[String],
    ) -> Semantic {
        let ok = result.is_ok();
        match cmd {
            Command::Manufacturer | Command::Model | Command::Firmware => {
                if ok {
                    let v = first(lines).map(str::to_string);
                    match cmd {
                        Command::Manufacturer => self.identity.manufacturer = v,
                        Command::Model => self.identity.model = v,
                        _ => self.identity.firmware = v,
                    }
                }
                Semantic::Plain
            }
            Command::Imei => {
                if !ok {
                    return Semantic::Plain;
                }
                match first(lines).map(Imei::parse) {
                    Some(Ok(imei)) => {
                        self.identity.imei = Some(imei);
                        Semantic::Plain
                    }
                    Some(Err(e)) => Semantic::Invalid(e.to_string()),
                    None => Semantic::Invalid("no IMEI in the answer".into()),
                }
            }
            Command::Imsi => {
                if !ok {
                    if sim_missing(result) || matches!(result, FinalResult::Error) {
                        self.set_sim(SimState::Absent);
                    }
                    return Semantic::Tolerated;
                }
                if let Some(Ok(imsi)) = first(lines).map(Imsi::parse) {
                    if self.identity.imsi.as_ref().is_some_and(|old| *old != imsi) {
                        self.events.push_back(SessionEvent::SimChanged {
                            old_imsi: self.identity.imsi.clone(),
                            new_imsi: Some(imsi.clone()),
                        });
                    }
                    self.identity.imsi = Some(imsi);
                }
                Semantic::Tolerated
            }
            Command::Iccid(_) => {
                if ok {
                    if let Some(Ok(iccid)) = lines
                        .iter()
                        .filter_map(|l| parse_iccid_line(l))
                        .map(Iccid::parse_reported)
                        .next()
                    {
                        self.identity.iccid = Some(iccid);
                    }
                }
                Semantic::Tolerated
            }
            Command::PinQuery => {
                if ok {
                    match lines.iter().find_map(|l| parse_cpin(l).ok()) {
                        Some(SimPin::Ready) => self.set_sim(SimState::Ready),
                        Some(SimPin::Locked(_)) => self.set_sim(SimState::Locked),
                        None => {}
                    }
                } else if sim_locked(result) {
                    self.set_sim(SimState::Locked);
                } else {
                    self.set_sim(SimState::Absent);
                }
                Semantic::Tolerated
            }
            Command::OwnNumber => {
                if ok {
                    self.identity.own_number =
                        lines.iter().find_map(|l| parse_cnum(l).ok().flatten());
                }
                Semantic::Tolerated
            }
            Command::OperatorQuery => {
                if ok {
                    if let Some(info) = lines.iter().find_map(|l| parse_cops(l).ok()) {
                        let mut next = self.operator.clone();
                        if info.name.is_none() && info.numeric.is_none() {
                            next = info;
                        } else {
                            if info.name.is_some() {
                                next.name = info.name;
                            }
                            if info.numeric.is_some() {
                                next.numeric = info.numeric;
                            }
                            next.act = info.act.or(next.act);
                        }
                        if next != self.operator {
                            self.operator = next.clone();
                            self.events.push_back(SessionEvent::Operator(next));
                        }
                    }
                }
                Semantic::Tolerated
            }
            Command::OperatorFormat(_) => Semantic::Tolerated,
            Command::RegQuery => {
                if let Some(r) = lines.iter().find_map(|l| parse_creg(l).ok()) {
                    self.set_registration(r);
                }
                Semantic::Plain
            }
            Command::SignalQuery => {
                if let Some(s) = lines.iter().find_map(|l| parse_csq(l).ok()) {
                    self.set_signal(s);
                }
                Semantic::Plain
            }
            Command::VoiceQuery => {
                self.voice = match lines.iter().find_map(|l| parse_cvoice(l).ok()) {
                    Some(v) if ok => Voice::Yes(v),
                    _ => Voice::No,
                };
                Semantic::Tolerated
            }
            Command::Echo(on) => {
                if ok {
                    self.echo_expected = *on;
                }
                Semantic::Plain
            }
            Command::ResetProfile => {
                if ok {
                    self.echo_expected = true;
                }
                Semantic::Plain
            }
            _ => Semantic::Plain,
        }
    }

    /// Re-reads the SIM (IMSI, ICCID, PIN state, own number) after `^SIMST` says one is in.
    pub(super) fn queue_sim_refresh(&mut self) {
        if self
            .queue
            .iter()
            .any(|p| matches!(p.purpose, Purpose::SimRefresh { .. }))
        {
            return;
        }
        let iccid = self
            .cfg
            .init
            .iter()
            .find(|s| matches!(s.command, Command::Iccid(_)))
            .map(|s| s.command.clone());
        let mut cmds = vec![Command::Imsi];
        cmds.extend(iccid);
        cmds.push(Command::PinQuery);
        cmds.push(Command::OwnNumber);
        let n = cmds.len();
        for (i, c) in cmds.into_iter().enumerate() {
            self.enqueue(Purpose::SimRefresh { last: i + 1 == n }, c);
        }
    }

    pub(super) fn init_step_done(
        &mut self,
        now: Instant,
        step: usize,
        cmd: &Command,
        result: &FinalResult,
        semantic: Semantic,
    ) {
        let optional = self.cfg.init.get(step).is_some_and(|s| s.optional);
        let failed = match semantic {
            Semantic::Tolerated => false,
            Semantic::Invalid(why) => {
                if !optional {
                    self.fail(
                        now,
                        Fault::InitFailed {
                            command: cmd.wire(),
                            result: why,
                        },
                    );
                    return;
                }
                false
            }
            Semantic::Plain => !result.is_ok(),
        };
        if failed && !optional {
            self.fail(
                now,
                Fault::InitFailed {
                    command: cmd.wire(),
                    result: format!("{result:?}"),
                },
            );
            return;
        }
        let next = step + 1;
        if let Some(s) = self.cfg.init.get(next) {
            self.phase = Phase::Init(next);
            let c = s.command.clone();
            self.enqueue(Purpose::Init(next), c);
        } else {
            self.finish_init(now);
        }
    }

    pub(super) fn finish_init(&mut self, now: Instant) {
        self.phase = Phase::Ready;
        self.next_poll = Some(now + self.cfg.poll_interval);
        self.events
            .push_back(SessionEvent::Identity(self.identity.clone()));
        self.events.push_back(SessionEvent::Ready);
    }

    pub(super) fn set_signal(&mut self, s: Signal) {
        if self.signal != Some(s) {
            self.signal = Some(s);
            self.events.push_back(SessionEvent::Signal(s));
        }
    }

    pub(super) fn set_registration(&mut self, r: Registration) {
        if self.registration.as_ref() != Some(&r) {
            self.registration = Some(r.clone());
            self.events.push_back(SessionEvent::Registration(r));
        }
    }

    pub(super) fn set_sim(&mut self, s: SimState) {
        if self.sim != s {
            self.sim = s;
            self.events.push_back(SessionEvent::Sim(s));
        }
    }
}

/// +CME ERROR 11 (PIN), 12 (PUK), 17 (PIN2), 18 (PUK2): present but locked.
fn sim_locked(result: &FinalResult) -> bool {
    use crate::at::codec::ErrorCode;
    matches!(
        result,
        FinalResult::CmeError(ErrorCode::Code(11 | 12 | 17 | 18))
    )
}

fn sim_missing(result: &FinalResult) -> bool {
    matches!(result, FinalResult::CmeError(c) if c.is_sim_fault())
}
