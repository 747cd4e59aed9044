//! The router: the one place a call's route is decided. It keeps the live view the policy
//! ranks ([`e173gw_core::routing::policy`]): the modems' status (pushed by the gateway, no
//! polling on the call path), each SIM's usage and protection state (`book`), and the
//! leases that keep two calls off one modem. It looks up sticky routes, waits for a busy
//! sticky SIM in strict mode (`strict`), and accounts each finished call: usage counters,
//! the sticky route of an answered call, SIM protection.

use actix::prelude::*;

use e173gw_core::config::routing::RoutingConfig;
use e173gw_core::config::sip::Target;
use e173gw_core::domain::{DialNumber, ModemId};
use e173gw_core::record::{CallRecord, RecordTarget};
use e173gw_core::routing::Route;

use crate::modem::{ModemActor, ModemStatus};

mod actor;
mod admin;
mod book;
mod handlers;
mod peers;
mod recent;
mod strict;
mod usage;

pub use actor::Router;
pub use admin::{AdminAction, AdminError, AdminModem, ListSims, SimRow};
pub use peers::{NodeViewCell, PeerRow, PeerUpdate, PEER_ANSWER};

/// A modem's status changed (from the gateway).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct ModemUpdate {
    /// Modem id.
    pub id: ModemId,
    /// Its actor.
    pub addr: Addr<ModemActor>,
    /// Its status.
    pub status: ModemStatus,
    /// Kept out of routing by its gateway, and why.
    pub quarantined: Option<String>,
}

/// Asks where a call should go.
#[derive(Message, Debug, Clone)]
#[rtype(result = "RouteDecision")]
pub struct RouteRequest {
    /// The trunk's default target.
    pub target: Target,
    /// The trunk the call came in on.
    pub trunk: String,
    /// The call came from a peer node: route it to this node's SIMs only (the one it
    /// names first, if any).
    pub from_peer: Option<Option<String>>,
    /// The calling number (a sticky key may use it).
    pub caller: String,
    /// The number to dial.
    pub callee: DialNumber,
    /// Modems already tried for this call.
    pub exclude: Vec<ModemId>,
    /// How long ago the call arrived, ms.
    pub age_ms: u64,
    /// Screening sends the call to the agent, for this reason (and with this delivery,
    /// when its rule names one).
    pub divert: Option<(String, Option<e173gw_core::config::routing::AgentDelivery>)>,
    /// The callee's operator as screening found it (for operator affinity).
    pub operator: Option<String>,
    /// The call, told if the peer node its SIM is on goes down.
    pub call: Option<Recipient<PeerDown>>,
}

/// A peer node went down (to the calls on their way to its SIMs).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct PeerDown {
    /// The node.
    pub node: String,
}

/// The answer to [`RouteRequest`].
#[derive(Debug, Clone)]
pub struct RouteDecision {
    /// Where the call goes.
    pub route: Route,
    /// The leased modem's actor, for a modem route.
    pub modem: Option<Addr<ModemActor>>,
    /// "Why this SIM": the candidates in rank order and the ones removed, with reasons.
    pub why: Vec<String>,
}

impl RouteDecision {
    fn to(route: Route, why: Vec<String>) -> Self {
        Self {
            route,
            modem: None,
            why,
        }
    }
}

/// The call no longer needs the modem.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Release {
    /// Modem id.
    pub modem: ModemId,
}

/// What a finished call used, for counters, its sticky route and SIM protection.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct CallUsage {
    /// When it ended (Unix ms).
    pub at_ms: u64,
    /// Trunk name.
    pub trunk: Option<String>,
    /// The calling number.
    pub caller: String,
    /// The number called.
    pub callee: String,
    /// The modem that carried it, and its SIM's IMSI (not a modem that failed before).
    pub modem: Option<(String, Option<String>)>,
    /// Whether it was answered.
    pub answered: bool,
    /// It ended by a fault of the gateway or the modem (not the SIM's doing).
    pub gateway_fault: bool,
    /// Talk time, seconds.
    pub talk_s: u64,
}

impl From<&CallRecord> for CallUsage {
    fn from(r: &CallRecord) -> Self {
        Self {
            at_ms: r.ended_ms,
            trunk: r.trunk.clone(),
            caller: r.caller.clone(),
            callee: r.callee.clone(),
            modem: match &r.target {
                RecordTarget::Modem { modem, imsi, .. } => Some((modem.clone(), imsi.clone())),
                RecordTarget::None | RecordTarget::Agent { .. } | RecordTarget::Peer { .. } => None,
            },
            answered: r.answered_ms.is_some(),
            gateway_fault: r.gsm_end.is_some_and(|k| k.is_gateway_fault()),
            talk_s: r.talk_ms / 1000,
        }
    }
}

/// Counters of the router.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouterStats {
    /// Modems leased to calls now.
    pub leases: u64,
    /// Route requests answered.
    pub decisions: u64,
    /// Route requests after a failed try (failovers).
    pub failovers: u64,
    /// Calls waiting for their sticky SIM (strict mode).
    pub waiting: u64,
    /// SIMs rested by protection now.
    pub rested: u64,
    /// Peer nodes in rotation.
    pub peers_up: u64,
    /// Peer nodes configured.
    pub peers: u64,
}

/// Read the peers' state.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Vec<PeerRow>")]
pub struct GetPeers;

/// Read the counters.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "RouterStats")]
pub struct GetRouterStats;

/// Writes the usage of finished calls now (at shutdown); answers when it is written.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct FlushUsage;

/// "Why this SIM" as a dry run: how a call to `callee` would be routed now. Nothing is
/// leased or counted.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Vec<String>")]
pub struct ExplainRoute {
    /// Trunk name.
    pub trunk: String,
    /// Calling number.
    pub caller: String,
    /// Called number.
    pub callee: String,
    /// The callee's operator (as screening finds it).
    pub operator: Option<String>,
}

/// New routing rules (a reload); calls in progress keep their lease.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct SetRouting(pub RoutingConfig);
