//! The outgoing call state machine and the URCs that drive it.

use std::time::{Duration, Instant};

use super::{
    CallEvent, CallId, CallPhase, Fault, ModemSession, Pending, Purpose, SessionEvent, SimState,
};
use crate::at::cause::{EndCause, EndKind};
use crate::at::codec::FinalResult;
use crate::at::command::Command;
use crate::at::response::{parse_clcc, ClccState, Registration};
use crate::at::urc::Urc;

/// The call placed through the session (one at a time).
#[derive(Debug)]
pub(super) struct Call {
    pub(super) id: CallId,
    pub(super) phase: CallPhase,
    /// Index from `^ORIG` (or `+CLCC`).
    idx: Option<u8>,
    /// `ATD` answered OK.
    dial_acked: bool,
    /// `Dialing` was reported to the owner.
    dialing_reported: bool,
    /// Deadline of the current phase.
    pub(super) deadline: Option<Instant>,
    answered_at: Option<Instant>,
    hangup_requested: bool,
    /// The call came in (mobile-terminated).
    pub(super) incoming: bool,
    /// `ATA` is out.
    pub(super) answer_sent: bool,
    /// [`CallEvent::Incoming`] was reported.
    pub(super) reported_incoming: bool,
}

impl Call {
    pub(super) fn new(id: CallId) -> Self {
        Self {
            id,
            phase: CallPhase::Dialing,
            idx: None,
            dial_acked: false,
            dialing_reported: false,
            deadline: None,
            answered_at: None,
            hangup_requested: false,
            incoming: false,
            answer_sent: false,
            reported_incoming: false,
        }
    }

    /// An incoming call, ringing: it exists on the modem already.
    pub(super) fn incoming(id: CallId, now: Instant, ring_limit: std::time::Duration) -> Self {
        let mut c = Self::new(id);
        c.phase = CallPhase::Ringing;
        c.incoming = true;
        c.dial_acked = true;
        c.dialing_reported = true; // nothing was dialled
        c.deadline = Some(now + ring_limit);
        c
    }

    fn matches(&self, idx: u8) -> bool {
        self.idx.is_none_or(|i| i == idx)
    }
}

impl ModemSession {
    /// Hangs up the call. The end comes as [`CallEvent::Ended`] with
    /// [`EndKind::LocalHangup`] once the modem confirms it (or the hang-up times out).
    pub fn hangup(&mut self, now: Instant, id: CallId) -> Result<(), super::CallRequestError> {
        let call = self
            .call
            .as_mut()
            .filter(|c| c.id == id)
            .ok_or(super::CallRequestError::NoSuchCall)?;
        if call.hangup_requested {
            return Ok(());
        }
        call.hangup_requested = true;
        if !call.dial_acked {
            // Still queued: never sent, so there is nothing to hang up on the modem.
            if let Some(pos) = self.urgent.iter().position(|p| p.purpose == Purpose::Dial) {
                self.urgent.remove(pos);
                self.end_call(
                    now,
                    EndCause::new(EndKind::LocalHangup, "hung up before dialling"),
                );
            }
            // Otherwise ATD is in flight: the hang-up goes out when it returns.
            return Ok(());
        }
        self.send_hangup(now);
        self.pump(now);
        Ok(())
    }

    /// Sends DTMF digits on the active call, one `AT^DTMF` per digit.
    pub fn send_dtmf(
        &mut self,
        now: Instant,
        id: CallId,
        digits: &str,
    ) -> Result<(), super::CallRequestError> {
        let call = self
            .call
            .as_ref()
            .filter(|c| c.id == id)
            .ok_or(super::CallRequestError::NoSuchCall)?;
        if call.phase != CallPhase::Active {
            return Err(super::CallRequestError::NotActive);
        }
        if let Some(bad) = digits
            .chars()
            .find(|c| !(c.is_ascii_digit() || *c == '*' || *c == '#'))
        {
            return Err(super::CallRequestError::BadDigit(bad));
        }
        let idx = call.idx.unwrap_or(1);
        for digit in digits.chars() {
            self.urgent.push_back(Pending {
                cmd: Command::Dtmf { idx, digit },
                purpose: Purpose::Dtmf,
            });
        }
        self.pump(now);
        Ok(())
    }

