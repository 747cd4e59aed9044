//! Calls that arrive on the SIM (DIALECT.md §4): `RING` (or `+CRING`, `+CLIP`) makes a
//! ringing call, the caller's number comes from `+CLIP` or from `AT+CLCC`, and the owner
//! answers it (`ATA`, then `AT^DDSETEX=2` for the audio) or refuses it (`AT+CHUP`). The
//! caller giving up ends it with `^CEND`; nobody deciding within the answer timeout ends
//! it as not answered.

use std::time::Instant;

use super::call::Call;
use super::{CallEvent, CallId, CallPhase, ModemSession, Pending, Purpose, SessionEvent};
use crate::at::cause::EndCause;
use crate::at::codec::FinalResult;
use crate::at::command::Command;

impl ModemSession {
    /// Whether incoming calls are refused at once (`AT+CHUP`) or reported as
    /// [`CallEvent::Incoming`] for the owner to decide.
    pub fn set_reject_incoming(&mut self, reject: bool) {
        self.cfg.reject_incoming = reject;
    }

    /// A ring: the first one makes the call (and asks `AT+CLCC` for the caller when no
    /// `+CLIP` says it); later ones only fill in the number.
    pub(super) fn on_ring(&mut self, now: Instant, number: Option<String>) {
        if self.phase != super::Phase::Ready || self.rejecting {
            return;
        }
        match &self.call {
            Some(c) if c.incoming => {
                if number.is_some() {
                    self.report_incoming(number);
                }
            }
            Some(_) => {} // our own call is up: call waiting is off
            None => {
                let id = CallId(self.next_call_id);
                self.next_call_id += 1;
                self.call = Some(Call::incoming(id, now, self.cfg.timeouts.answer));
                self.next_call_poll = Some(now + self.cfg.call_poll_interval);
                if number.is_some() {
                    self.report_incoming(number);
                } else {
                    self.queue_call_list();
                }
            }
        }
    }

    /// Tells the owner about the incoming call, once.
    pub(super) fn report_incoming(&mut self, number: Option<String>) {
        let Some(c) = self.call.as_mut().filter(|c| c.incoming) else {
            return;
        };
        if c.phase != CallPhase::Ringing
            || c.answer_sent
            || std::mem::replace(&mut c.reported_incoming, true)
        {
            return;
        }
        let number = number.filter(|n| !n.trim().is_empty());
        self.events
            .push_back(SessionEvent::Call(CallEvent::Incoming {
                call: c.id,
                number,
            }));
    }

    /// Answers the incoming call `id`; [`CallEvent::Answered`] follows when the modem
    /// connects it (`^CONN`).
    pub fn answer(&mut self, now: Instant, id: CallId) -> Result<(), super::CallRequestError> {
        let call = self
            .call
            .as_mut()
            .filter(|c| c.id == id)
            .ok_or(super::CallRequestError::NoSuchCall)?;
        if !call.incoming || call.phase != CallPhase::Ringing {
            return Err(super::CallRequestError::NotActive);
        }
        if !call.answer_sent {
            call.answer_sent = true;
            self.urgent.push_back(Pending {
                cmd: Command::Answer,
                purpose: Purpose::Answer,
            });
            self.pump(now);
        }
        Ok(())
    }

    pub(super) fn on_answer_result(&mut self, now: Instant, result: &FinalResult) {
        if self.call.is_none() {
            return;
        }
        if result.is_ok() {
            if self.cfg.audio_command {
                self.urgent.push_back(Pending {
                    cmd: Command::AudioOn,
                    purpose: Purpose::AudioOn,
                });
            }
            return;
        }
        // ATA failed: the caller is gone or the network refused; release what is left.
        self.end_call(now, EndCause::from_final(result));
        self.urgent.push_front(Pending {
            cmd: Command::Hangup,
            purpose: Purpose::Reject,
        });
        self.rejecting = true;
    }
}
