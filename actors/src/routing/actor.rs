//! The router actor: holds the live view and the leases, asks the policy, moves messages.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tracing::{debug, info, warn};

use e173gw_core::config::routing::{AgentDelivery, RoutingConfig};
use e173gw_core::domain::ModemId;
use e173gw_core::ports::{StoreError, Stores};
use e173gw_core::routing::node::{NodeView, RemoteModem};
use e173gw_core::routing::policy::{rank, CallFacts, SimView};
use e173gw_core::routing::protection::Change;
use e173gw_core::routing::{AgentTarget, Route};

use super::book::Sim;
use super::book::{self, SimBook};
use super::peers::{NodeViewCell, Peers, PEER_ANSWER};
use super::recent::RecentRoutes;
use super::strict::Waiters;
use super::usage::Tally;
use super::{PeerDown, RouteDecision, RouteRequest};
use crate::modem::{ModemActor, ModemStatus};
use crate::wall_ms;

/// How often the usage of finished calls is written to the store.
pub(super) const USAGE_FLUSH: Duration = Duration::from_millis(250);
/// How often SIM counters and rests are read back from the store (other nodes' calls),
/// and expired rests move to probing.
pub(super) const REFRESH: Duration = Duration::from_secs(2);
/// How long a lease lasts without a [`Release`] (a call that vanished).
pub(super) const LEASE_TTL: Duration = Duration::from_secs(7200);
/// How often this node's view for its peers is rewritten (when it changed).
pub(super) const VIEW_PUBLISH: Duration = Duration::from_millis(100);
/// `Retry-After` when every SIM is busy.
pub(super) const BUSY_RETRY_AFTER_S: u32 = 5;
/// Ranked SIMs named in a record's "why this SIM" (the SIMs left out are all named).
pub(super) const EXPLAIN_TOP: usize = 5;

/// What a decision needs from a ranking.
#[derive(Debug)]
pub(super) struct Choice {
    /// The best SIM's modem and its longest call.
    pub(super) best: Option<(ModemId, Option<u32>)>,
    /// The sticky SIM is only busy.
    pub(super) sticky_busy: bool,
    /// The status when nothing can take the call.
    pub(super) status: u16,
    /// "Why this SIM".
    pub(super) why: Vec<String>,
    /// The call's trunk (agent delivery).
    pub(super) trunk: String,
    /// The number called.
    pub(super) callee: String,
    /// The call (told if its peer goes down).
    pub(super) call: Option<Recipient<PeerDown>>,
}

/// The router actor.
#[derive(Debug)]
pub struct Router {
    pub(super) modems: BTreeMap<ModemId, (Addr<ModemActor>, ModemStatus)>,
    pub(super) leased: HashMap<ModemId, tokio::time::Instant>,
    pub(super) book: SimBook,
    pub(super) agent: Option<AgentTarget>,
    pub(super) cfg: Arc<RoutingConfig>,
    pub(super) stores: Stores,
    pub(super) decisions: u64,
    /// Route requests for a call whose earlier try failed (failover).
    pub(super) failovers: u64,
    /// Round-robin position.
    pub(super) cursor: usize,
    /// Usage of calls finished since the last flush.
    pub(super) usage: Tally,
    pub(super) waiting: Waiters,
    /// Sticky routes this node wrote lately.
    pub(super) recent: RecentRoutes,
    /// Modems their gateway keeps out of routing, and why.
    pub(super) quarantined: HashMap<ModemId, String>,
    /// Modems an operator disabled, and why.
    pub(super) disabled: HashMap<ModemId, String>,
    /// Peer nodes and their SIMs.
    pub(super) peers: Peers,
    /// Calls sent to a peer's SIM, by the SIM's routing id.
    pub(super) peer_calls: HashMap<ModemId, (String, Recipient<PeerDown>)>,
    /// This node's view for its peers, and whether it changed since last written.
    pub(super) view_cell: NodeViewCell,
    pub(super) view_dirty: bool,
    pub(super) node_id: String,
}