    fn send_hangup(&mut self, now: Instant) {
        let timeout = self.cfg.timeouts.hangup;
        if let Some(c) = self.call.as_mut() {
            c.phase = CallPhase::HangingUp;
            c.deadline = Some(now + timeout);
        }
        // Nothing else for this call matters any more.
        self.urgent.retain(|p| !p.purpose.is_call());
        self.queue.retain(|p| !p.purpose.is_call());
        self.urgent.push_front(Pending {
            cmd: Command::Hangup,
            purpose: Purpose::Hangup,
        });
    }

    /// Ends the call now and tells the owner.
    pub(super) fn end_call(&mut self, now: Instant, cause: EndCause) {
        let Some(call) = self.call.take() else { return };
        let talk = call
            .answered_at
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        self.stats.talk_seconds += talk.as_secs();
        self.urgent
            .retain(|p| !p.purpose.is_call() && p.purpose != Purpose::Hangup);
        self.queue.retain(|p| !p.purpose.is_call());
        self.next_call_poll = None;
        self.events.push_back(SessionEvent::Call(CallEvent::Ended {
            call: call.id,
            cause,
            talk,
            answered: call.answered_at.is_some(),
        }));
    }

    pub(super) fn on_dial_result(&mut self, now: Instant, result: &FinalResult) {
        let Some(call) = self.call.as_mut() else {
            return;
        };
        if !result.is_ok() {
            let cause = if call.hangup_requested {
                EndCause::new(EndKind::LocalHangup, "hung up while dialling")
            } else {
                EndCause::from_final(result)
            };
            self.end_call(now, cause);
            return;
        }
        call.dial_acked = true;
        if call.hangup_requested {
            self.send_hangup(now);
            return;
        }
        if call.idx.is_none() {
            call.deadline = Some(now + self.cfg.timeouts.orig);
        }
        self.report_dialing();
        if self.cfg.audio_command {
            self.urgent.push_back(Pending {
                cmd: Command::AudioOn,
                purpose: Purpose::AudioOn,
            });
        }
    }

    fn report_dialing(&mut self) {
        if let Some(c) = self.call.as_mut() {
            if !c.dialing_reported {
                c.dialing_reported = true;
                let id = c.id;
                self.events
                    .push_back(SessionEvent::Call(CallEvent::Dialing(id)));
            }
        }
    }

    pub(super) fn on_hangup_result(&mut self, now: Instant, result: &FinalResult) {
        if self.call.is_some() && !result.is_ok() {
            // The modem has no call to hang up: it is already gone.
            self.end_call(
                now,
                EndCause::new(EndKind::LocalHangup, format!("AT+CHUP answered {result:?}")),
            );
        }
    }

    pub(super) fn bind_idx(&mut self, now: Instant, idx: u8) {
        let alerting = self.cfg.timeouts.alerting;
        if let Some(c) = self.call.as_mut() {
            if c.idx.is_none() {
                c.idx = Some(idx);
                if c.phase == CallPhase::Dialing {
                    c.deadline = Some(now + alerting);
                }
            }
        }
        self.report_dialing();
    }

    fn enter_alerting(&mut self, now: Instant) {
        let answer = self.cfg.timeouts.answer;
        if let Some(c) = self.call.as_mut().filter(|c| c.phase == CallPhase::Dialing) {
            c.phase = CallPhase::Alerting;
            c.deadline = Some(now + answer);
            let id = c.id;
            self.events
                .push_back(SessionEvent::Call(CallEvent::Alerting(id)));
        }
    }

    pub(super) fn enter_active(&mut self, now: Instant) {
        let Some(c) = self.call.as_mut() else { return };
        if c.answered_at.is_none() {
            c.answered_at = Some(now);
        }
        if matches!(
            c.phase,
            CallPhase::Dialing | CallPhase::Alerting | CallPhase::Ringing
        ) {
            c.phase = CallPhase::Active;
            c.deadline = None;
            let id = c.id;
            self.stats.answered += 1;
            self.events
                .push_back(SessionEvent::Call(CallEvent::Answered(id)));
        }
    }

