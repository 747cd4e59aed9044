//! The modem side of a call: dial, progress, failover, the audio bridge and DTMF.

use std::time::Duration;

use actix::prelude::*;
use tracing::{debug, info, warn};

use e173gw_core::at::session::{CallEvent, CallId, ModemIdentity};
use e173gw_core::domain::{DialNumber, ModemId};
use e173gw_core::record::{Attempt, EndReason, RecordTarget};
use e173gw_core::sip::q850;

use super::actor::{CallActor, Leg, Phase};
use super::media::{MediaError, MediaSession, RtpIn};
use crate::modem::{
    AudioIn, AudioOut, Dial, Hangup, ModemActor, ModemCallEvent, ModemError, SendDtmf,
};
use crate::routing::Release;

/// The modem leg.
#[derive(Debug)]
pub(super) struct ModemLeg {
    pub(super) id: ModemId,
    addr: Addr<ModemActor>,
    call: Option<CallId>,
    answered: bool,
    pub(super) ended: bool,
    hangup_wanted: bool,
}

impl CallActor {
    pub(super) fn start_modem_leg(
        &mut self,
        id: ModemId,
        addr: Addr<ModemActor>,
        identity: ModemIdentity,
        ctx: &mut Context<Self>,
    ) {
        self.span.record("modem", id.as_str());
        self.rec.target = RecordTarget::Modem {
            modem: id.to_string(),
            imei: identity.imei.map(|i| i.to_string()),
            imsi: identity.imsi.map(|i| i.to_string()),
            iccid: identity.iccid.map(|i| i.to_string()),
        };
        self.leg = Leg::Modem(ModemLeg {
            id,
            addr,
            call: None,
            answered: false,
            ended: false,
            hangup_wanted: false,
        });
        self.phase = Phase::Setup;
        if self.media.is_some() {
            self.dial_modem(ctx);
            return;
        }
        let env = self.env.clone();
        let offer = (!self.invite.body.is_empty()).then(|| self.invite.body.clone());
        let sink = ctx.address().recipient::<RtpIn>();
        async move {
            let m = &env.seed.media;
            let advertise = m.advertise.unwrap_or_else(|| {
                if m.bind.is_unspecified() {
                    env.local.host.parse().unwrap_or(m.bind)
                } else {
                    m.bind
                }
            });
            MediaSession::open(
                &env.seed.ports,
                m.bind,
                advertise,
                m.jitter_frames,
                offer.as_deref(),
                sink,
            )
            .await
        }
        .into_actor(self)
        .map(|res, act, ctx| match res {
            Ok(media) => {
                act.media = Some(media);
                ctx.run_interval(Duration::from_millis(20), |act, _| act.media_tick());
                act.dial_modem(ctx);
            }
            Err(MediaError::Codec(e)) => {
                info!(parent: &act.span, error = %e, "No common codec.");
                act.release_modem();
                act.fail(488, None, EndReason::Rejected, ctx);
            }
            Err(e) => {
                warn!(parent: &act.span, error = %e, "Media setup failed.");
                act.release_modem();
                let code = if matches!(e, MediaError::Sdp(_)) {
                    400
                } else {
                    503
                };
                act.fail(code, None, EndReason::Rejected, ctx);
            }
        })
        .wait(ctx);
    }

    fn release_modem(&mut self) {
        if let Leg::Modem(m) = &self.leg {
            self.env.seed.release.do_send(Release {
                modem: m.id.clone(),
            });
        }
        self.leg = Leg::None;
    }

    fn dial_modem(&mut self, ctx: &mut Context<Self>) {
        let Leg::Modem(leg) = &self.leg else { return };
        let number = match DialNumber::parse(self.callee()) {
            Ok(n) => n,
            Err(e) => {
                info!(parent: &self.span, error = %e, "Number cannot be dialled.");
                self.release_modem();
                self.fail(484, None, EndReason::Rejected, ctx);
                return;
            }
        };
        let me = ctx.address();
        let dial = Dial {
            number,
            call_ref: self.call_id.clone(),
            events: me.clone().recipient(),
            audio: Some(me.recipient()),
        };
        leg.addr
            .send(dial)
            .into_actor(self)
            .map(|res, act, ctx| {
                let res = res.unwrap_or(Err(ModemError::Stopped));
                let Leg::Modem(leg) = &mut act.leg else { return };
                match res {
                    Ok(call) => {
                        leg.call = Some(call);
                        if leg.hangup_wanted {
                            leg.addr.do_send(Hangup { call });
                        }
                    }
                    Err(e) => {
                        let id = leg.id.to_string();
                        debug!(parent: &act.span, modem = %id, error = %e, "Modem refused the call.");
                        act.rec.attempts.push(Attempt { modem: id.clone(), end: None, q850: None, detail: e.to_string() });
                        act.next_modem(id, ctx);
                    }
                }
            })
            .wait(ctx);
    }

