//! The modem side of a call: RTP, dialling, progress, failover, DTMF.

use std::net::IpAddr;
use std::time::Instant;

use crate::at::session::{CallEvent, CallId, ModemIdentity};
use crate::domain::ModemId;
use crate::record::{Attempt, EndReason, RecordTarget};
use crate::sip::q850;

use super::media::MediaNeg;
use super::state::CallState;
use super::{Action, CallSession, Leg, Timer};

/// A leased modem.
#[derive(Debug)]
pub(super) struct ModemLeg {
    pub(super) id: ModemId,
    /// The modem's call, once it took the dial.
    pub(super) call: Option<CallId>,
    /// Dial sent, no answer to it yet.
    dialing: bool,
    answered: bool,
    pub(super) ended: bool,
    /// A hang-up is wanted as soon as the modem names its call.
    hangup_wanted: bool,
    /// The lease went back to the router.
    released: bool,
}

impl ModemLeg {
    /// A modem leg whose call is already answered (a transfer that connected).
    pub(super) fn answered(id: ModemId, call: CallId) -> Self {
        Self {
            id,
            call: Some(call),
            dialing: false,
            answered: true,
            ended: false,
            hangup_wanted: false,
            released: false,
        }
    }

    /// Whether nothing more will happen on the modem.
    pub(super) fn is_done(&self) -> bool {
        self.ended || (self.call.is_none() && !self.dialing)
    }
}

impl CallSession {
    pub(super) fn start_modem_leg(
        &mut self,
        now: Instant,
        id: ModemId,
        identity: ModemIdentity,
        ev: &'static str,
    ) {
        self.rec.target = RecordTarget::Modem {
            modem: id.to_string(),
            imei: identity.imei.map(|i| i.to_string()),
            imsi: identity.imsi.map(|i| i.to_string()),
            iccid: identity.iccid.map(|i| i.to_string()),
        };
        self.leg = Leg::Modem(ModemLeg {
            id,
            call: None,
            dialing: false,
            answered: false,
            ended: false,
            hangup_wanted: false,
            released: false,
        });
        self.m.call_to(CallState::Connecting, now, ev);
        if self.media.is_some() {
            self.dial();
        } else if !self.media_pending {
            self.media_pending = true;
            self.push(Action::BindMedia);
        }
    }

    /// RTP is bound: answer the caller's offer (or make ours), then dial.
    pub(super) fn on_media_bound(
        &mut self,
        now: Instant,
        addr: IpAddr,
        port: u16,
        session_id: u64,
        ev: &'static str,
    ) {
        self.media_pending = false;
        if !matches!(self.leg, Leg::Modem(_)) || self.m.call != CallState::Connecting {
            self.push(Action::DropMedia);
            return;
        }
        let mut neg = MediaNeg::new(addr, port, session_id);
        if self.invite().body.is_empty() {
            neg.offer();
        } else {
            let body = self.invite().body.clone();
            match neg.answer(&body) {
                Ok((_, n)) => self.push(Action::ConfigureMedia(n)),
                Err(e) => {
                    self.push(Action::DropMedia);
                    self.release_modem();
                    self.leg = Leg::None;
                    self.fail(e.status(), None, EndReason::Rejected, now, ev);
                    return;
                }
            }
        }
        self.media = Some(neg);
        self.dial();
    }

    pub(super) fn on_media_failed(&mut self, now: Instant, ev: &'static str) {
        self.media_pending = false;
        if matches!(self.leg, Leg::Modem(_)) && self.m.call == CallState::Connecting {
            self.release_modem();
            self.leg = Leg::None;
            self.fail(503, None, EndReason::Failed, now, ev);
        } else {
            self.settle(now, ev);
        }
    }

    fn dial(&mut self) {
        let Leg::Modem(m) = &mut self.leg else { return };
        m.dialing = true;
        let modem = m.id.clone();
        let number = self.callee.clone();
        let forms = match self.verdict.as_deref() {
            Some(v) => crate::config::dial::DialForms {
                e164: v.annotations.e164.clone(),
                national: v.annotations.national.clone(),
            },
            None => crate::config::dial::DialForms::default(),
        };
        self.push(Action::Dial {
            modem,
            number,
            forms,
        });
    }

    /// Gives the leased modem back (once).
    pub(super) fn release_modem(&mut self) {
        if let Leg::Modem(m) = &mut self.leg {
            if !m.released {
                m.released = true;
                let id = m.id.clone();
                self.push(Action::Release(id));
            }
        }
    }

    pub(super) fn hang_up_modem(&mut self) {
        let Leg::Modem(m) = &mut self.leg else { return };
        if m.ended {
            return;
        }
        match m.call {
            Some(call) if !m.hangup_wanted => {
                m.hangup_wanted = true;
                let modem = m.id.clone();
                self.push(Action::Hangup { modem, call });
            }
            Some(_) => {}
            None if m.dialing => m.hangup_wanted = true,
            None => {
                // Never dialled: nothing to hang up.
                m.ended = true;
                self.release_modem();
            }
        }
    }

