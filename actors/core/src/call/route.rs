//! Asking the router, and what its answer starts.

use std::time::Instant;

use super::state::CallState;
use super::{Action, CallSession};
use crate::record::EndReason;

impl CallSession {
    /// Asks the router where the call goes.
    pub(super) fn route(&mut self, now: Instant, ev: &'static str) {
        self.m.call_to(CallState::Routing, now, ev);
        self.routing = true;
        let (divert, operator) = match self.verdict.as_deref() {
            Some(v) => (
                match &v.decision {
                    crate::filter::Decision::Divert { reason, delivery } => {
                        Some((reason.clone(), *delivery))
                    }
                    _ => None,
                },
                v.annotations.operator.clone(),
            ),
            None => (None, None),
        };
        let age_ms = self.clock.wall_ms(now).saturating_sub(self.rec.received_ms);
        self.push(Action::Route {
            target: self.target,
            trunk: self.trunk_name.clone(),
            from_peer: self.from_peer.clone(),
            caller: self.rec.caller.clone(),
            callee: self.callee.clone(),
            age_ms,
            exclude: self.exclude.clone(),
            divert,
            operator,
        });
    }

    /// Hands the call to the agent by redirection: `302` with the agent's Contact; the
    /// trunk calls the agent itself and the gateway leaves the call.
    fn redirect_to(&mut self, now: Instant, agent: &crate::routing::AgentTarget, ev: &'static str) {
        self.rec.target = crate::record::RecordTarget::Agent {
            uri: agent.uri.clone(),
        };
        self.reject_with(
            302,
            vec![crate::sip::build::header(
                "Contact",
                format!("<{}>", agent.uri),
            )],
            now,
            ev,
        );
        self.fail(302, None, EndReason::Redirected, now, ev);
    }

    pub(super) fn on_routed(
        &mut self,
        now: Instant,
        route: crate::routing::Route,
        why: Vec<String>,
        ev: &'static str,
    ) {
        use crate::routing::Route;
        self.routing = false;
        if self.m.call != CallState::Routing {
            // The caller left while the router was asked: give back what it leased.
            if let Route::Modem { id, .. } | Route::Peer { id, .. } = route {
                self.push(Action::Release(id));
            }
            self.settle(now, ev);
            return;
        }
        self.rec.routed_ms.get_or_insert(self.clock.wall_ms(now));
        let attempt = self.exclude.len() + 1;
        self.rec
            .route
            .extend(why.into_iter().map(|w| format!("try {attempt}: {w}")));
        match route {
            Route::Modem {
                id,
                identity,
                max_call,
            } => {
                self.rec.max_call = max_call;
                self.start_modem_leg(now, id, identity, ev)
            }
            Route::Peer {
                id,
                node,
                modem,
                imsi,
                target,
            } => {
                self.rec.target = crate::record::RecordTarget::Peer {
                    node: node.clone(),
                    modem: modem.clone(),
                    imsi,
                };
                let leg = super::agent::PeerLeg { id, node, modem };
                self.start_agent_leg(now, target, "", Some(leg), ev);
            }
            Route::Agent {
                agent,
                redirect: true,
                ..
            } => self.redirect_to(now, &agent, ev),
            Route::Agent { agent, reason, .. } => {
                self.rec.target = crate::record::RecordTarget::Agent {
                    uri: agent.uri.clone(),
                };
                self.start_agent_leg(now, agent, &reason, None, ev)
            }
            Route::Reject {
                status,
                retry_after_s,
                ..
            } => {
                let why = if self.exclude.is_empty() {
                    EndReason::NoRoute
                } else {
                    EndReason::Failed
                };
                self.retry_after_s = retry_after_s;
                self.fail(status, None, why, now, ev);
            }
        }
    }
}
