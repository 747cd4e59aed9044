//! The outgoing call: from `ATD` OK through `^ORIG`, `^CONF`, the scenario's outcome, to
//! `^CEND` (DIALECT.md §3); and what every call shares: its end, `+CLCC`, the remote
//! party hanging up.

use e173gw_core::config::sim::Outcome;
use serde::Serialize;

use super::{Device, DeviceEvent, LastCall, Timer};

/// `+CLCC` stat of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CallStat {
    /// 0: answered.
    Active,
    /// 2: `ATD` accepted, not yet confirmed.
    Dialing,
    /// 3: `^CONF` received, ringing.
    Alerting,
    /// 4: an incoming call ringing.
    Incoming,
}

impl CallStat {
    /// The `+CLCC` number.
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Active => 0,
            Self::Dialing => 2,
            Self::Alerting => 3,
            Self::Incoming => 4,
        }
    }
}

/// The next step of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CallStep {
    /// Send `^ORIG:1,0`.
    Orig,
    /// Send `^CONF:1`.
    Conf,
    /// Apply the outcome (answer, busy, ...).
    Outcome,
    /// The remote party hangs up.
    RemoteHangup,
    /// An incoming call rings again.
    Ring,
    /// Nobody answered the incoming call: the caller gives up.
    GiveUp,
}

/// What the scenario decided for a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Plan {
    pub(super) outcome: Outcome,
    pub(super) after_ms: u64,
    pub(super) hangup_after_ms: Option<u64>,
    pub(super) end_status: Option<u16>,
    pub(super) cause: Option<u16>,
}

/// The one call of the device (index 1).
#[derive(Debug, Clone)]
pub(super) struct Call {
    /// Dialled number, or the caller's.
    pub(super) number: String,
    /// Rung from the control socket, not dialled.
    pub(super) incoming: bool,
    pub(super) plan: Plan,
    pub(super) stat: CallStat,
    pub(super) audio: bool,
    pub(super) connected_at: Option<u64>,
    pub(super) dtmf: String,
}

/// The type of a number in `+CLCC`/`+CLIP`: 145 international, 129 otherwise.
pub(super) fn number_type(number: &str) -> u8 {
    if number.starts_with('+') {
        145
    } else {
        129
    }
}

impl Call {
    /// `outgoing` or `incoming`.
    pub(super) fn direction(&self) -> &'static str {
        if self.incoming {
            "incoming"
        } else {
            "outgoing"
        }
    }
}

impl Device {
    /// The plan for `number`: the first matching rule, or answer and hold.
    pub(super) fn plan_for(&self, number: &str) -> Plan {
        let t = &self.timing;
        match self.rules.iter().find(|r| r.matches(number, "")) {
            None => Plan {
                outcome: Outcome::Answer,
                after_ms: t.answer_after_ms,
                hangup_after_ms: None,
                end_status: None,
                cause: None,
            },
            Some(r) => Plan {
                outcome: r.outcome,
                after_ms: r.after_ms.unwrap_or(match r.outcome {
                    Outcome::Answer => t.answer_after_ms,
                    Outcome::NoAnswer => t.ring_ms,
                    _ => t.fail_after_ms,
                }),
                hangup_after_ms: r.hangup_after_ms,
                end_status: r.end_status,
                cause: r.cause,
            },
        }
    }

    /// `ATD` was accepted (OK already queued): start the call.
    pub(super) fn start_call(&mut self, now: u64, number: &str, plan: Plan) {
        self.counters.calls += 1;
        self.call = Some(Call {
            number: number.to_string(),
            incoming: false,
            plan,
            stat: CallStat::Dialing,
            audio: false,
            connected_at: None,
            dtmf: String::new(),
        });
        self.events.push_back(DeviceEvent::CallStarted {
            number: number.to_string(),
            incoming: false,
        });
        self.schedule(now + self.timing.orig_ms, Timer::Call(CallStep::Orig));
    }

    pub(super) fn call_step(&mut self, now: u64, step: CallStep) {
        let Some(call) = &self.call else {
            return;
        };
        let plan = call.plan;
        match step {
            CallStep::Orig => {
                self.urc("^ORIG:1,0");
                if matches!(plan.outcome, Outcome::Unassigned | Outcome::NoCarrier) {
                    self.schedule(now + plan.after_ms, Timer::Call(CallStep::Outcome));
                } else {
                    self.schedule(now + self.timing.conf_ms, Timer::Call(CallStep::Conf));
                }
            }
            CallStep::Conf => {
                self.urc("^CONF:1");
                self.set_stat(CallStat::Alerting);
                self.schedule(now + plan.after_ms, Timer::Call(CallStep::Outcome));
            }
            CallStep::Outcome => self.outcome(now, plan),
            CallStep::RemoteHangup => {
                self.end_call(now, 104, Some(plan.cause.unwrap_or(16)), "remote_hangup");
            }
            CallStep::Ring | CallStep::GiveUp => self.incoming_step(now, step),
        }
    }