    pub(super) fn on_dial_accepted(&mut self, call: CallId) {
        let Leg::Modem(m) = &mut self.leg else { return };
        m.dialing = false;
        m.call = Some(call);
        if m.hangup_wanted {
            let modem = m.id.clone();
            self.push(Action::Hangup { modem, call });
        }
    }

    pub(super) fn on_dial_refused(&mut self, now: Instant, why: String, ev: &'static str) {
        let Leg::Modem(m) = &mut self.leg else { return };
        m.dialing = false;
        m.ended = true;
        let modem = m.id.to_string();
        self.rec.attempts.push(Attempt {
            modem,
            end: None,
            q850: None,
            detail: why,
        });
        self.failover(now, ev);
    }

    /// The modem (or a peer's SIM) failed before answer for a reason of the gateway's
    /// own: ask for another.
    pub(super) fn failover(&mut self, now: Instant, ev: &'static str) {
        let failed = match &self.leg {
            Leg::Modem(m) => Some(m.id.clone()),
            Leg::Agent(a) => a.peer.as_ref().map(|p| p.id.clone()),
            _ => None,
        };
        self.release_modem();
        self.release_peer();
        self.leg = Leg::None;
        if self.m.call == CallState::Ending || self.trunk.final_status.is_some() {
            self.settle(now, ev);
            return;
        }
        self.exclude.extend(failed);
        self.route(now, ev);
    }

    pub(super) fn on_modem_event(&mut self, now: Instant, e: CallEvent, ev: &'static str) {
        let Leg::Modem(m) = &mut self.leg else { return };
        match m.call {
            Some(c) if c != e.call() => return,
            // Progress may overtake the dial's own answer.
            None if m.dialing => self.on_dial_accepted(e.call()),
            None => return,
            Some(_) => {}
        }
        let Leg::Modem(m) = &mut self.leg else { return };
        match e {
            CallEvent::Dialing(_) | CallEvent::Incoming { .. } => {}
            CallEvent::Alerting(_) => {
                self.rec.alerting_ms.get_or_insert(self.clock.wall_ms(now));
                if !self.trunk.early_media && !self.trunk.ringing && !self.caller_gone {
                    self.trunk.ringing = true;
                    self.provisional(180, None, now, ev);
                }
            }
            CallEvent::Answered(_) => {
                m.answered = true;
                if self.m.call == CallState::Ending {
                    self.hang_up_modem();
                } else {
                    let sdp = self.media.as_ref().and_then(MediaNeg::sdp);
                    self.answer(sdp, now, ev);
                }
            }
            CallEvent::Ended {
                cause, answered, ..
            } => {
                m.ended = true;
                m.call = None;
                let modem = m.id.to_string();
                let before_answer = !self.m.call.is_up()
                    && self.m.call != CallState::Ending
                    && self.trunk.final_status.is_none();
                if before_answer {
                    self.rec.attempts.push(Attempt {
                        modem,
                        end: Some(cause.kind),
                        q850: cause.q850,
                        detail: cause.detail.clone(),
                    });
                    let gateway_fault = cause.kind.is_gateway_fault();
                    let status = q850::final_status(&cause);
                    let reason = q850::reason_header(&cause);
                    // Kept in case no other modem takes the call.
                    self.rec.cause = Some(cause);
                    if gateway_fault {
                        self.failover(now, ev);
                    } else {
                        self.fail(status, reason, EndReason::Failed, now, ev);
                    }
                    return;
                }
                self.rec.cause = Some(cause);
                if answered && self.m.call.is_up() {
                    self.end_reason.get_or_insert(EndReason::CalleeHangup);
                    self.m.call_to(CallState::Ending, now, ev);
                    self.bye_trunk();
                    self.arm(Timer::Teardown, self.cfg.teardown_grace, now);
                }
                self.settle(now, ev);
            }
        }
    }

    /// Audio from the modem before answer is the network's ringback or announcement:
    /// early media (183 with our SDP).
    pub(super) fn on_modem_audio(&mut self, now: Instant, ev: &'static str) {
        if self.trunk.early_media
            || self.trunk.final_status.is_some()
            || !matches!(self.m.call, CallState::Connecting | CallState::Early)
        {
            return;
        }
        let Some(sdp) = self.media.as_ref().and_then(MediaNeg::sdp) else {
            return;
        };
        self.trunk.early_media = true;
        self.provisional(183, Some(sdp), now, ev);
    }

    pub(super) fn on_dtmf(&mut self, digit: char) {
        if let Leg::Modem(m) = &self.leg {
            if let (Some(call), true, false) = (m.call, m.answered, m.ended) {
                let modem = m.id.clone();
                self.push(Action::Dtmf { modem, call, digit });
            }
        }
    }
}
