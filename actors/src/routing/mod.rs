//! The router: picks a modem or the agent for a call. For now the placeholder policy of
//! [`e173gw_core::routing`] (first free modem) behind the message interface the routing
//! rules will keep: [`RouteRequest`] in, [`RouteDecision`] out, [`Release`] at the end.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use actix::prelude::*;
use tracing::debug;

use e173gw_core::at::session::ModemIdentity;
use e173gw_core::config::sip::{RoutingConfig, Target};
use e173gw_core::domain::ModemId;
use e173gw_core::routing::{pick, Candidate};
use e173gw_core::sip::Peer;

use crate::modem::{ModemActor, ModemStatus};

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
}

/// Where the agent is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentTarget {
    /// Its URI.
    pub uri: String,
    /// Where to send.
    pub peer: Peer,
    /// How long it may ring before the call is cancelled.
    pub answer_timeout: Duration,
}

/// Asks where a call should go.
#[derive(Message, Debug, Clone)]
#[rtype(result = "RouteDecision")]
pub struct RouteRequest {
    /// The trunk's default target.
    pub target: Target,
    /// Modems already tried for this call.
    pub exclude: Vec<String>,
    /// The modem a sticky route names, preferred when free.
    pub prefer: Option<String>,
}

/// The answer to [`RouteRequest`].
#[derive(Debug, Clone)]
pub enum RouteDecision {
    /// Dial on this modem (it is leased to the call until [`Release`]).
    Modem {
        /// Modem id.
        id: ModemId,
        /// Its actor.
        addr: Addr<ModemActor>,
        /// Its identity, for the record.
        identity: ModemIdentity,
    },
    /// Send the call to the AI voice agent.
    Agent {
        /// The agent.
        agent: AgentTarget,
        /// Why, for the agent's headers.
        reason: String,
    },
    /// No route.
    Reject {
        /// SIP status.
        status: u16,
        /// Why.
        reason: String,
    },
}

/// The call no longer needs the modem.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Release {
    /// Modem id.
    pub modem: ModemId,
}

/// How long a lease lasts without a [`Release`] (a call that vanished).
const LEASE_TTL: Duration = Duration::from_secs(7200);

/// The router actor.
#[derive(Debug)]
pub struct Router {
    modems: BTreeMap<ModemId, (Addr<ModemActor>, ModemStatus)>,
    leased: HashMap<ModemId, tokio::time::Instant>,
    agent: Option<AgentTarget>,
    cfg: RoutingConfig,
}

impl Router {
    /// A router; `agent` is where agent-bound calls go.
    pub fn new(cfg: RoutingConfig, agent: Option<AgentTarget>) -> Self {
        Self {
            modems: BTreeMap::new(),
            leased: HashMap::new(),
            agent,
            cfg,
        }
    }

    fn agent_or(&self, reason: &str, status: u16) -> RouteDecision {
        match &self.agent {
            Some(a) => RouteDecision::Agent {
                agent: a.clone(),
                reason: reason.to_string(),
            },
            None => RouteDecision::Reject {
                status,
                reason: reason.to_string(),
            },
        }
    }
}

impl Actor for Router {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(100_000);
    }
}

impl Handler<ModemUpdate> for Router {
    type Result = ();

    fn handle(&mut self, msg: ModemUpdate, _: &mut Context<Self>) {
        self.modems.insert(msg.id, (msg.addr, msg.status));
    }
}

impl Handler<RouteRequest> for Router {
    type Result = MessageResult<RouteRequest>;

    fn handle(&mut self, msg: RouteRequest, _: &mut Context<Self>) -> Self::Result {
        let now = tokio::time::Instant::now();
        self.leased
            .retain(|_, t| now.duration_since(*t) < LEASE_TTL);
        if msg.target == Target::Agent {
            return MessageResult(self.agent_or("trunk routes to the agent", 503));
        }
        if msg.exclude.len() as u32 >= self.cfg.max_attempts {
            return MessageResult(RouteDecision::Reject {
                status: 503,
                reason: "all attempts used".into(),
            });
        }
        let candidates: Vec<Candidate<'_>> = self
            .modems
            .iter()
            .map(|(id, (_, s))| Candidate {
                id: id.as_str(),
                available: s.is_available(),
                leased: self.leased.contains_key(id),
            })
            .collect();
        let picked = pick(&candidates, &msg.exclude, msg.prefer.as_deref()).map(str::to_string);
        let decision =
            match picked.and_then(|p| self.modems.iter().find(|(id, _)| id.as_str() == p)) {
                Some((id, (addr, status))) => {
                    let d = RouteDecision::Modem {
                        id: id.clone(),
                        addr: addr.clone(),
                        identity: status.session.identity.clone(),
                    };
                    self.leased.insert(id.clone(), now);
                    d
                }
                None if self.cfg.agent_when_no_modem => self.agent_or("no modem free", 503),
                None => RouteDecision::Reject {
                    status: 503,
                    reason: "no modem free".into(),
                },
            };
        debug!(decision = ?std::mem::discriminant(&decision), "Routed.");
        MessageResult(decision)
    }
}

impl Handler<Release> for Router {
    type Result = ();

    fn handle(&mut self, msg: Release, _: &mut Context<Self>) {
        self.leased.remove(&msg.modem);
    }
}