impl Router {
    /// A router; `agent` is where agent-bound calls go.
    pub fn new(cfg: RoutingConfig, agent: Option<AgentTarget>, stores: Stores) -> Self {
        Self {
            modems: BTreeMap::new(),
            leased: HashMap::new(),
            book: SimBook::default(),
            agent,
            cfg: Arc::new(cfg),
            stores,
            decisions: 0,
            failovers: 0,
            cursor: 0,
            usage: Tally::default(),
            waiting: Waiters::default(),
            recent: RecentRoutes::default(),
            quarantined: HashMap::new(),
            disabled: HashMap::new(),
            peers: Peers::default(),
            peer_calls: HashMap::new(),
            view_cell: NodeViewCell::default(),
            view_dirty: true,
            node_id: String::new(),
        }
    }

    /// Serves this node's view to peers through `cell`, as node `node_id`.
    pub fn serving(mut self, cell: NodeViewCell, node_id: String) -> Self {
        self.view_cell = cell;
        self.node_id = node_id;
        self
    }

    /// Writes this node's view for its peers (off the call path, at most every 100 ms).
    pub(super) fn publish_view(&mut self) {
        if !std::mem::take(&mut self.view_dirty) {
            return;
        }
        let cfg = self.cfg.clone();
        let view = NodeView {
            node: self.node_id.clone(),
            modems: self
                .modems
                .iter()
                .map(|(id, (_, s))| RemoteModem {
                    id: id.to_string(),
                    imsi: s.session.identity.imsi.as_ref().map(|i| i.to_string()),
                    operator: cfg.operator_of(
                        s.session.sim_plmn.as_deref(),
                        s.session.operator.name.as_deref(),
                    ),
                    free: s.is_available()
                        && !self.leased.contains_key(id)
                        && self.held_out(id).is_none(),
                })
                .collect(),
        };
        match serde_json::to_vec(&view) {
            Ok(json) => self.view_cell.set(json),
            Err(e) => warn!(error = %e, "Node view not written."),
        }
    }

    /// Why modem `id` is kept out of routing (disabled by an operator, or quarantined by
    /// its gateway), if it is.
    pub(super) fn held_out(&self, id: &ModemId) -> Option<String> {
        held_out(&self.disabled, &self.quarantined, id)
    }

    pub(super) fn agent_or(&self, trunk: &str, reason: &str, status: u16) -> Route {
        self.agent_by(trunk, reason, status, None)
    }

    /// The agent, handed over as `delivery` says (else as `[routing]` says for `trunk`).
    pub(super) fn agent_by(
        &self,
        trunk: &str,
        reason: &str,
        status: u16,
        delivery: Option<AgentDelivery>,
    ) -> Route {
        let redirect = match delivery {
            Some(d) => d == AgentDelivery::Redirect,
            None => self.cfg.redirects(trunk),
        };
        match &self.agent {
            Some(a) => Route::Agent {
                agent: a.clone(),
                reason: reason.to_string(),
                redirect,
            },
            None => Route::Reject {
                status,
                reason: reason.to_string(),
                retry_after_s: None,
            },
        }
    }

