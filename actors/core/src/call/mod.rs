//! The sans-IO call session: one call of the back-to-back user agent as a state machine.
//!
//! Events go in with the time ([`CallSession::handle`]); what the owner must do comes out
//! ([`CallSession::poll_action`]): responses and requests to send, router and modem
//! commands, RTP to bind or configure, timers to arm, and at the end the one call record.
//! Nothing here reads a clock, touches a socket or waits. The owner (the call actor, or a
//! test) drives it:
//!
//! ```text
//! let mut s = CallSession::new(setup, cfg, now);   // queues Route (or a refusal)
//! loop {
//!     while let Some(a) = s.poll_action() { do_it(a) }   // Respond, Send, Dial, Arm, Record...
//!     s.handle(now, next_event());                       // TU events, route, modem, timers
//! }
//! ```
//!
//! The call has two explicit state machines, both recorded with the event that moved them
//! and when (the history goes into the call record):
//!
//! - the call: [`CallState`] `routing → connecting → early → answered → confirmed →
//!   ending → ended` (any state may go to `ending` or `ended`; failover goes back to
//!   `routing`);
//! - the caller's dialog: [`DialogState`] `trying → early → confirmed → terminated`.
//!
//! Rules it keeps (RFC 3261 and the gateway's own):
//!
//! - exactly one final response to the INVITE; a CANCEL after it is ignored (the caller
//!   ACKs and BYEs); a BYE before it gets 200 and the INVITE 487;
//! - a re-INVITE before the 2xx gets 500 with Retry-After (§14.2); UPDATE is answered in
//!   early dialogs too;
//! - a modem that fails for a reason of the gateway's own before answer is left out and
//!   the router asked again (failover); callee-side outcomes (busy, no answer, rejected)
//!   go to the caller, mapped by [`crate::sip::q850`];
//! - a leased modem is released exactly once, whenever the call leaves it;
//! - hanging up waits for the legs to confirm (BYE answered, modem call ended), at most
//!   `teardown_grace`; then the record is made, then the call lingers to absorb
//!   retransmissions and is done.

mod agent;
mod draft;
pub mod inbound;
pub mod ladder;
mod media;
mod modem;
mod parties;
mod route;
mod screen;
mod state;
mod transfer;
mod trunk;
mod types;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use media::{check_offer, MediaError};
pub use parties::{callee_user, caller_of, Caller, Parties, Undialable};
pub use state::{CallState, DialogState};
pub use types::{Action, CallConfig, CallSetup, Event, Progress, Timer};

use crate::config::sip::Target;
use crate::domain::{DialNumber, ModemId};
use crate::record::{EndReason, RecordTarget, Transition};
use crate::sip::dialog::{Local, LocalSip};
use crate::sip::ids::IdGen;
use crate::sip::{headers, Request};

use agent::AgentLeg;
use draft::{Clock, Draft};
use media::MediaNeg;
use modem::ModemLeg;
use state::Machines;
use trunk::TrunkLeg;

/// The callee side.
#[derive(Debug)]
enum Leg {
    /// None yet (routing), or given up.
    None,
    /// A leased modem.
    Modem(ModemLeg),
    /// The AI voice agent.
    Agent(Box<AgentLeg>),
}

/// One call. See the module docs.
#[derive(Debug)]
pub struct CallSession {
    cfg: CallConfig,
    ids: IdGen,
    m: Machines,
    clock: Clock,
    local: Arc<LocalSip>,
    target: Target,
    callee: DialNumber,
    caller: String,
    trunk_name: String,
    trunk: TrunkLeg,
    leg: Leg,
    media: Option<MediaNeg>,
    /// RTP was asked for and not yet reported.
    media_pending: bool,
    /// A route was asked for and not yet answered.
    routing: bool,
    exclude: Vec<ModemId>,
    /// A call from a peer node: the SIM it names (`X-E173GW-Modem`), and it is never
    /// sent on to another peer.
    from_peer: Option<Option<String>>,
    /// What screening decided and learned (`None` until screened, or unscreened).
    verdict: Option<Box<crate::filter::Verdict>>,
    /// The caller left before a final response (CANCEL, or BYE on the early dialog).
    caller_gone: bool,
    /// `Retry-After` for a 503 the router asked for.
    retry_after_s: Option<u32>,
    end_reason: Option<EndReason>,
    rec: Draft,
    timers: [Option<Instant>; 5],
    out: VecDeque<Action>,
    /// A transfer the agent asked for (REFER), until it connects or fails.
    transfer: Option<Box<transfer::Transfer>>,
    /// The agent after its call was transferred away (its BYE).
    transferor: Option<Box<AgentLeg>>,
}

