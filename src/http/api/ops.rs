//! `/api/nodes` (this node and its peers), `/api/dry-run` (what would happen to a call
//! to this number now, and why: screening, then routing; nothing is leased or counted)
//! and `/api/config/reload` (read the config again; the validation result comes back).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use e173gw_actors::filter::DryRun;
use e173gw_actors::routing::{ExplainRoute, GetPeers, ListSims};
use e173gw_core::filter::{Decision, Request};

use super::ApiError;
use crate::http::auth::Writer;
use crate::http::Sources;
use crate::reload::Reloaded;

/// A node: this one or a peer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NodeView {
    /// Node id (`[sip] node_id`).
    pub node: String,
    /// This node.
    pub local: bool,
    /// In rotation (this node: always).
    pub up: bool,
    /// Round trip of the last answered check, ms (peers).
    pub rtt_ms: Option<u64>,
    /// Its modems.
    pub modems: usize,
    /// Modems routing would use now.
    pub free: usize,
}

/// This node and its peers.
#[utoipa::path(get, path = "/api/nodes", tag = "routing",
    responses((status = 200, body = [NodeView])))]
pub(super) async fn nodes(src: web::Data<Sources>) -> Result<HttpResponse, ApiError> {
    let (sims, peers) = tokio::join!(src.router.send(ListSims), src.router.send(GetPeers));
    let sims = sims?;
    let mut out = vec![NodeView {
        node: src.node_id.clone(),
        local: true,
        up: true,
        rtt_ms: None,
        modems: sims.len(),
        free: sims.iter().filter(|s| s.routable()).count(),
    }];
    out.extend(peers?.into_iter().map(|p| NodeView {
        node: p.node,
        local: false,
        up: p.up,
        rtt_ms: p.rtt_ms,
        modems: p.modems,
        free: p.free,
    }));
    Ok(HttpResponse::Ok().json(out))
}

/// A dry run.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct DryRunQuery {
    /// The called number, as a trunk would send it.
    callee: String,
    /// The calling number.
    caller: Option<String>,
    /// The trunk the call would come in on.
    trunk: Option<String>,
}

/// What would happen.
#[derive(Debug, Serialize, ToSchema)]
pub struct DryRunView {
    /// `allow`, `reject` or `divert`.
    pub decision: String,
    /// The screening verdict with every stage's trace.
    #[schema(value_type = Object)]
    pub verdict: serde_json::Value,
    /// "Why this SIM" for an allowed call: the route routing would take now.
    pub route: Vec<String>,
}

/// Screens and routes a number as a call would be, without placing it.
#[utoipa::path(get, path = "/api/dry-run", tag = "screening", params(DryRunQuery),
    responses((status = 200, body = DryRunView), (status = 400, body = super::ErrorBody)))]
pub(super) async fn dry_run(
    src: web::Data<Sources>,
    q: web::Query<DryRunQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    if q.callee.trim().is_empty() {
        return Err(ApiError::BadRequest("callee is required".into()));
    }
    super::check_text("callee", &q.callee, 64)?;
    super::check_text("caller", q.caller.as_deref().unwrap_or(""), 64)?;
    super::check_text("trunk", q.trunk.as_deref().unwrap_or(""), 64)?;
    let v = src
        .filter
        .send(DryRun(Request {
            caller: q.caller.clone().unwrap_or_default(),
            callee: q.callee.clone(),
            trunk: q.trunk.clone(),
            now_ms: e173gw_actors::wall_ms(),
        }))
        .await?;
    let route = if v.decision == Decision::Allow {
        src.router
            .send(ExplainRoute {
                trunk: q.trunk.unwrap_or_default(),
                caller: q.caller.unwrap_or_default(),
                callee: q.callee,
                operator: v.annotations.operator.clone(),
            })
            .await?
    } else {
        Vec::new()
    };
    let verdict = serde_json::to_value(&v).map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let decision = verdict
        .get("decision")
        .map(|d| match d {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Object(o) => o
                .get("decision")
                .and_then(|d| d.as_str())
                .unwrap_or_default()
                .to_string(),
            other => other.to_string(),
        })
        .unwrap_or_default();
    Ok(HttpResponse::Ok().json(DryRunView {
        decision,
        verdict,
        route,
    }))
}

/// A reload's result.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReloadView {
    /// The new rules are in force.
    pub reloaded: bool,
    /// The filter rules' version now in force.
    pub version: Option<u64>,
    /// Each problem as `key: message` (a refused edit; the old rules stay).
    pub problems: Vec<String>,
}

/// Reads the config file again: the `[filter]` and `[routing]` sections are swapped in
/// when the whole file is valid; otherwise nothing changes and the problems come back.
#[utoipa::path(post, path = "/api/config/reload", tag = "config",
    security(("bearer" = [])),
    responses((status = 200, body = ReloadView), (status = 422, body = ReloadView),
              (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub(super) async fn reload(who: Writer, src: web::Data<Sources>) -> Result<HttpResponse, ApiError> {
    let Some(handle) = &src.reload else {
        return Err(ApiError::Unavailable("config reload is not running".into()));
    };
    match handle.reload().await {
        Some(Reloaded::Swapped(version)) => {
            who.audit("config reload", &format!("rules version {version}"));
            Ok(HttpResponse::Ok().json(ReloadView {
                reloaded: true,
                version: Some(version),
                problems: Vec::new(),
            }))
        }
        Some(Reloaded::Refused(problems)) => {
            who.audit("config reload refused", &problems.join("; "));
            Ok(HttpResponse::UnprocessableEntity().json(ReloadView {
                reloaded: false,
                version: None,
                problems,
            }))
        }
        None => Err(ApiError::Unavailable("config reload has stopped".into())),
    }
}
