//! Incoming calls rung from the control socket (DIALECT.md §4): `RING` (or
//! `+CRING: VOICE` after `AT+CRC=1`) every `ring_interval_ms`, `+CLIP` after each one when
//! `AT+CLIP=1` was set, `ATA` → OK `^CONN:1,0` and audio as on an answered outgoing call,
//! and the endings: `AT+CHUP` (`^CEND:1,<dur>,29,16`), the caller hanging up or giving up
//! (`^CEND:1,<dur>,104,16`).

use e173gw_core::config::sim::Outcome;

use super::call::{number_type, Call, CallStat, CallStep, Plan};
use super::commands::{arg, After, Answer, Fail};
use super::{Device, DeviceEvent, Timer};

impl Device {
    /// Control `ring`: a call from `number`, now or after `after_ms` (a delayed call that
    /// cannot start then is counted in `incoming_refused`).
    pub(crate) fn ring(&mut self, now: u64, number: &str, after_ms: u64) -> Result<(), String> {
        if after_ms > 0 {
            self.schedule(now + after_ms, Timer::IncomingAt(number.to_string()));
            return Ok(());
        }
        self.start_incoming(now, number)
    }

    /// The call from `number` starts ringing, or why not.
    pub(super) fn start_incoming(&mut self, now: u64, number: &str) -> Result<(), String> {
        if self.rebooting {
            return Err("the modem is rebooting".into());
        }
        if !self.sim {
            return Err("no SIM".into());
        }
        if !self.registered() {
            return Err("not registered on the network".into());
        }
        if !self.voice {
            // Voice-disabled firmware: the network gives the caller busy, no RING.
            return Err("voice is disabled on this modem".into());
        }
        if self.call.is_some() {
            return Err("a call is in progress".into());
        }
        self.counters.incoming_calls += 1;
        self.call = Some(Call {
            number: number.to_string(),
            incoming: true,
            plan: Plan {
                outcome: Outcome::Answer,
                after_ms: 0,
                hangup_after_ms: None,
                end_status: None,
                cause: None,
            },
            stat: CallStat::Incoming,
            audio: false,
            connected_at: None,
            dtmf: String::new(),
        });
        self.events.push_back(DeviceEvent::CallStarted {
            number: number.to_string(),
            incoming: true,
        });
        self.ring_once();
        self.schedule(
            now + self.timing.ring_interval_ms.max(1),
            Timer::Call(CallStep::Ring),
        );
        self.schedule(
            now + self.timing.incoming_give_up_ms,
            Timer::Call(CallStep::GiveUp),
        );
        Ok(())
    }

    /// `RING` or `+CRING: VOICE`, then `+CLIP` when asked for.
    fn ring_once(&mut self) {
        let Some(number) = self.call.as_ref().map(|c| c.number.clone()) else {
            return;
        };
        self.urc(if self.crc { "+CRING: VOICE" } else { "RING" });
        if self.clip {
            self.urc(&format!(
                "+CLIP: \"{number}\",{},,,,0",
                number_type(&number)
            ));
        }
    }

    fn ringing(&self) -> bool {
        self.call
            .as_ref()
            .is_some_and(|c| c.incoming && c.stat == CallStat::Incoming)
    }

    /// The ring timer or the caller's patience ran out.
    pub(super) fn incoming_step(&mut self, now: u64, step: CallStep) {
        if !self.ringing() {
            return;
        }
        match step {
            CallStep::Ring => {
                self.ring_once();
                self.schedule(
                    now + self.timing.ring_interval_ms.max(1),
                    Timer::Call(CallStep::Ring),
                );
            }
            _ => self.end_call(now, 104, Some(16), "no_answer"),
        }
    }

    /// `ATA`: accepted while a call rings, else `+CME ERROR: 3`.
    pub(super) fn answer_command(&mut self, after: &mut After) -> Answer {
        if self.ringing() {
            *after = After::Answer;
            Ok(Vec::new())
        } else {
            Err(Fail::Cme(3))
        }
    }

    /// After `ATA`'s OK: `^CONN:1,0`, the call is active and stops ringing.
    pub(super) fn answer_now(&mut self, now: u64) {
        if !self.ringing() {
            return;
        }
        self.cancel(|t| matches!(t, Timer::Call(CallStep::Ring | CallStep::GiveUp)));
        self.urc("^CONN:1,0");
        self.set_stat(CallStat::Active);
        if let Some(c) = &mut self.call {
            c.connected_at = Some(now);
        }
    }

    /// `AT+CLIP` and `AT+CRC`, or `None` for another command. `body` is upper case.
    pub(super) fn call_setting(&mut self, body: &str) -> Option<Answer> {
        let (flag, v) = if let Some(v) = arg(body, "+CLIP") {
            (&mut self.clip, v)
        } else {
            (&mut self.crc, arg(body, "+CRC")?)
        };
        let is_clip = body.starts_with("+CLIP");
        Some(match v.trim() {
            "?" if is_clip => Ok(vec![format!("+CLIP: {},1", u8::from(*flag))]),
            "?" => Ok(vec![format!("+CRC: {}", u8::from(*flag))]),
            "=?" if is_clip => Ok(vec!["+CLIP: (0,1)".into()]),
            "=?" => Ok(vec!["+CRC: (0,1)".into()]),
            "=0" => {
                *flag = false;
                Ok(Vec::new())
            }
            "=1" => {
                *flag = true;
                Ok(Vec::new())
            }
            _ => Err(Fail::Cme(50)),
        })
    }
}
