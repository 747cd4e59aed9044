//! What goes into a [`CallSession`](super::CallSession) and what comes out.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::at::session::{CallEvent, CallId};
use crate::config::sip::Target;
use crate::domain::{DialNumber, ModemId};
use crate::record::CallRecord;
use crate::routing::Route;
use crate::sdp::Negotiated;
use crate::sip::dialog::LocalSip;
use crate::sip::ids::IdGen;
use crate::sip::transaction::TxId;
use crate::sip::{Method, Peer, Request, Response};

use super::Parties;

/// Everything a call starts from: the admitted INVITE and what admission learned.
#[derive(Debug)]
pub struct CallSetup {
    /// The INVITE.
    pub invite: Request,
    /// Its server transaction.
    pub invite_tx: TxId,
    /// Where it came from (in-dialog requests to the caller go there).
    pub source: Peer,
    /// How the gateway addresses itself.
    pub local: Arc<LocalSip>,
    /// Caller and callee, parsed at admission.
    pub parties: Parties,
    /// Trunk name.
    pub trunk: String,
    /// Where the trunk's calls go.
    pub target: Target,
    /// The trunk is a peer e173gw node (the call may name its SIM; it is never sent on
    /// to another peer).
    pub from_peer: bool,
    /// When the INVITE arrived (Unix ms), as journaled.
    pub received_ms: u64,
    /// Tags, Call-IDs and branches for this call.
    pub ids: IdGen,
}

/// Timing of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallConfig {
    /// Longest answered call; then both sides get BYE.
    pub max_duration: Duration,
    /// How long a hang-up waits for the other legs to confirm before the record is made.
    pub teardown_grace: Duration,
    /// How long a finished call stays to absorb retransmissions before it is forgotten.
    pub linger: Duration,
    /// Added to `max_duration`: no call outlives that, whatever goes wrong.
    pub hard_limit_margin: Duration,
    /// Screen calls before routing ([`Action::Screen`]).
    pub screen: bool,
    /// Screen the number of a transfer the agent asks for, too (`[agent] screen_transfers`).
    pub screen_transfers: bool,
}

impl Default for CallConfig {
    fn default() -> Self {
        Self {
            max_duration: Duration::from_secs(3600),
            teardown_grace: Duration::from_secs(5),
            linger: Duration::from_secs(2),
            hard_limit_margin: Duration::from_secs(300),
            screen: false,
            screen_transfers: false,
        }
    }
}

/// The call's timers. The owner arms one when told ([`Action::Arm`]) and reports it back
/// ([`Event::Timer`]); the session ignores a timer it no longer wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// The answered call reached its maximum duration.
    MaxDuration,
    /// The call overstayed `max_duration` + margin in any state.
    HardLimit,
    /// The agent rang too long.
    AgentAnswer,
    /// The legs had their time to confirm a hang-up.
    Teardown,
    /// The finished call can be forgotten.
    Linger,
}

/// Something that happened to the call.
#[derive(Debug, Clone)]
pub enum Event {
    /// The caller CANCELled the INVITE (the CANCEL itself is answered).
    Cancel,
    /// An ACK for our 2xx to the caller.
    Ack(Request),
    /// A request in one of the call's dialogs (the caller's or the agent's, by Call-ID).
    Request {
        /// Its server transaction.
        tx: TxId,
        /// The request.
        req: Request,
    },
    /// A response to a request the call sent (either leg, by Call-ID), or a 2xx
    /// retransmission that matched no transaction any more.
    Response(Response),
    /// A request the call sent got no final response in time.
    Timeout {
        /// Its Call-ID (which leg).
        call_id: String,
        /// Its method.
        method: Method,
    },
    /// The caller never ACKed our 2xx.
    NoAck,
    /// The screening's verdict.
    Screened(Box<crate::filter::Verdict>),
    /// The filter could not be asked (the call goes on unscreened).
    ScreenGone,
    /// The router's decision, and "why this SIM" (lines for the record).
    Routed(Route, Vec<String>),
    /// The router could not be asked.
    RouterGone,
    /// A peer node went out of rotation (its leg, if any, moves on or ends).
    PeerDown(String),
    /// An RTP socket is bound for the modem leg.
    MediaBound {
        /// Address written in our SDP.
        addr: IpAddr,
        /// Its port.
        port: u16,
        /// SDP session id for our `o=` line.
        session_id: u64,
    },
    /// No RTP socket could be bound.
    MediaFailed(String),
    /// The modem took the dial.
    DialAccepted(CallId),
    /// The modem refused the dial (busy with another call, not ready, gone).
    DialRefused(String),
    /// Call progress from the modem.
    Modem(CallEvent),
    /// Audio came from the modem (the network's ringback or announcements before answer).
    ModemAudio,
    /// The caller sent a DTMF digit (RFC 4733).
    Dtmf(char),
    /// A timer the session armed fired.
    Timer(Timer),
    /// The gateway is stopping.
    Shutdown,
}