    pub(super) fn set_stat(&mut self, stat: CallStat) {
        if let Some(c) = &mut self.call {
            c.stat = stat;
        }
    }

    fn outcome(&mut self, now: u64, plan: Plan) {
        let cause = |default: u16| Some(plan.cause.unwrap_or(default));
        match plan.outcome {
            Outcome::Answer => {
                self.urc("^CONN:1,0");
                self.set_stat(CallStat::Active);
                if let Some(c) = &mut self.call {
                    c.connected_at = Some(now);
                }
                if let Some(h) = plan.hangup_after_ms {
                    self.schedule(now + h, Timer::Call(CallStep::RemoteHangup));
                }
            }
            Outcome::Busy => self.end_call(now, 104, cause(17), "busy"),
            Outcome::NoAnswer => self.end_call(now, 104, cause(19), "no_answer"),
            Outcome::Rejected => self.end_call(now, 104, cause(21), "rejected"),
            Outcome::Unassigned => self.end_call(now, 104, cause(1), "unassigned"),
            Outcome::NetworkFailure => {
                let status = plan.end_status.unwrap_or(104);
                let c = if status == 104 { cause(34) } else { plan.cause };
                self.end_call(now, status, c, "network_failure");
            }
            Outcome::NoCarrier => {
                self.urc("NO CARRIER");
                match plan.cause {
                    Some(c) => self.end_call(now, 104, Some(c), "no_carrier"),
                    None => self.drop_call("no_carrier"),
                }
            }
            // Refused at ATD; never scheduled.
            Outcome::Error => self.drop_call("error"),
        }
    }

    /// Ends the call with `^CEND:1,<dur>,<end_status>[,<cause>]`.
    pub(super) fn end_call(
        &mut self,
        now: u64,
        end_status: u16,
        cause: Option<u16>,
        outcome: &'static str,
    ) {
        let Some(call) = &self.call else {
            return;
        };
        let dur = call
            .connected_at
            .map_or(0, |t| now.saturating_sub(t) / 1000);
        match cause {
            Some(c) => self.urc(&format!("^CEND:1,{dur},{end_status},{c}")),
            None => self.urc(&format!("^CEND:1,{dur},{end_status}")),
        }
        self.finish_call(outcome, dur);
    }

    /// The call vanishes without `^CEND` (reboot, unplug, `NO CARRIER`).
    pub(super) fn drop_call(&mut self, outcome: &'static str) {
        let dur = 0;
        if self.call.is_some() {
            self.finish_call(outcome, dur);
        }
    }

    fn finish_call(&mut self, outcome: &'static str, duration_s: u64) {
        self.cancel(|t| matches!(t, Timer::Call(_)));
        if let Some(call) = self.call.take() {
            self.last_call = Some(LastCall {
                number: call.number.clone(),
                direction: call.direction(),
                answered: call.connected_at.is_some(),
                outcome,
                duration_s,
                dtmf: call.dtmf,
            });
            self.events.push_back(DeviceEvent::CallEnded {
                number: call.number,
                incoming: call.incoming,
                outcome,
                duration_s,
            });
        }
    }

    /// The remote party hangs up now (control `hangup`): `^CEND:1,<dur>,104,16` (the
    /// scenario's cause for an answered outgoing call). Returns false without a call.
    pub(crate) fn remote_hangup(&mut self, now: u64) -> bool {
        match &self.call {
            Some(c) => {
                let cause = c
                    .plan
                    .cause
                    .filter(|_| c.plan.outcome == Outcome::Answer)
                    .unwrap_or(16);
                let outcome = match (c.connected_at.is_some(), c.incoming) {
                    (true, _) => "remote_hangup",
                    (false, false) => "remote_cancel",
                    (false, true) => "abandoned",
                };
                self.end_call(now, 104, Some(cause), outcome);
                true
            }
            None => false,
        }
    }

    /// `+CLCC` lines for the current call.
    pub(super) fn clcc_lines(&self) -> Vec<String> {
        self.call
            .iter()
            .map(|c| {
                format!(
                    "+CLCC: 1,{},{},0,0,\"{}\",{}",
                    u8::from(c.incoming),
                    c.stat.code(),
                    c.number,
                    number_type(&c.number)
                )
            })
            .collect()
    }
}