fn slot(t: Timer) -> usize {
    match t {
        Timer::MaxDuration => 0,
        Timer::HardLimit => 1,
        Timer::AgentAnswer => 2,
        Timer::Teardown => 3,
        Timer::Linger => 4,
    }
}

impl CallSession {
    /// A call for an admitted INVITE. It asks for a route at once, or refuses the call
    /// (an SDP offer no modem could bridge, when the trunk's calls go to modems).
    pub fn new(setup: CallSetup, cfg: CallConfig, now: Instant) -> Self {
        let mut ids = setup.ids;
        let call_id = headers::call_id(&setup.invite.headers)
            .unwrap_or_default()
            .to_string();
        let from_peer = setup.from_peer.then(|| {
            headers::other(&setup.invite.headers, crate::routing::node::MODEM_HEADER)
                .map(str::to_string)
        });
        let rec = Draft {
            call_id: call_id.clone(),
            trunk: setup.trunk.clone(),
            caller: setup.parties.caller.as_str().to_string(),
            callee: setup.parties.callee.as_str().to_string(),
            target: RecordTarget::None,
            attempts: Vec::new(),
            received_ms: setup.received_ms,
            routed_ms: None,
            alerting_ms: None,
            answered_ms: None,
            sip_status: None,
            cause: None,
            verdict: Vec::new(),
            route: Vec::new(),
            max_call: None,
        };
        let trunk = TrunkLeg {
            local: setup.local.for_transport(setup.source.transport),
            to_tag: ids.tag(),
            invite: setup.invite,
            tx: setup.invite_tx,
            source: setup.source,
            call_id,
            final_status: None,
            early_media: false,
            ringing: false,
            dialog: None,
            bye_sent: false,
            bye_done: false,
            caller_bye: false,
        };
        let mut s = Self {
            cfg,
            ids,
            m: Machines::new(now),
            clock: Clock::new(now, setup.received_ms),
            local: setup.local,
            target: setup.target,
            from_peer,
            callee: setup.parties.callee,
            caller: setup.parties.caller.as_str().to_string(),
            trunk_name: setup.trunk,
            trunk,
            leg: Leg::None,
            media: None,
            media_pending: false,
            routing: false,
            exclude: Vec::new(),
            verdict: None,
            caller_gone: false,
            retry_after_s: None,
            end_reason: None,
            rec,
            timers: [None; 5],
            out: VecDeque::new(),
            transfer: None,
            transferor: None,
        };
        s.arm(
            Timer::HardLimit,
            cfg.max_duration.saturating_add(cfg.hard_limit_margin),
            now,
        );
        if s.target == Target::Modems && !s.trunk.invite.body.is_empty() {
            if let Err(e) = check_offer(&s.trunk.invite.body) {
                s.fail(e.status(), None, EndReason::Rejected, now, "offer_refused");
                return s;
            }
        }
        if s.cfg.screen {
            s.screen();
        } else {
            s.route(now, "invite");
        }
        s
    }

    // === the interface ===

    /// Feeds one event.
    pub fn handle(&mut self, now: Instant, ev: Event) {
        let name = ev.name();
        if self.m.call == CallState::Ended {
            self.after_end(now, ev);
            return;
        }
        if self.transferring() && self.transfer_event(now, &ev) {
            return;
        }
        match ev {
            Event::Cancel => self.on_cancel(now, name),
            Event::Ack(req) => self.on_ack(now, &req, name),
            Event::Request { tx, req } if self.is_transferor(&req.headers) => {
                self.on_transferor(Some(tx), Some(&req))
            }
            Event::Response(resp) if self.is_transferor(&resp.headers) => {
                if resp.status_code.code() >= 200
                    && headers::cseq(&resp.headers)
                        .is_some_and(|c| c.method.eq_ignore_ascii_case("BYE"))
                {
                    self.on_transferor(None, None);
                }
            }
            Event::Request { tx, req } => {
                if self.is_agent(&req.headers) {
                    self.on_agent_request(now, tx, &req, name);
                } else {
                    self.on_trunk_request(now, tx, &req, name);
                }
            }
            Event::Response(resp) => {
                if self.is_agent(&resp.headers) {
                    self.on_agent_response(now, &resp, name);
                } else {
                    self.on_trunk_response(now, &resp, name);
                }
            }
            Event::Timeout { call_id, method } => {
                if self.agent_call_id() == Some(call_id.as_str()) {
                    self.on_agent_timeout(now, method, name);
                } else {
                    self.on_trunk_timeout(now, method, name);
                }
            }
            Event::NoAck => {
                if self.m.call == CallState::Answered {
                    self.hang_up_both(EndReason::CallerLost, now, name);
                }
            }
            Event::Screened(v) => self.on_screened(now, *v, name),
            Event::ScreenGone => self.on_screen_gone(now, name),
            Event::Routed(route, why) => self.on_routed(now, route, why, name),
            Event::PeerDown(node) => self.on_peer_down(&node, now, name),
            Event::RouterGone => {
                self.routing = false;
                if self.m.call == CallState::Routing {
                    self.fail(503, None, EndReason::NoRoute, now, name);
                } else {
                    self.settle(now, name);
                }
            }
            Event::MediaBound {
                addr,
                port,
                session_id,
            } => self.on_media_bound(now, addr, port, session_id, name),
            Event::MediaFailed(_) => self.on_media_failed(now, name),
            Event::DialAccepted(call) => self.on_dial_accepted(call),
            Event::DialRefused(why) => self.on_dial_refused(now, why, name),
            Event::Modem(e) => self.on_modem_event(now, e, name),
            Event::ModemAudio => self.on_modem_audio(now, name),
            Event::Dtmf(d) => self.on_dtmf(d),
            Event::Timer(t) => {
                if self.fired(t, now) {
                    self.on_timer(now, t, name);
                }
            }
            Event::Shutdown => {
                self.end_reason.get_or_insert(EndReason::Shutdown);
                self.bye_trunk();
                self.hang_up_callee();
                self.finish(EndReason::Shutdown, now, name);
            }
        }
    }