    /// The modem failed before answer for a reason of the gateway's own: try the next one.
    fn next_modem(&mut self, failed: String, ctx: &mut Context<Self>) {
        self.release_modem();
        if self.cancelled || self.final_status.is_some() {
            self.finish(self.end_reason.unwrap_or(EndReason::Cancelled), ctx);
            return;
        }
        self.exclude.push(failed);
        self.route(ctx);
    }

    pub(super) fn hang_up_modem(&mut self, _ctx: &mut Context<Self>) {
        let Leg::Modem(leg) = &mut self.leg else {
            return;
        };
        if leg.ended || leg.hangup_wanted {
            return;
        }
        leg.hangup_wanted = true;
        if let Some(call) = leg.call {
            leg.addr.do_send(Hangup { call });
        }
    }

    fn media_tick(&mut self) {
        let (Some(m), Leg::Modem(leg)) = (&mut self.media, &self.leg) else {
            return;
        };
        let (Some(call), false) = (leg.call, leg.ended) else {
            return;
        };
        if let Some(pcm) = m.tick() {
            leg.addr.do_send(AudioOut { call, pcm });
        }
    }

    fn on_modem_event(&mut self, ev: CallEvent, ctx: &mut Context<Self>) {
        let Leg::Modem(leg) = &mut self.leg else {
            return;
        };
        if leg.call.is_some_and(|c| c != ev.call()) {
            return;
        }
        match ev {
            CallEvent::Dialing(_) => {}
            CallEvent::Alerting(_) => {
                self.rec
                    .alerting_ms
                    .get_or_insert_with(super::record::wall_ms);
                if !self.early_media_sent && !self.ringing_sent {
                    self.ringing_sent = true;
                    self.provisional(180, None);
                }
            }
            CallEvent::Answered(_) => {
                leg.answered = true;
                if self.cancelled || self.phase == Phase::Ending {
                    self.hang_up_modem(ctx);
                } else {
                    let sdp = self
                        .media
                        .as_ref()
                        .and_then(MediaSession::sdp)
                        .map(String::into_bytes);
                    self.answer(sdp, ctx);
                }
            }
            CallEvent::Ended {
                cause, answered, ..
            } => {
                leg.ended = true;
                let modem = leg.id.to_string();
                info!(parent: &self.span, cause = ?cause.kind, q850 = ?cause.q850, "Modem leg ended.");
                if self.final_status.is_none() && !self.cancelled && self.phase != Phase::Ending {
                    self.rec.attempts.push(Attempt {
                        modem: modem.clone(),
                        end: Some(cause.kind),
                        q850: cause.q850,
                        detail: cause.detail.clone(),
                    });
                    if cause.kind.is_gateway_fault() {
                        // Kept in case no other modem takes the call.
                        self.rec.cause = Some(cause);
                        self.next_modem(modem, ctx);
                        return;
                    }
                    let status = q850::final_status(&cause);
                    let reason = q850::reason_header(&cause);
                    self.rec.cause = Some(cause);
                    self.fail(status, reason, EndReason::Failed, ctx);
                    return;
                }
                self.rec.cause = Some(cause);
                if answered && self.phase == Phase::Answered {
                    info!(parent: &self.span, "Callee hung up.");
                    self.end_reason.get_or_insert(EndReason::CalleeHangup);
                    self.phase = Phase::Ending;
                    self.bye_trunk();
                    ctx.run_later(Duration::from_secs(5), |act, ctx| {
                        act.finish(EndReason::CalleeHangup, ctx)
                    });
                } else if !self.trunk_bye {
                    let why = self.end_reason.unwrap_or(EndReason::Cancelled);
                    self.finish(why, ctx);
                } else {
                    self.trunk_callee_done(ctx);
                }
            }
        }
    }
}

impl Handler<ModemCallEvent> for CallActor {
    type Result = ();
    fn handle(&mut self, msg: ModemCallEvent, ctx: &mut Context<Self>) {
        self.on_modem_event(msg.event, ctx);
    }
}

impl Handler<AudioIn> for CallActor {
    type Result = ();
    fn handle(&mut self, msg: AudioIn, _: &mut Context<Self>) {
        if self.media.is_none() {
            return;
        }
        if !self.early_media_sent && self.final_status.is_none() && !self.cancelled {
            // The modem passes the network's ringback and announcements: early media.
            self.early_media_sent = true;
            let sdp = self
                .media
                .as_ref()
                .and_then(MediaSession::sdp)
                .map(String::into_bytes);
            self.provisional(183, sdp);
        }
        if let Some(m) = &mut self.media {
            m.send_modem_audio(&msg.pcm);
        }
    }
}

impl Handler<RtpIn> for CallActor {
    type Result = ();
    fn handle(&mut self, msg: RtpIn, _: &mut Context<Self>) {
        let Some(m) = &mut self.media else { return };
        let digit = m.receive(&msg.bytes);
        if let (Some(d), Leg::Modem(leg)) = (digit, &self.leg) {
            if let (Some(call), true) = (leg.call, leg.answered) {
                info!(parent: &self.span, digit = %d, "DTMF to the modem.");
                leg.addr.do_send(SendDtmf {
                    call,
                    digits: d.to_string(),
                });
            }
        }
    }
}
