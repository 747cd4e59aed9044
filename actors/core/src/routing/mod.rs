//! Routing: the policy that ranks SIMs for a call ([`policy`]), SIM protection
//! ([`protection`]), and the decision a call gets back ([`Route`]).

pub mod node;
pub mod policy;
pub mod protection;

use std::time::Duration;

use crate::at::session::ModemIdentity;
use crate::domain::ModemId;
use crate::sip::Peer;

/// Where the AI voice agent is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentTarget {
    /// Its URI.
    pub uri: String,
    /// Where to send.
    pub peer: Peer,
    /// How long it may ring before the call is cancelled.
    pub answer_timeout: Duration,
}

/// Where a call goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Dial on this modem; it is leased to the call until released.
    Modem {
        /// Modem id.
        id: ModemId,
        /// Its identity, for the record.
        identity: ModemIdentity,
        /// The SIM's longest call (its `max_call_s` limit).
        max_call: Option<Duration>,
    },
    /// Send the call to a SIM of a peer node (the peer dials it).
    Peer {
        /// The SIM's id in this node's routing (`node.modem`); leased until released.
        id: ModemId,
        /// The peer node.
        node: String,
        /// The modem's id on that node.
        modem: String,
        /// Its SIM's IMSI.
        imsi: Option<String>,
        /// Where the peer listens.
        target: AgentTarget,
    },
    /// Send the call to the AI voice agent.
    Agent {
        /// The agent.
        agent: AgentTarget,
        /// Why, for the agent's headers.
        reason: String,
        /// Answer the caller `302` with the agent's Contact instead of calling the agent.
        redirect: bool,
    },
    /// No route: answer the caller with this status.
    Reject {
        /// SIP status.
        status: u16,
        /// Why.
        reason: String,
        /// `Retry-After` seconds (all SIMs busy: they free up shortly).
        retry_after_s: Option<u32>,
    },
}