    /// The next thing to do, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.out.pop_front()
    }

    /// The call's state.
    pub fn state(&self) -> CallState {
        self.m.call
    }

    /// The caller's dialog's state.
    pub fn dialog_state(&self) -> DialogState {
        self.m.dialog
    }

    /// Every move so far.
    pub fn history(&self) -> &[Transition] {
        &self.m.history
    }

    /// The caller's Call-ID.
    pub fn call_id(&self) -> &str {
        &self.trunk.call_id
    }

    /// What operations show of the call while it is in progress.
    pub fn progress(&self) -> Progress<'_> {
        let r = &self.rec;
        let since = self
            .m
            .history
            .iter()
            .rev()
            .find(|t| t.machine == crate::record::Machine::Call)
            .map_or(0, |t| t.at_ms);
        Progress {
            call_id: &r.call_id,
            trunk: &r.trunk,
            caller: &r.caller,
            callee: &r.callee,
            received_ms: r.received_ms,
            state: self.m.call,
            state_since_ms: r.received_ms.saturating_add(since),
            modem: match &self.leg {
                Leg::Modem(m) => Some(&m.id),
                _ => None,
            },
        }
    }

    /// The modem call that audio should be played to, while it runs.
    pub fn audio_call(&self) -> Option<(&ModemId, crate::at::session::CallId)> {
        match &self.leg {
            Leg::Modem(m) if !m.ended => m.call.map(|c| (&m.id, c)),
            _ => None,
        }
    }

    // === shared steps ===

    fn push(&mut self, a: Action) {
        self.out.push_back(a);
    }

    /// Arms `t` to fire `after` from now; the teardown grace is never extended.
    fn arm(&mut self, t: Timer, after: Duration, now: Instant) {
        let i = slot(t);
        if t == Timer::Teardown && self.timers[i].is_some() {
            return;
        }
        self.timers[i] = Some(now + after);
        self.push(Action::Arm { timer: t, after });
    }

    fn disarm(&mut self, t: Timer) {
        self.timers[slot(t)] = None;
    }

    /// Whether a reported timer is one still wanted (and due).
    fn fired(&mut self, t: Timer, now: Instant) -> bool {
        let i = slot(t);
        match self.timers[i] {
            Some(at) if now >= at => {
                self.timers[i] = None;
                true
            }
            _ => false,
        }
    }

    fn on_timer(&mut self, now: Instant, t: Timer, ev: &'static str) {
        match t {
            Timer::MaxDuration => {
                if self.m.call.is_up() {
                    self.hang_up_both(EndReason::MaxDuration, now, ev);
                }
            }
            Timer::HardLimit => {
                self.hang_up_both(EndReason::MaxDuration, now, ev);
                self.finish(EndReason::MaxDuration, now, ev);
            }
            Timer::AgentAnswer => self.on_agent_no_answer(now, ev),
            Timer::Teardown => {
                let why = self.end_reason.unwrap_or(EndReason::Failed);
                self.finish(why, now, ev);
            }
            Timer::Linger => {}
        }
    }

    fn wall_ms(&self, now: Instant) -> u64 {
        self.clock.wall_ms(now)
    }

    /// Hangs up both sides (max duration, caller lost, callee failure after answer).
    fn hang_up_both(&mut self, why: EndReason, now: Instant, ev: &'static str) {
        self.end_reason.get_or_insert(why);
        self.m.call_to(CallState::Ending, now, ev);
        self.bye_trunk();
        self.hang_up_callee();
        self.arm(Timer::Teardown, self.cfg.teardown_grace, now);
        self.settle(now, ev);
    }

    /// Ends the callee leg: modem hang-up, agent CANCEL or BYE.
    fn hang_up_callee(&mut self) {
        self.hang_up_transfer_modem();
        match &self.leg {
            Leg::Modem(_) => self.hang_up_modem(),
            Leg::Agent(_) => self.hang_up_agent(),
            Leg::None => {}
        }
    }

    fn callee_done(&self) -> bool {
        !self.routing
            && self.transfer_done()
            && match &self.leg {
                Leg::None => true,
                Leg::Modem(m) => m.is_done(),
                Leg::Agent(a) => a.is_done(),
            }
    }

    /// While ending: makes the record once every leg has confirmed.
    fn settle(&mut self, now: Instant, ev: &'static str) {
        if self.m.call == CallState::Ending && self.trunk_done() && self.callee_done() {
            let why = self.end_reason.unwrap_or(EndReason::CalleeHangup);
            self.finish(why, now, ev);
        }
    }

    /// Refuses the INVITE (if not answered yet) and ends the call.
    fn fail(
        &mut self,
        code: u16,
        reason: Option<String>,
        why: EndReason,
        now: Instant,
        ev: &'static str,
    ) {
        self.reject(code, reason, now, ev);
        self.end_reason.get_or_insert(why);
        self.m.call_to(CallState::Ending, now, ev);
        self.hang_up_callee();
        self.arm(Timer::Teardown, self.cfg.teardown_grace, now);
        self.settle(now, ev);
    }

    /// Makes the record, gives back the modem and RTP, and lingers. Runs once.
    fn finish(&mut self, why: EndReason, now: Instant, ev: &'static str) {
        if self.m.call == CallState::Ended {
            return;
        }
        let why = self.end_reason.unwrap_or(why);
        if self.trunk.final_status.is_none() {
            // Every path answers before this; never leave the caller waiting.
            let code = if self.caller_gone { 487 } else { 500 };
            self.reject(code, None, now, ev);
        }
        self.release_modem();
        self.release_peer();
        self.finish_transfer();
        if self.media.take().is_some() || self.media_pending {
            self.push(Action::DropMedia);
        }
        for t in [
            Timer::MaxDuration,
            Timer::HardLimit,
            Timer::AgentAnswer,
            Timer::Teardown,
        ] {
            self.disarm(t);
        }
        self.m.call_to(CallState::Ended, now, ev);
        self.m.dialog_to(DialogState::Terminated, now, ev);
        let record = self
            .rec
            .finish(why, self.wall_ms(now), self.m.history.clone());
        self.push(Action::Record(Box::new(record)));
        self.arm(Timer::Linger, self.cfg.linger, now);
    }

    /// After the record: only leftovers of what was asked before, then forgetting.
    fn after_end(&mut self, now: Instant, ev: Event) {
        match ev {
            Event::Timer(t) if self.fired(t, now) && t == Timer::Linger => self.push(Action::Done),
            Event::Routed(crate::routing::Route::Modem { id, .. }, _)
            | Event::Routed(crate::routing::Route::Peer { id, .. }, _) => {
                self.push(Action::Release(id));
            }
            Event::MediaBound { .. } => self.push(Action::DropMedia),
            Event::DialAccepted(call) => {
                if let Leg::Modem(m) = &self.leg {
                    let modem = m.id.clone();
                    self.push(Action::Hangup { modem, call });
                }
            }
            Event::Response(resp) if self.is_agent(&resp.headers) => {
                self.agent_answered_too_late(&resp);
            }
            Event::Request { tx, req } => {
                let code = if req.method == crate::sip::Method::Bye {
                    200
                } else {
                    481
                };
                self.reply(tx, &req, code, None);
            }
            _ => {}
        }
    }

    fn is_agent(&self, h: &crate::sip::Headers) -> bool {
        self.agent_call_id()
            .is_some_and(|c| headers::call_id(h) == Some(c))
    }

    fn agent_call_id(&self) -> Option<&str> {
        match &self.leg {
            Leg::Agent(a) => Some(a.call_id.as_str()),
            _ => None,
        }
    }

    fn local_for(&self, t: crate::sip::Transport) -> Local {
        self.local.for_transport(t)
    }

    fn invite(&self) -> &Request {
        &self.trunk.invite
    }
}
