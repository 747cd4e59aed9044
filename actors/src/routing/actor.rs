//! The router actor: holds the live view and the leases, asks the policy, moves messages.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;
use tracing::{debug, info, warn};

use e173gw_core::config::routing::{RoutingConfig, StickyMode};
use e173gw_core::config::sip::Target;
use e173gw_core::domain::ModemId;
use e173gw_core::ports::Stores;
use e173gw_core::routing::node::{NodeView, RemoteModem};
use e173gw_core::routing::policy::{rank, CallFacts, SimView};
use e173gw_core::routing::protection::{Change, Outcome};
use e173gw_core::routing::{AgentTarget, Route};

use super::book::Sim;
use super::book::{self, sim_key, SimBook};
use super::peers::{NodeViewCell, PeerUpdate, Peers, PEER_ANSWER};
use super::recent::RecentRoutes;
use super::strict::{Waiter, Waiters};
use super::usage::Tally;
use super::{
    CallUsage, ExplainRoute, FlushUsage, GetRouterStats, ModemUpdate, PeerDown, Release,
    RouteDecision, RouteRequest, RouterStats, SetRouting,
};
use crate::modem::{ModemActor, ModemStatus};
use crate::wall_ms;

/// How often the usage of finished calls is written to the store.
const USAGE_FLUSH: Duration = Duration::from_millis(250);
/// How often SIM counters and rests are read back from the store (other nodes' calls),
/// and expired rests move to probing.
const REFRESH: Duration = Duration::from_secs(2);
/// How long a lease lasts without a [`Release`] (a call that vanished).
const LEASE_TTL: Duration = Duration::from_secs(7200);
/// How often this node's view for its peers is rewritten (when it changed).
const VIEW_PUBLISH: Duration = Duration::from_millis(100);
/// `Retry-After` when every SIM is busy.
const BUSY_RETRY_AFTER_S: u32 = 5;
/// Ranked SIMs named in a record's "why this SIM" (the SIMs left out are all named).
const EXPLAIN_TOP: usize = 5;

/// What a decision needs from a ranking.
#[derive(Debug)]
struct Choice {
    /// The best SIM's modem and its longest call.
    best: Option<(ModemId, Option<u32>)>,
    /// The sticky SIM is only busy.
    sticky_busy: bool,
    /// The status when nothing can take the call.
    status: u16,
    /// "Why this SIM".
    why: Vec<String>,
    /// The call's trunk (agent delivery).
    trunk: String,
    /// The number called.
    callee: String,
    /// The call (told if its peer goes down).
    call: Option<Recipient<PeerDown>>,
}