    pub(super) fn call_timeouts(&mut self, now: Instant) {
        let Some(c) = self.call.as_ref() else { return };
        if c.deadline.is_none_or(|d| now < d) {
            return;
        }
        let t = &self.cfg.timeouts;
        let cause = match c.phase {
            CallPhase::Dialing if c.idx.is_none() => EndCause::new(
                EndKind::Timeout,
                format!("no ^ORIG within {:?} of ATD", t.orig),
            ),
            CallPhase::Dialing => EndCause::new(
                EndKind::Timeout,
                format!("no ^CONF within {:?} of ^ORIG", t.alerting),
            ),
            CallPhase::Alerting => {
                let mut c = EndCause::new(
                    EndKind::NoAnswer,
                    format!("no answer within {:?}", t.answer),
                );
                c.q850 = Some(19);
                c
            }
            CallPhase::HangingUp => {
                // AT+CHUP was answered but no ^CEND came: count the call as over, and check
                // with +CLCC that the modem agrees.
                let cause = EndCause::new(EndKind::LocalHangup, "no ^CEND after AT+CHUP");
                self.end_call(now, cause);
                self.queue_call_list();
                return;
            }
            CallPhase::Ringing => {
                let mut c = EndCause::new(
                    EndKind::NoAnswer,
                    format!("not answered within {:?}", t.answer),
                );
                c.q850 = Some(19);
                c
            }
            CallPhase::Active => return,
        };
        // Release the call on the modem; its answer no longer concerns the owner.
        self.end_call(now, cause);
        self.urgent.push_front(Pending {
            cmd: Command::Hangup,
            purpose: Purpose::Reject,
        });
        self.rejecting = true;
    }

    pub(super) fn queue_call_list(&mut self) {
        if !self
            .urgent
            .iter()
            .chain(self.queue.iter())
            .any(|p| p.purpose == Purpose::CallList)
        {
            self.queue.push_back(Pending {
                cmd: Command::ListCalls,
                purpose: Purpose::CallList,
            });
        }
    }

    /// Compares `+CLCC` with what we believe: binds the index, catches missed URCs,
    /// ends calls the modem no longer has, and releases calls that are not ours.
    pub(super) fn reconcile_calls(&mut self, now: Instant, lines: &[String]) {
        let entries: Vec<_> = lines.iter().filter_map(|l| parse_clcc(l).ok()).collect();
        let Some(call) = self.call.as_ref() else {
            if entries.is_empty() {
                self.ghost_strikes = 0;
            } else {
                self.ghost_strikes += 1;
                if self.ghost_strikes > 2 {
                    self.ghost_strikes = 0;
                    self.fail(now, Fault::StuckCall);
                } else {
                    self.urgent.push_back(Pending {
                        cmd: Command::Hangup,
                        purpose: Purpose::Reject,
                    });
                    self.rejecting = true;
                    self.queue_call_list();
                }
            }
            return;
        };
        let ours = match call.idx {
            Some(i) => entries.iter().find(|e| e.idx == i),
            None => entries.iter().find(|e| e.incoming == call.incoming),
        };
        let caller = ours.filter(|_| call.incoming).map(|e| e.number.clone());
        let (phase, dial_acked) = (call.phase, call.dial_acked);
        if caller.is_some() {
            self.report_incoming(caller);
        }
        match ours {
            Some(e) => {
                let idx = e.idx;
                let state = e.state;
                self.bind_idx(now, idx);
                match state {
                    ClccState::Alerting => self.enter_alerting(now),
                    ClccState::Active => self.enter_active(now),
                    _ => {}
                }
            }
            None if dial_acked && self.call.as_ref().is_some_and(|c| c.idx.is_some()) => {
                let cause = if phase == CallPhase::HangingUp {
                    EndCause::new(EndKind::LocalHangup, "call gone from +CLCC after AT+CHUP")
                } else if self.call.as_ref().is_some_and(|c| c.answered_at.is_some()) {
                    EndCause::new(EndKind::Normal, "call vanished from +CLCC without ^CEND")
                } else {
                    EndCause::new(
                        EndKind::NetworkError,
                        "call vanished from +CLCC without ^CEND",
                    )
                };
                self.end_call(now, cause);
            }
            None => {}
        }
    }

