//! The router's view of peer nodes: which are in rotation, and their SIMs as their
//! `OPTIONS` answers describe them. Also this node's own view, served to its peers.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix::prelude::*;

use e173gw_core::routing::node::{NodeView, RemoteModem};
use e173gw_core::routing::AgentTarget;

/// How long a peer may take to answer a forwarded call (its modem's ringing included).
pub const PEER_ANSWER: Duration = Duration::from_secs(180);

/// A peer's health check result (from its gateway actor).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct PeerUpdate {
    /// Node id.
    pub node: String,
    /// In rotation.
    pub up: bool,
    /// Where it listens (the URI's user part is replaced by the callee per call).
    pub target: AgentTarget,
    /// Its modems, as its last answer said.
    pub view: NodeView,
    /// Round trip of the last check, ms.
    pub rtt_ms: Option<u64>,
}

/// This node's view as JSON, for the `OPTIONS` answers to peers. Written by the router
/// (at most every 100 ms), read by the SIP ingress without waiting on anything.
#[derive(Debug, Clone, Default)]
pub struct NodeViewCell(Arc<RwLock<Arc<Vec<u8>>>>);

impl NodeViewCell {
    /// The current JSON.
    pub fn get(&self) -> Arc<Vec<u8>> {
        self.0.read().map(|v| v.clone()).unwrap_or_default()
    }

    pub(crate) fn set(&self, json: Vec<u8>) {
        if let Ok(mut v) = self.0.write() {
            *v = Arc::new(json);
        }
    }
}

#[derive(Debug)]
struct PeerState {
    up: bool,
    target: AgentTarget,
    view: NodeView,
    rtt_ms: Option<u64>,
}

/// One peer, for the metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerRow {
    /// Node id.
    pub node: String,
    /// In rotation.
    pub up: bool,
    /// Round trip of its last answered check, ms.
    pub rtt_ms: Option<u64>,
    /// Its modems, and how many are free.
    pub modems: usize,
    /// Free ones.
    pub free: usize,
}

/// Every peer.
#[derive(Debug, Default)]
pub(crate) struct Peers {
    by_node: BTreeMap<String, PeerState>,
}

/// A peer SIM as routing sees it.
#[derive(Debug)]
pub(crate) struct PeerSim<'a> {
    pub(crate) id: String,
    pub(crate) node: &'a str,
    pub(crate) modem: &'a RemoteModem,
    pub(crate) target: &'a AgentTarget,
}

impl Peers {
    /// Takes a check's result; `Some(up)` when the peer went up or down.
    pub(crate) fn update(&mut self, u: PeerUpdate) -> Option<bool> {
        let was = self.by_node.get(&u.node).is_some_and(|p| p.up);
        let rtt_ms = u
            .rtt_ms
            .or_else(|| self.by_node.get(&u.node).and_then(|p| p.rtt_ms));
        let state = PeerState {
            up: u.up,
            target: u.target,
            view: u.view,
            rtt_ms,
        };
        self.by_node.insert(u.node, state);
        (was != u.up).then_some(u.up)
    }

    /// SIMs of the peers in rotation.
    pub(crate) fn sims(&self) -> impl Iterator<Item = PeerSim<'_>> {
        self.by_node
            .iter()
            .filter(|(_, p)| p.up)
            .flat_map(|(node, p)| {
                p.view.modems.iter().map(move |m| PeerSim {
                    id: NodeView::routing_id(node, &m.id),
                    node,
                    modem: m,
                    target: &p.target,
                })
            })
    }

    /// The peer SIM with this routing id.
    pub(crate) fn find(&self, id: &str) -> Option<PeerSim<'_>> {
        self.sims().find(|s| s.id == id)
    }

    /// The routing id of the peer SIM with this IMSI.
    pub(crate) fn find_imsi(&self, imsi: &str) -> Option<String> {
        self.sims()
            .find(|s| s.modem.imsi.as_deref() == Some(imsi))
            .map(|s| s.id)
    }

    /// Every peer, for the metrics.
    pub(crate) fn rows(&self) -> Vec<PeerRow> {
        self.by_node
            .iter()
            .map(|(node, p)| PeerRow {
                node: node.clone(),
                up: p.up,
                rtt_ms: p.rtt_ms,
                modems: p.view.modems.len(),
                free: p.view.modems.iter().filter(|m| m.free).count(),
            })
            .collect()
    }

    /// Peers in rotation, and all.
    pub(crate) fn counts(&self) -> (usize, usize) {
        (
            self.by_node.values().filter(|p| p.up).count(),
            self.by_node.len(),
        )
    }
}