/// The router actor.
#[derive(Debug)]
pub struct Router {
    modems: BTreeMap<ModemId, (Addr<ModemActor>, ModemStatus)>,
    leased: HashMap<ModemId, tokio::time::Instant>,
    book: SimBook,
    agent: Option<AgentTarget>,
    cfg: Arc<RoutingConfig>,
    stores: Stores,
    decisions: u64,
    /// Round-robin position.
    cursor: usize,
    /// Usage of calls finished since the last flush.
    usage: Tally,
    waiting: Waiters,
    /// Sticky routes this node wrote lately.
    recent: RecentRoutes,
    /// Modems their gateway keeps out of routing, and why.
    quarantined: HashMap<ModemId, String>,
    /// Peer nodes and their SIMs.
    peers: Peers,
    /// Calls sent to a peer's SIM, by the SIM's routing id.
    peer_calls: HashMap<ModemId, (String, Recipient<PeerDown>)>,
    /// This node's view for its peers, and whether it changed since last written.
    view_cell: NodeViewCell,
    view_dirty: bool,
    node_id: String,
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
            cursor: 0,
            usage: Tally::default(),
            waiting: Waiters::default(),
            recent: RecentRoutes::default(),
            quarantined: HashMap::new(),
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
    fn publish_view(&mut self) {
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
                        && !self.quarantined.contains_key(id),
                })
                .collect(),
        };
        match serde_json::to_vec(&view) {
            Ok(json) => self.view_cell.set(json),
            Err(e) => warn!(error = %e, "Node view not written."),
        }
    }

    fn agent_or(&self, trunk: &str, reason: &str, status: u16) -> Route {
        match &self.agent {
            Some(a) => Route::Agent {
                agent: a.clone(),
                reason: reason.to_string(),
                redirect: self.cfg.redirects(trunk),
            },
            None => Route::Reject {
                status,
                reason: reason.to_string(),
                retry_after_s: None,
            },
        }
    }

    /// The modem a sticky route's target (IMSI or modem id) is in now.
    fn resolve(&self, target: &str) -> Option<ModemId> {
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
    fn rank_call(&mut self, req: &RouteRequest, sticky: Option<&ModemId>) -> Choice {
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
                    self.quarantined.get(id).cloned(),
                    &cfg,
                    facts.now_ms,
                )
            })
            .collect();
        // A call from a peer is routed here only (no forwarding loops).
        if req.from_peer.is_none() {
            for p in self.peers.sims() {
                let imsi = p.modem.imsi.as_deref();
                let key = imsi.map_or_else(|| format!("modem:{}", p.id), str::to_string);
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
    fn lease(
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
    fn take(&mut self, c: Choice) -> RouteDecision {
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
                        uri: format!("sip:{}@{}", c.callee, p.target.peer.addr),
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
    fn serve_waiting(&mut self, id: &ModemId) {
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
    fn flush_usage(&mut self) -> impl std::future::Future<Output = ()> + 'static {
        self.usage.take().write(self.stores.clone())
    }

    /// Reads a SIM's counters and rest from the store and merges them in.
    fn load_sim(&self, key: String, ctx: &mut Context<Self>) {
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

    fn on_protection(&self, key: &str, modem: &str, change: Change, ctx: &mut Context<Self>) {
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

impl Handler<FlushUsage> for Router {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: FlushUsage, _: &mut Context<Self>) -> Self::Result {
        Box::pin(self.flush_usage().into_actor(self))
    }
}

impl Handler<ModemUpdate> for Router {
    type Result = ();

    fn handle(&mut self, msg: ModemUpdate, ctx: &mut Context<Self>) {
        let key = sim_key(msg.id.as_str(), &msg.status);
        if self.book.touch(&key) {
            self.load_sim(key, ctx);
        }
        let id = msg.id.clone();
        match msg.quarantined {
            Some(why) => self.quarantined.insert(id.clone(), why),
            None => self.quarantined.remove(&id),
        };
        self.modems.insert(msg.id, (msg.addr, msg.status));
        self.view_dirty = true;
        self.serve_waiting(&id);
    }
}

impl Handler<SetRouting> for Router {
    type Result = ();

    fn handle(&mut self, msg: SetRouting, _: &mut Context<Self>) {
        self.cfg = Arc::new(msg.0);
    }
}

impl Handler<RouteRequest> for Router {
    type Result = ResponseActFuture<Self, RouteDecision>;

    fn handle(&mut self, msg: RouteRequest, _: &mut Context<Self>) -> Self::Result {
        let immediate = if let Some(reason) = &msg.divert {
            Some(self.agent_or(&msg.trunk, reason, 503))
        } else if msg.target == Target::Agent {
            Some(self.agent_or(&msg.trunk, "trunk routes to the agent", 503))
        } else if msg.exclude.len() as u32 >= self.cfg.max_attempts {
            Some(Route::Reject {
                status: 503,
                reason: "all attempts used".into(),
                retry_after_s: None,
            })
        } else if !msg.exclude.is_empty() && msg.age_ms >= self.cfg.failover_budget_ms {
            Some(Route::Reject {
                status: 503,
                reason: "failover time budget spent".into(),
                retry_after_s: None,
            })
        } else {
            None
        };
        if let Some(route) = immediate {
            self.decisions += 1;
            return Box::pin(fut::ready(RouteDecision::to(route, Vec::new())));
        }
        // A sticky route counts only for a first try; storage trouble just skips it. A
        // route this node wrote in the last seconds is taken from memory: the store's
        // write may still be under way when the next call to the number arrives.
        let key = self
            .cfg
            .sticky_key
            .key(&msg.caller, &msg.callee.to_string());
        let first = msg.exclude.is_empty() && self.cfg.sticky;
        let recent = first.then(|| self.recent.get(&key, wall_ms())).flatten();
        let sticky = (first && recent.is_none()).then(|| self.stores.sticky.clone());
        Box::pin(
            async move {
                if recent.is_some() {
                    return recent;
                }
                match sticky {
                    Some(s) => s
                        .get(&key, wall_ms())
                        .await
                        .ok()
                        .flatten()
                        .map(|r| r.target),
                    None => None,
                }
            }
            .into_actor(self)
            .then(
                move |target, act, _| -> ResponseActFuture<Self, RouteDecision> {
                    // A call from a peer names the SIM it is for; else the sticky route.
                    let pinned = msg
                        .from_peer
                        .clone()
                        .flatten()
                        .and_then(|m| ModemId::parse(&m).ok())
                        .filter(|m| act.modems.contains_key(m));
                    let sticky = pinned.or_else(|| target.as_deref().and_then(|t| act.resolve(t)));
                    let choice = act.rank_call(&msg, sticky.as_ref());
                    let strict = act.cfg.sticky_mode == StickyMode::Strict && choice.sticky_busy;
                    let Some(wait_for) = sticky.filter(|_| strict) else {
                        let d = act.take(choice);
                        debug!(route = ?std::mem::discriminant(&d.route), "Routed.");
                        return Box::pin(fut::ready(d));
                    };
                    let (tx, rx) = oneshot::channel();
                    let max = act.cfg.sticky_queue as usize;
                    let wait = Duration::from_millis(act.cfg.sticky_wait_ms);
                    let queued = act.waiting.push(
                        wait_for.clone(),
                        Waiter {
                            tx,
                            req: msg.clone(),
                        },
                        max,
                    );
                    let (note, rx) = match queued {
                        true => (
                            format!(
                                "sticky SIM {wait_for} busy: waited up to {} ms",
                                wait.as_millis()
                            ),
                            Some(rx),
                        ),
                        false => (
                            format!("sticky SIM {wait_for} busy and its queue is full"),
                            None,
                        ),
                    };
                    Box::pin(
                        async move {
                            match rx {
                                Some(rx) => tokio::time::timeout(wait, rx)
                                    .await
                                    .ok()
                                    .and_then(Result::ok),
                                None => None,
                            }
                        }
                        .into_actor(act)
                        .map(move |served, act, _| {
                            if let Some(mut d) = served {
                                d.why.insert(
                                    0,
                                    format!("sticky SIM {wait_for} freed up while the call waited"),
                                );
                                return d;
                            }
                            let mut d = if act.cfg.sticky_fallback {
                                let choice = act.rank_call(&msg, None);
                                act.take(choice)
                            } else {
                                RouteDecision::to(
                                    Route::Reject {
                                        status: 503,
                                        reason: "sticky SIM busy".into(),
                                        retry_after_s: Some(BUSY_RETRY_AFTER_S),
                                    },
                                    Vec::new(),
                                )
                            };
                            d.why.insert(0, note);
                            d
                        }),
                    )
                },
            ),
        )
    }
}

impl Handler<Release> for Router {
    type Result = ();

    fn handle(&mut self, msg: Release, _: &mut Context<Self>) {
        self.leased.remove(&msg.modem);
        self.peer_calls.remove(&msg.modem);
        self.view_dirty = true;
        self.serve_waiting(&msg.modem);
    }
}

impl Handler<GetRouterStats> for Router {
    type Result = MessageResult<GetRouterStats>;

    fn handle(&mut self, _: GetRouterStats, _: &mut Context<Self>) -> Self::Result {
        let now = wall_ms();
        let rested = self
            .modems
            .iter()
            .filter(|(id, (_, s))| self.book.is_rested(&sim_key(id.as_str(), s), now))
            .count();
        let (up, all) = self.peers.counts();
        MessageResult(RouterStats {
            peers_up: up as u64,
            peers: all as u64,
            leases: self.leased.len() as u64,
            decisions: self.decisions,
            waiting: self.waiting.len() as u64,
            rested: rested as u64,
        })
    }
}

impl Handler<CallUsage> for Router {
    type Result = ();

    /// Counts the call on its trunk and SIM (written with the others at the next flush),
    /// feeds SIM protection, and pins the call's sticky key to the SIM that answered (at
    /// once, off the call's path; storage trouble is logged, never fatal). The inventory's
    /// lifetime usage is not here: the record store adds it with the record.
    fn handle(&mut self, u: CallUsage, ctx: &mut Context<Self>) {
        let cfg = self.cfg.clone();
        self.usage.count(&u, cfg.day_offset_ms());
        let Some((modem, imsi)) = u.modem.clone() else {
            return;
        };
        let key = imsi.clone().unwrap_or_else(|| format!("modem:{modem}"));
        let outcome = match (u.gateway_fault, u.answered) {
            (true, _) => None,
            (false, true) => Some(Outcome::Answered(u.talk_s)),
            (false, false) => Some(Outcome::Unanswered),
        };
        if let Some(change) = self.book.on_call(&key, &cfg, u.at_ms, u.talk_s, outcome) {
            self.on_protection(&key, &modem, change, ctx);
        }
        if !(u.answered && cfg.sticky) {
            return;
        }
        let stores = self.stores.clone();
        let sticky_key = cfg.sticky_key.key(&u.caller, &u.callee);
        let target = imsi.unwrap_or(modem);
        self.recent.set(&sticky_key, &target, wall_ms());
        let ttl = Duration::from_secs(cfg.sticky_ttl_s);
        async move {
            if let Err(e) = stores.sticky.set(&sticky_key, &target, u.at_ms, ttl).await {
                warn!(error = %e, "Sticky route not written.");
            }
        }
        .into_actor(self)
        .spawn(ctx);
    }
}

impl Handler<ExplainRoute> for Router {
    type Result = ResponseActFuture<Self, Vec<String>>;

    fn handle(&mut self, msg: ExplainRoute, _: &mut Context<Self>) -> Self::Result {
        let Ok(callee) = e173gw_core::domain::DialNumber::parse(&msg.callee) else {
            return Box::pin(fut::ready(vec![format!(
                "{:?} is not a number a modem can dial",
                msg.callee
            )]));
        };
        let req = RouteRequest {
            target: Target::Modems,
            from_peer: None,
            call: None,
            trunk: msg.trunk,
            caller: msg.caller,
            callee,
            exclude: Vec::new(),
            age_ms: 0,
            divert: None,
            operator: msg.operator,
        };
        let sticky = self.cfg.sticky.then(|| self.stores.sticky.clone());
        let key = self
            .cfg
            .sticky_key
            .key(&req.caller, &req.callee.to_string());
        Box::pin(
            async move {
                match sticky {
                    Some(s) => s.get(&key, wall_ms()).await.map(|r| r.map(|r| r.target)),
                    None => Ok(None),
                }
            }
            .into_actor(self)
            .map(move |target, act, _| {
                let mut out = Vec::new();
                let sticky = match &target {
                    Ok(Some(t)) => {
                        let m = act.resolve(t);
                        out.push(match &m {
                            Some(m) => format!("sticky route: {t} (in modem {m})"),
                            None => format!("sticky route: {t} (not in any modem now)"),
                        });
                        m
                    }
                    Ok(None) => {
                        out.push("no sticky route".into());
                        None
                    }
                    Err(e) => {
                        out.push(format!("sticky route not read: {e}"));
                        None
                    }
                };
                let c = act.rank_call(&req, sticky.as_ref());
                let strict = act.cfg.sticky_mode == StickyMode::Strict && c.sticky_busy;
                out.extend(c.why);
                out.push(match (&c.best, strict) {
                    (_, true) => "the call would wait for its sticky SIM (strict mode)".into(),
                    (Some((id, _)), _) => format!("the call would take {id}"),
                    (None, _) => format!("no SIM would take the call: {}", c.status),
                });
                out
            }),
        )
    }
}

impl Handler<PeerUpdate> for Router {
    type Result = ();

    /// A peer's check: its SIMs join the live view (their usage and rests come from the
    /// shared store); a peer that went down takes its SIMs out at once, and calls on
    /// their way to it move on.
    fn handle(&mut self, u: PeerUpdate, ctx: &mut Context<Self>) {
        let node = u.node.clone();
        let (rtt, modems) = (u.rtt_ms, u.view.modems.len());
        for imsi in u.view.modems.iter().filter_map(|m| m.imsi.clone()) {
            if self.book.touch(&imsi) {
                self.load_sim(imsi, ctx);
            }
        }
        match self.peers.update(u) {
            Some(true) => info!(peer = %node, modems, rtt_ms = ?rtt, "Peer node in rotation."),
            Some(false) => {
                warn!(peer = %node, "Peer node out of rotation.");
                let gone: Vec<ModemId> = self
                    .peer_calls
                    .iter()
                    .filter(|(_, (n, _))| *n == node)
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in gone {
                    self.leased.remove(&id);
                    if let Some((_, call)) = self.peer_calls.remove(&id) {
                        call.do_send(PeerDown { node: node.clone() });
                    }
                }
            }
            None => {}
        }
    }
}
