//! Operator actions on this node's modems, and the modems as operations see them: the
//! modem's status with its SIM's usage, limits and routing state. The router holds all of
//! it (status pushed by the gateway, usage in its book), so the operations API asks here.

use actix::prelude::*;
use serde::Serialize;
use tracing::{info, warn};

use e173gw_core::domain::ModemId;
use e173gw_core::routing::policy::SimLimits;

use super::actor::Router;
use super::book::{self, sim_key};
use e173gw_core::at::response::Signal;
use e173gw_core::at::session::Unavailable;

use crate::modem::{LinkState, ModemStatus, Reset, ResetKind};
use crate::wall_ms;

/// A modem with its SIM's routing state.
#[derive(Debug, Clone, Serialize)]
pub struct SimRow {
    /// The modem.
    pub status: ModemStatus,
    /// Its SIM's operator as routing names it.
    pub operator: Option<String>,
    /// Calls today (the limits' day).
    pub calls_today: u32,
    /// Minutes today (whole minutes started).
    pub minutes_today: u32,
    /// Calls this month.
    pub calls_month: u32,
    /// Minutes this month.
    pub minutes_month: u32,
    /// The limits in force for this SIM.
    pub limits: SimLimits,
    /// Leased to a call now.
    pub leased: bool,
    /// Rested by SIM protection or an operator until then (Unix ms), and why.
    pub rested: Option<(u64, String)>,
    /// Held out of routing by its gateway (repeated faults), and why.
    pub quarantined: Option<String>,
    /// Disabled by an operator, and why.
    pub disabled: Option<String>,
}

impl SimRow {
    /// Routing would consider it for the next call it fits: available, and not leased,
    /// rested, quarantined or disabled.
    pub fn routable(&self) -> bool {
        self.status.is_available()
            && !self.leased
            && self.rested.is_none()
            && self.quarantined.is_none()
            && self.disabled.is_none()
    }

    /// Its ports are open and its session is up: what it reports is current.
    pub fn is_open(&self) -> bool {
        self.status.link == LinkState::Open
            && !matches!(self.status.session.available, Err(Unavailable::Closed))
    }

    /// The signal now; `None` while the ports are gone (the last reading is stale).
    pub fn signal(&self) -> Option<Signal> {
        self.status.session.signal.filter(|_| self.is_open())
    }

    /// What is left of each limit (`None`: no such limit), by the limit's name.
    pub fn limits_left(&self) -> [(&'static str, Option<u32>); 4] {
        let l = &self.limits;
        let left = |limit: Option<u32>, used: u32| limit.map(|l| l.saturating_sub(used));
        [
            ("calls_per_day", left(l.calls_per_day, self.calls_today)),
            (
                "minutes_per_day",
                left(l.minutes_per_day, self.minutes_today),
            ),
            ("calls_per_month", left(l.calls_per_month, self.calls_month)),
            (
                "minutes_per_month",
                left(l.minutes_per_month, self.minutes_month),
            ),
        ]
    }
}

/// Every modem of this node, by id.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Vec<SimRow>")]
pub struct ListSims;

/// What an operator can do to a modem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminAction {
    /// Reset it (a call in progress ends).
    Reset(ResetKind),
    /// Keep it out of routing until enabled (calls in progress go on).
    Disable {
        /// Shown in "why this SIM" and on the modem.
        reason: String,
    },
    /// Put it back in routing.
    Enable,
    /// Rest its SIM: out of routing for `seconds`, then a probe call, as SIM protection
    /// does. Shared with peer nodes through the store when the IMSI is known.
    Rest {
        /// How long.
        seconds: u32,
        /// Shown in "why this SIM".
        reason: String,
    },
}

/// An operator action on modem `id`.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<SimRow, AdminError>")]
pub struct AdminModem {
    /// The modem.
    pub id: ModemId,
    /// What to do.
    pub action: AdminAction,
}

/// Why an operator action was not done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// No modem with that id on this node.
    #[error("no modem {0:?} on this node")]
    NoSuchModem(String),
}

impl Router {
    fn row(&mut self, id: &ModemId) -> Option<SimRow> {
        let (_, status) = self.modems.get(id)?;
        let status = status.clone();
        let now = wall_ms();
        let cfg = self.cfg.clone();
        let view = self.book.view(
            id.as_str(),
            &status,
            self.leased.contains_key(id),
            self.held_out(id),
            &cfg,
            now,
        );
        let disabled = self.disabled.get(id).cloned();
        let quarantined = self.quarantined.get(id).cloned();
        Some(SimRow {
            status,
            operator: view.operator,
            calls_today: view.calls_today,
            minutes_today: view.minutes_today,
            calls_month: view.calls_month,
            minutes_month: view.minutes_month,
            limits: view.limits,
            leased: view.leased,
            rested: view.rested,
            quarantined,
            disabled,
        })
    }
}

impl Handler<ListSims> for Router {
    type Result = MessageResult<ListSims>;

    fn handle(&mut self, _: ListSims, _: &mut Context<Self>) -> Self::Result {
        let ids: Vec<ModemId> = self.modems.keys().cloned().collect();
        MessageResult(ids.iter().filter_map(|id| self.row(id)).collect())
    }
}

impl Handler<AdminModem> for Router {
    type Result = Result<SimRow, AdminError>;

    fn handle(&mut self, msg: AdminModem, ctx: &mut Context<Self>) -> Self::Result {
        let Some((addr, status)) = self.modems.get(&msg.id) else {
            return Err(AdminError::NoSuchModem(msg.id.to_string()));
        };
        let id = msg.id.clone();
        match msg.action {
            AdminAction::Reset(kind) => {
                info!(modem = %id, ?kind, "Operator reset.");
                addr.do_send(Reset { kind });
            }
            AdminAction::Disable { reason } => {
                info!(modem = %id, reason = %reason, "Modem disabled by an operator.");
                self.disabled.insert(id.clone(), reason);
                self.view_dirty = true;
            }
            AdminAction::Enable => {
                if self.disabled.remove(&id).is_some() {
                    info!(modem = %id, "Modem enabled by an operator.");
                }
                self.view_dirty = true;
                self.serve_waiting(&id);
            }
            AdminAction::Rest { seconds, reason } => {
                let key = sim_key(id.as_str(), status);
                let until = wall_ms() + u64::from(seconds) * 1000;
                self.book.rest(&key, until, reason.clone());
                info!(modem = %id, sim = %key, rest_s = seconds, reason = %reason, "SIM rested by an operator.");
                self.view_dirty = true;
                if !key.starts_with("modem:") {
                    let stores = self.stores.clone();
                    async move {
                        if let Err(e) =
                            book::store_rest(&stores, &key, until, &reason, wall_ms()).await
                        {
                            warn!(error = %e, "SIM rest not shared.");
                        }
                    }
                    .into_actor(self)
                    .spawn(ctx);
                }
            }
        }
        self.row(&id)
            .ok_or_else(|| AdminError::NoSuchModem(id.to_string()))
    }
}