impl Event {
    /// Short name, for the transition history.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Cancel => "cancel",
            Self::Ack(_) => "ack",
            Self::Request { req, .. } => match req.method {
                Method::Bye => "bye",
                Method::Invite => "reinvite",
                Method::Update => "update",
                _ => "request",
            },
            Self::Response(r) => match r.status_code.code() {
                100..=199 => "provisional",
                200..=299 => "2xx",
                _ => "error_response",
            },
            Self::Timeout { .. } => "timeout",
            Self::NoAck => "no_ack",
            Self::Screened(v) => match v.decision {
                crate::filter::Decision::Allow => "screened_allow",
                crate::filter::Decision::Reject { .. } => "screened_reject",
                crate::filter::Decision::Divert { .. } => "screened_divert",
            },
            Self::ScreenGone => "screen_gone",
            Self::Routed(Route::Modem { .. }, _) => "routed_modem",
            Self::Routed(Route::Agent { .. }, _) => "routed_agent",
            Self::Routed(Route::Peer { .. }, _) => "routed_peer",
            Self::Routed(Route::Reject { .. }, _) => "no_route",
            Self::RouterGone => "router_gone",
            Self::PeerDown(_) => "peer_down",
            Self::MediaBound { .. } => "media_bound",
            Self::MediaFailed(_) => "media_failed",
            Self::DialAccepted(_) => "dial_accepted",
            Self::DialRefused(_) => "dial_refused",
            Self::Modem(CallEvent::Dialing(_)) => "modem_dialing",
            Self::Modem(CallEvent::Incoming { .. }) => "modem_incoming",
            Self::Modem(CallEvent::Alerting(_)) => "modem_alerting",
            Self::Modem(CallEvent::Answered(_)) => "modem_answered",
            Self::Modem(CallEvent::Ended { .. }) => "modem_ended",
            Self::ModemAudio => "modem_audio",
            Self::Dtmf(_) => "dtmf",
            Self::Timer(Timer::MaxDuration) => "max_duration",
            Self::Timer(Timer::HardLimit) => "hard_limit",
            Self::Timer(Timer::AgentAnswer) => "agent_no_answer",
            Self::Timer(Timer::Teardown) => "teardown_timeout",
            Self::Timer(Timer::Linger) => "linger_over",
            Self::Shutdown => "shutdown",
        }
    }
}

/// Something the owner must do for the call.
// Actions are moved once through the queue; boxing the large ones would cost an
// allocation each to save a copy.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Action {
    /// Answer a server transaction (the INVITE, or an in-dialog request).
    Respond {
        /// The transaction.
        tx: TxId,
        /// The response.
        resp: Response,
    },
    /// Send a request in a new client transaction; its responses come back as
    /// [`Event::Response`], its failure as [`Event::Timeout`].
    Send {
        /// The request.
        req: Request,
        /// Where to.
        to: Peer,
    },
    /// Send an ACK for a 2xx (no transaction).
    Ack {
        /// The ACK.
        ack: Request,
        /// Where to.
        to: Peer,
    },
    /// Messages with this Call-ID belong to the call too (a leg it created).
    Watch(String),
    /// Ask the router where the call goes, leaving out modems already tried.
    Route {
        /// Where the trunk's calls go.
        target: Target,
        /// The trunk the call came in on.
        trunk: String,
        /// The call came from a peer node (route it here only), for this SIM if named.
        from_peer: Option<Option<String>>,
        /// The calling number (a sticky key may use it).
        caller: String,
        /// The number to dial.
        callee: DialNumber,
        /// How long ago the call arrived, ms (failover stops after its budget).
        age_ms: u64,
        /// Modems tried for this call.
        exclude: Vec<ModemId>,
        /// Screening diverted the call to the agent, for this reason (and with this
        /// delivery, when its rule names one).
        divert: Option<(String, Option<crate::config::routing::AgentDelivery>)>,
        /// The callee's operator, as screening found it (for operator affinity).
        operator: Option<String>,
    },
    /// Screen the call; report [`Event::Screened`] (or [`Event::ScreenGone`]).
    Screen(crate::filter::Request),
    /// Give a leased modem back to the router.
    Release(ModemId),
    /// Bind an RTP socket for the modem leg; report [`Event::MediaBound`] or
    /// [`Event::MediaFailed`].
    BindMedia,
    /// Bridge RTP with what was agreed.
    ConfigureMedia(Negotiated),
    /// Close the RTP socket.
    DropMedia,
    /// Dial on the leased modem; report [`Event::DialAccepted`] or [`Event::DialRefused`].
    Dial {
        /// The modem.
        modem: ModemId,
        /// The number as received.
        number: DialNumber,
        /// Its forms as screening found them (the modem's profile picks one).
        forms: crate::config::dial::DialForms,
    },
    /// Hang up the modem's call.
    Hangup {
        /// The modem.
        modem: ModemId,
        /// Its call.
        call: CallId,
    },
    /// Play a DTMF digit on the modem's call.
    Dtmf {
        /// The modem.
        modem: ModemId,
        /// Its call.
        call: CallId,
        /// The digit.
        digit: char,
    },
    /// Arm a timer: report [`Event::Timer`] after this long.
    Arm {
        /// Which.
        timer: Timer,
        /// When, from now.
        after: Duration,
    },
    /// The call's one record.
    Record(Box<CallRecord>),
    /// The call is over and has lingered: forget it.
    Done,
}

/// A call in progress as operations see it ([`super::CallSession::progress`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress<'a> {
    /// The caller's Call-ID.
    pub call_id: &'a str,
    /// The trunk it came in on.
    pub trunk: &'a str,
    /// Calling number.
    pub caller: &'a str,
    /// Called number.
    pub callee: &'a str,
    /// When the INVITE arrived (Unix ms).
    pub received_ms: u64,
    /// Its state.
    pub state: super::CallState,
    /// Since when (Unix ms).
    pub state_since_ms: u64,
    /// The modem of its current leg.
    pub modem: Option<&'a ModemId>,
}
