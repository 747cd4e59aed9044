//! The router's message handlers: route requests (with the strict sticky wait), leases
//! given back, finished calls' usage, modem and peer updates, dry runs, counters.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;
use tracing::{debug, info, warn};

use e173gw_core::config::routing::StickyMode;
use e173gw_core::config::sip::Target;
use e173gw_core::domain::ModemId;
use e173gw_core::routing::protection::Outcome;
use e173gw_core::routing::Route;

use super::actor::{Router, BUSY_RETRY_AFTER_S};
use super::book::{self, sim_key};
use super::peers::PeerUpdate;
use super::strict::Waiter;
use super::{
    CallUsage, ExplainRoute, FlushUsage, GetPeers, GetRouterStats, ModemUpdate, PeerDown, Release,
    RouteDecision, RouteRequest, RouterStats, SetRouting,
};
use crate::wall_ms;

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
        if !msg.exclude.is_empty() {
            self.failovers += 1;
        }
        let immediate = if let Some((reason, delivery)) = &msg.divert {
            Some(self.agent_by(&msg.trunk, reason, 503, *delivery))
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
        // A sticky route counts only for a first try; storage trouble just skips it.
        let lookup = msg
            .exclude
            .is_empty()
            .then(|| self.sticky_target(&msg.caller, &msg.callee.to_string()));
        Box::pin(
            async move {
                match lookup {
                    Some(l) => l.await.ok().flatten(),
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
                    act.wait_for_sticky(msg, wait_for)
                },
            ),
        )
    }
}

impl Router {
    /// Strict sticky mode: the call waits (in the SIM's bounded queue) up to
    /// `sticky_wait_ms` for its busy sticky SIM, then takes another SIM
    /// (`sticky_fallback`) or gets 503.
    fn wait_for_sticky(
        &mut self,
        msg: RouteRequest,
        sim: ModemId,
    ) -> ResponseActFuture<Self, RouteDecision> {
        let (tx, rx) = oneshot::channel();
        let wait = Duration::from_millis(self.cfg.sticky_wait_ms);
        let waiter = Waiter {
            tx,
            req: msg.clone(),
        };
        let (note, rx) = if self
            .waiting
            .push(sim.clone(), waiter, self.cfg.sticky_queue as usize)
        {
            let note = format!(
                "sticky SIM {sim} busy: waited up to {} ms",
                wait.as_millis()
            );
            (note, Some(rx))
        } else {
            (format!("sticky SIM {sim} busy and its queue is full"), None)
        };
        let served = async move {
            match rx {
                Some(rx) => tokio::time::timeout(wait, rx)
                    .await
                    .ok()
                    .and_then(Result::ok),
                None => None,
            }
        };
        Box::pin(served.into_actor(self).map(move |served, act, _| {
            if let Some(mut d) = served {
                d.why.insert(
                    0,
                    format!("sticky SIM {sim} freed up while the call waited"),
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
        }))
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
            failovers: self.failovers,
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
        let key = book::key_of(&modem, imsi.as_deref());
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
        let lookup = self.sticky_target(&req.caller, &req.callee.to_string());
        Box::pin(lookup.into_actor(self).map(move |target, act, _| {
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
        }))
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

impl Handler<GetPeers> for Router {
    type Result = MessageResult<GetPeers>;

    fn handle(&mut self, _: GetPeers, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.peers.rows())
    }
}
