//! The router: the one place a call's route is decided. It keeps the modems' status (from
//! the gateway), looks up sticky routes, hands out leases so two calls never get one modem,
//! takes them back, and accounts each finished call's usage (per-SIM and per-trunk
//! counters, the sticky route of an answered call). The policy itself is
//! [`e173gw_core::routing`] (for now the placeholder: the sticky modem when free, else the
//! first free modem).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use actix::prelude::*;
use tracing::{debug, warn};

use e173gw_core::config::sip::{RoutingConfig, Target};
use e173gw_core::domain::{DialNumber, ModemId};
use e173gw_core::ports::Stores;
use e173gw_core::record::{CallRecord, RecordTarget};
use e173gw_core::routing::{pick, AgentTarget, Candidate, Route};

use crate::modem::{ModemActor, ModemStatus};

mod usage;
use crate::wall_ms;
use usage::Tally;

/// How often the usage of finished calls is written to the store.
const USAGE_FLUSH: Duration = Duration::from_millis(250);

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

/// Asks where a call should go.
#[derive(Message, Debug, Clone)]
#[rtype(result = "RouteDecision")]
pub struct RouteRequest {
    /// The trunk's default target.
    pub target: Target,
    /// The number to dial (the sticky route's key).
    pub callee: DialNumber,
    /// Modems already tried for this call.
    pub exclude: Vec<ModemId>,
    /// Screening sends the call to the agent, for this reason.
    pub divert: Option<String>,
    /// The callee's operator as screening found it (for operator affinity).
    pub operator: Option<String>,
}

/// The answer to [`RouteRequest`].
#[derive(Debug, Clone)]
pub struct RouteDecision {
    /// Where the call goes.
    pub route: Route,
    /// The leased modem's actor, for a modem route.
    pub modem: Option<Addr<ModemActor>>,
}

/// The call no longer needs the modem.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Release {
    /// Modem id.
    pub modem: ModemId,
}

/// What a finished call used, for counters and its sticky route.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct CallUsage {
    /// When it ended (Unix ms).
    pub at_ms: u64,
    /// Trunk name.
    pub trunk: Option<String>,
    /// The number called.
    pub callee: String,
    /// The modem that carried it, and its SIM's IMSI (not a modem that failed before).
    pub modem: Option<(String, Option<String>)>,
    /// Whether it was answered.
    pub answered: bool,
    /// Talk time, seconds.
    pub talk_s: u64,
}

impl From<&CallRecord> for CallUsage {
    fn from(r: &CallRecord) -> Self {
        Self {
            at_ms: r.ended_ms,
            trunk: r.trunk.clone(),
            callee: r.callee.clone(),
            modem: match &r.target {
                RecordTarget::Modem { modem, imsi, .. } => Some((modem.clone(), imsi.clone())),
                RecordTarget::None | RecordTarget::Agent { .. } => None,
            },
            answered: r.answered_ms.is_some(),
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
}

/// Read the counters.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "RouterStats")]
pub struct GetRouterStats;

/// How long a lease lasts without a [`Release`] (a call that vanished).
const LEASE_TTL: Duration = Duration::from_secs(7200);

/// The router actor.
#[derive(Debug)]
pub struct Router {
    modems: BTreeMap<ModemId, (Addr<ModemActor>, ModemStatus)>,
    leased: HashMap<ModemId, tokio::time::Instant>,
    agent: Option<AgentTarget>,
    cfg: RoutingConfig,
    stores: Stores,
    /// How long sticky routes last (`None`: no sticky routing).
    sticky_ttl: Option<Duration>,
    decisions: u64,
    /// Usage of calls finished since the last flush.
    usage: Tally,
}

impl Router {
    /// A router; `agent` is where agent-bound calls go.
    pub fn new(cfg: RoutingConfig, agent: Option<AgentTarget>, stores: Stores) -> Self {
        let sticky_ttl = cfg.sticky.then(|| Duration::from_secs(cfg.sticky_ttl_s));
        Self {
            modems: BTreeMap::new(),
            leased: HashMap::new(),
            agent,
            cfg,
            stores,
            sticky_ttl,
            decisions: 0,
            usage: Tally::default(),
        }
    }

    fn agent_or(&self, reason: &str, status: u16) -> Route {
        match &self.agent {
            Some(a) => Route::Agent {
                agent: a.clone(),
                reason: reason.to_string(),
            },
            None => Route::Reject {
                status,
                reason: reason.to_string(),
            },
        }
    }

    /// Picks and leases a modem (the sticky one when free), or falls back.
    fn decide(&mut self, exclude: &[ModemId], prefer: Option<&str>) -> RouteDecision {
        let now = tokio::time::Instant::now();
        self.leased
            .retain(|_, t| now.duration_since(*t) < LEASE_TTL);
        self.decisions += 1;
        let excluded: Vec<String> = exclude.iter().map(ToString::to_string).collect();
        let candidates: Vec<Candidate<'_>> = self
            .modems
            .iter()
            .map(|(id, (_, s))| Candidate {
                id: id.as_str(),
                available: s.is_available(),
                leased: self.leased.contains_key(id),
            })
            .collect();
        let picked = pick(&candidates, &excluded, prefer).map(str::to_string);
        match picked.and_then(|p| self.modems.iter().find(|(id, _)| id.as_str() == p)) {
            Some((id, (addr, status))) => {
                let d = RouteDecision {
                    route: Route::Modem {
                        id: id.clone(),
                        identity: status.session.identity.clone(),
                    },
                    modem: Some(addr.clone()),
                };
                self.leased.insert(id.clone(), now);
                d
            }
            None => RouteDecision {
                route: if self.cfg.agent_when_no_modem {
                    self.agent_or("no modem free", 503)
                } else {
                    Route::Reject {
                        status: 503,
                        reason: "no modem free".into(),
                    }
                },
                modem: None,
            },
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
    }
}

impl Router {
    /// Writes the usage summed so far (off the call's path).
    fn flush_usage(&mut self) -> impl std::future::Future<Output = ()> + 'static {
        self.usage.take().write(self.stores.clone())
    }
}

/// Writes the usage of finished calls now (at shutdown); answers when it is written.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct FlushUsage;

impl Handler<FlushUsage> for Router {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: FlushUsage, _: &mut Context<Self>) -> Self::Result {
        Box::pin(self.flush_usage().into_actor(self))
    }
}

impl Handler<ModemUpdate> for Router {
    type Result = ();