    pub(super) fn on_urc(&mut self, now: Instant, urc: Urc) {
        match urc {
            Urc::Rssi(n) => {
                let ber = self.signal.map_or(99, |s| s.ber);
                self.set_signal(crate::at::response::Signal { rssi: n, ber });
            }
            Urc::Creg(r) => self.set_registration(r),
            Urc::SimSt(st) => match st {
                255 => self.set_sim(SimState::Absent),
                0 => self.set_sim(SimState::Locked),
                _ if self.sim != SimState::Ready && self.phase == super::Phase::Ready => {
                    self.queue_sim_refresh()
                }
                _ => {}
            },
            Urc::SrvSt(0) => {
                // No service: registration will follow in +CREG; ask now rather than wait.
                if self.phase == super::Phase::Ready {
                    self.enqueue(Purpose::Poll, Command::RegQuery);
                }
            }
            Urc::Orig { idx, .. } => {
                if self
                    .call
                    .as_ref()
                    .is_some_and(|c| c.phase == CallPhase::Dialing)
                {
                    self.bind_idx(now, idx);
                }
            }
            Urc::Conf { idx } => {
                if self.call.as_ref().is_some_and(|c| c.matches(idx)) {
                    self.bind_idx(now, idx);
                    self.enter_alerting(now);
                }
            }
            Urc::Conn { idx } => {
                if self.call.as_ref().is_some_and(|c| c.matches(idx)) {
                    self.bind_idx(now, idx);
                    self.enter_active(now);
                }
            }
            Urc::Cend(report) => {
                if let Some(c) = self.call.as_ref().filter(|c| c.matches(report.idx)) {
                    let cause = EndCause::from_cend(&report, c.hangup_requested);
                    self.end_call(now, cause);
                }
            }
            Urc::CallProgress(f) => {
                // NO CARRIER / BUSY outside ATD: the call is over (some firmware omits ^CEND).
                let Some(c) = self.call.as_ref() else { return };
                if !c.dial_acked {
                    return;
                }
                let cause = if c.hangup_requested {
                    EndCause::new(EndKind::LocalHangup, format!("{f:?} after hang-up"))
                } else if c.answered_at.is_some() && f == FinalResult::NoCarrier {
                    EndCause::new(EndKind::Normal, "NO CARRIER")
                } else {
                    EndCause::from_final(&f)
                };
                self.end_call(now, cause);
            }
            Urc::Ring | Urc::CRing(_) | Urc::Clip { .. } if !self.cfg.reject_incoming => {
                let number = match urc {
                    Urc::Clip { number } => Some(number),
                    _ => None,
                };
                self.on_ring(now, number);
            }
            Urc::Ring | Urc::CRing(_) | Urc::Clip { .. } => {
                if self.cfg.reject_incoming
                    && self.call.is_none()
                    && !self.rejecting
                    && self.phase == super::Phase::Ready
                {
                    self.rejecting = true;
                    self.urgent.push_back(Pending {
                        cmd: Command::Hangup,
                        purpose: Purpose::Reject,
                    });
                    self.events.push_back(SessionEvent::IncomingRejected);
                }
            }
            Urc::Cmti { index, .. } | Urc::Cdsi { index, .. } => self.on_stored_sms_urc(index),
            Urc::Cusd { mode, text, dcs } => self.on_cusd(mode, text, dcs),
            Urc::Malformed(_) => {
                // A call URC we could not read: ask the modem what calls it has.
                if self.call.is_some() {
                    self.queue_call_list();
                }
            }
            Urc::Ccwa { .. }
            | Urc::Boot
            | Urc::Mode { .. }
            | Urc::SrvSt(_)
            | Urc::DsFlowRpt
            | Urc::Other(_) => {}
        }
    }

    /// The current registration, for tests and the snapshot.
    pub fn registration(&self) -> Option<&Registration> {
        self.registration.as_ref()
    }
}