    /// The sticky route's target (IMSI or modem id) for a call from `caller` to `callee`,
    /// `None` without one or with sticky routing off. A route this node wrote in the last
    /// seconds is taken from memory: the store's write may still be under way when the
    /// next call to the number arrives.
    pub(super) fn sticky_target(
        &self,
        caller: &str,
        callee: &str,
    ) -> futures_util::future::BoxFuture<'static, Result<Option<String>, StoreError>> {
        if !self.cfg.sticky {
            return Box::pin(std::future::ready(Ok(None)));
        }
        let key = self.cfg.sticky_key.key(caller, callee);
        if let Some(t) = self.recent.get(&key, wall_ms()) {
            return Box::pin(std::future::ready(Ok(Some(t))));
        }
        let store = self.stores.sticky.clone();
        Box::pin(async move { Ok(store.get(&key, wall_ms()).await?.map(|r| r.target)) })
    }

    /// The modem a sticky route's target (IMSI or modem id) is in now.
    pub(super) fn resolve(&self, target: &str) -> Option<ModemId> {
        self.modems
            .iter()
            .find(|(id, (_, s))| {
                id.as_str() == target
                    || s.session.identity.imsi.as_ref().map(|i| i.as_str()) == Some(target)
            })
            .map(|(id, _)| id.clone())
            .or_else(|| {
                self.peers
                    .find_imsi(target)
                    .and_then(|id| ModemId::parse(&id).ok())
            })
    }

    /// Ranks the SIMs for the call and keeps what the decision needs.
    pub(super) fn rank_call(&mut self, req: &RouteRequest, sticky: Option<&ModemId>) -> Choice {
        let now = tokio::time::Instant::now();
        self.leased
            .retain(|_, t| now.duration_since(*t) < LEASE_TTL);
        let facts = CallFacts {
            callee_operator: req.operator.clone(),
            sticky: sticky.map(ToString::to_string),
            exclude: req.exclude.iter().map(ToString::to_string).collect(),
            now_ms: wall_ms(),
        };
        let cfg = self.cfg.clone();
        let mut views: Vec<SimView> = self
            .modems
            .iter()
            .map(|(id, (_, s))| {
                self.book.view(
                    id.as_str(),
                    s,
                    self.leased.contains_key(id),
                    held_out(&self.disabled, &self.quarantined, id),
                    &cfg,
                    facts.now_ms,
                )
            })
            .collect();
        // A call from a peer is routed here only (no forwarding loops).
        if req.from_peer.is_none() {
            for p in self.peers.sims() {
                let imsi = p.modem.imsi.as_deref();
                let key = book::key_of(&p.id, imsi);
                let leased = ModemId::parse(&p.id).is_ok_and(|m| self.leased.contains_key(&m));
                let sim = Sim {
                    id: &p.id,
                    key: &key,
                    imsi,
                    operator: p.modem.operator.clone(),
                    available: p.modem.free,
                    leased,
                    quarantined: None,
                };
                views.push(self.book.view_of(sim, &cfg, facts.now_ms));
            }
        }
        let r = rank(&cfg.policy(), &facts, &views, self.cursor);
        Choice {
            best: r
                .best()
                .and_then(|s| Some((ModemId::parse(&s.id).ok()?, s.limits.max_call_s))),
            sticky_busy: sticky.is_some_and(|s| r.is_busy(s.as_str())),
            status: r.no_route_status(),
            why: r.explain(EXPLAIN_TOP),
            trunk: req.trunk.clone(),
            callee: req.callee.to_string(),
            call: req.call.clone(),
        }
    }

    /// Leases `id` to a call.
    pub(super) fn lease(
        &mut self,
        id: &ModemId,
        max_call_s: Option<u32>,
        why: Vec<String>,
    ) -> Option<RouteDecision> {
        let (addr, status) = self.modems.get(id)?;
        let d = RouteDecision {
            route: Route::Modem {
                id: id.clone(),
                identity: status.session.identity.clone(),
                max_call: max_call_s.map(|s| Duration::from_secs(u64::from(s))),
            },
            modem: Some(addr.clone()),
            why,
        };
        self.leased.insert(id.clone(), tokio::time::Instant::now());
        self.view_dirty = true;
        Some(d)
    }

    /// Leases the chosen SIM, or says why there is none.
    pub(super) fn take(&mut self, c: Choice) -> RouteDecision {
        self.decisions += 1;
        self.cursor = self.cursor.wrapping_add(1);
        let mut why = c.why;
        if let Some((id, max_call)) = c.best {
            if self.modems.contains_key(&id) {
                if let Some(d) = self.lease(&id, max_call, std::mem::take(&mut why)) {
                    return d;
                }
            } else if let Some(p) = self.peers.find(id.as_str()) {
                let route = Route::Peer {
                    id: id.clone(),
                    node: p.node.to_string(),
                    modem: p.modem.id.clone(),
                    imsi: p.modem.imsi.clone(),
                    target: AgentTarget {
                        uri: NodeView::peer_uri(&c.callee, p.target.peer.addr),
                        peer: p.target.peer,
                        answer_timeout: PEER_ANSWER,
                    },
                };
                let node = p.node.to_string();
                self.leased.insert(id.clone(), tokio::time::Instant::now());
                if let Some(call) = c.call {
                    self.peer_calls.insert(id, (node, call));
                }
                self.view_dirty = true;
                return RouteDecision::to(route, why);
            }
        }
        let status = c.status;
        let reason = if status == 480 {
            "every SIM is at a limit or resting"
        } else {
            "no modem free"
        };
        why.push(format!("no SIM left: {status} ({reason})"));
        let route = if self.cfg.agent_when_no_modem {
            self.agent_or(&c.trunk, reason, status)
        } else {
            Route::Reject {
                status,
                reason: reason.into(),
                retry_after_s: (status == 503).then_some(BUSY_RETRY_AFTER_S),
            }
        };
        RouteDecision::to(route, why)
    }

    /// A modem may have freed up: give it to the oldest call waiting for it.
    pub(super) fn serve_waiting(&mut self, id: &ModemId) {
        while self.waiting.any_for(id) {
            let free = self.modems.get(id).is_some_and(|(_, s)| s.is_available())
                && !self.leased.contains_key(id);
            if !free {
                return;
            }
            let Some(w) = self.waiting.pop(id) else {
                return;
            };
            let choice = self.rank_call(&w.req, Some(id));
            let d = self.take(choice);
            let leased = match &d.route {
                Route::Modem { id, .. } => Some(id.clone()),
                _ => None,
            };
            if let Err(d) = w.tx.send(d) {
                // The call stopped waiting meanwhile: take the lease back.
                if let (Route::Modem { id, .. }, Some(_)) = (&d.route, leased) {
                    self.leased.remove(id);
                }
            }
        }
    }

    /// Writes the usage summed so far (off the call's path).
    pub(super) fn flush_usage(&mut self) -> impl std::future::Future<Output = ()> + 'static {
        self.usage.take().write(self.stores.clone())
    }

    /// Reads a SIM's counters and rest from the store and merges them in.
    pub(super) fn load_sim(&self, key: String, ctx: &mut Context<Self>) {
        let stores = self.stores.clone();
        let now = wall_ms();
        let at = now.saturating_sub(self.cfg.day_offset_ms());
        async move { (book::load(&stores, &key, at, now).await, key) }
            .into_actor(self)
            .map(move |(res, key), act, _| match res {
                Ok(l) => act.book.merge(&key, l, now),
                Err(e) => debug!(error = %e, sim = %key, "SIM usage not read."),
            })
            .spawn(ctx);
    }

    pub(super) fn on_protection(
        &self,
        key: &str,
        modem: &str,
        change: Change,
        ctx: &mut Context<Self>,
    ) {
        match change {
            Change::Rested { until_ms, reason } => {
                warn!(modem, sim = key, rest_s = (until_ms.saturating_sub(wall_ms())) / 1000, reason = %reason, "SIM rested.");
                if key.starts_with("modem:") {
                    return;
                }
                let (stores, key) = (self.stores.clone(), key.to_string());
                async move {
                    if let Err(e) =
                        book::store_rest(&stores, &key, until_ms, &reason, wall_ms()).await
                    {
                        warn!(error = %e, "SIM rest not shared.");
                    }
                }
                .into_actor(self)
                .spawn(ctx);
            }
            Change::Probing => info!(modem, sim = key, "SIM rest over; its next call is a probe."),
            Change::Restored => info!(
                modem,
                sim = key,
                "Probe call went well; SIM back in rotation."
            ),
        }
    }
}

/// [`Router::held_out`], for when the router is partly borrowed.
fn held_out(
    disabled: &HashMap<ModemId, String>,
    quarantined: &HashMap<ModemId, String>,
    id: &ModemId,
) -> Option<String> {
    disabled
        .get(id)
        .map(|why| format!("disabled by an operator: {why}"))
        .or_else(|| quarantined.get(id).cloned())
}

impl Actor for Router {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(100_000);
        ctx.run_interval(USAGE_FLUSH, |act, ctx| {
            if !act.usage.is_empty() {
                act.flush_usage().into_actor(act).spawn(ctx);
            }
        });
        ctx.run_interval(VIEW_PUBLISH, |act, _| act.publish_view());
        ctx.run_interval(REFRESH, |act, ctx| {
            for (key, change) in act.book.tick(wall_ms()) {
                act.on_protection(&key, "-", change, ctx);
            }
            for key in act.book.stored_keys() {
                act.load_sim(key, ctx);
            }
        });
    }
}