    fn handle(&mut self, msg: ModemUpdate, _: &mut Context<Self>) {
        self.modems.insert(msg.id, (msg.addr, msg.status));
    }
}

impl Handler<RouteRequest> for Router {
    type Result = ResponseActFuture<Self, RouteDecision>;

    fn handle(&mut self, msg: RouteRequest, _: &mut Context<Self>) -> Self::Result {
        let immediate = if let Some(reason) = &msg.divert {
            Some(self.agent_or(reason, 503))
        } else if msg.target == Target::Agent {
            Some(self.agent_or("trunk routes to the agent", 503))
        } else if msg.exclude.len() as u32 >= self.cfg.max_attempts {
            Some(Route::Reject {
                status: 503,
                reason: "all attempts used".into(),
            })
        } else {
            None
        };
        if let Some(route) = immediate {
            self.decisions += 1;
            return Box::pin(fut::ready(RouteDecision { route, modem: None }));
        }
        // A sticky route is a preference only, and only for a first try: any storage
        // trouble just skips it.
        let sticky = (msg.exclude.is_empty() && self.sticky_ttl.is_some())
            .then(|| self.stores.sticky.clone());
        let callee = msg.callee.to_string();
        Box::pin(
            async move {
                match sticky {
                    Some(s) => s
                        .get(&callee, wall_ms())
                        .await
                        .ok()
                        .flatten()
                        .map(|r| r.target),
                    None => None,
                }
            }
            .into_actor(self)
            .map(move |prefer, act, _| {
                let d = act.decide(&msg.exclude, prefer.as_deref());
                debug!(route = ?std::mem::discriminant(&d.route), "Routed.");
                d
            }),
        )
    }
}

impl Handler<Release> for Router {
    type Result = ();

    fn handle(&mut self, msg: Release, _: &mut Context<Self>) {
        self.leased.remove(&msg.modem);
    }
}

impl Handler<GetRouterStats> for Router {
    type Result = MessageResult<GetRouterStats>;

    fn handle(&mut self, _: GetRouterStats, _: &mut Context<Self>) -> Self::Result {
        MessageResult(RouterStats {
            leases: self.leased.len() as u64,
            decisions: self.decisions,
        })
    }
}

impl Handler<CallUsage> for Router {
    type Result = ();

    /// Counts the call on its trunk and SIM (written with the others at the next flush)
    /// and pins its callee to the modem that answered (at once, off the call's path;
    /// storage trouble is logged, never fatal). The inventory's lifetime usage is not here:
    /// the record store adds it with the record.
    fn handle(&mut self, u: CallUsage, ctx: &mut Context<Self>) {
        self.usage.count(&u);
        let (Some((modem, _)), true, Some(ttl)) = (u.modem, u.answered, self.sticky_ttl) else {
            return;
        };
        let stores = self.stores.clone();
        async move {
            if let Err(e) = stores.sticky.set(&u.callee, &modem, u.at_ms, ttl).await {
                warn!(error = %e, "Sticky route not written.");
            }
        }
        .into_actor(self)
        .spawn(ctx);
    }
}
