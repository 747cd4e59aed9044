//! The operations HTTP server (actix-web): the web page (`/`), the API (`/api/...`, with
//! its OpenAPI document at `/api/openapi.json`), `/metrics` (Prometheus), `/healthz`,
//! `/readyz`, and `/route?callee=N` ("why this SIM" as a dry run on the live view).
//!
//! Handlers ask the actors and the stores at each request; the server holds no state of
//! its own. It runs one worker and leaves signal handling to the gateway.

pub mod api;
pub mod auth;
mod filter_metrics;
pub mod metrics;
mod page;
pub mod process;
mod sip_metrics;
pub mod tally;

use std::net::SocketAddr;
use std::sync::Arc;

use actix::Addr;
use actix_web::dev::ServerHandle;
use actix_web::{web, HttpResponse, HttpServer};
use serde_json::json;

use e173gw_actors::ingress::{GetStats, SipIngress};
use e173gw_actors::recorder::{Recorder, RecorderStatus};
use e173gw_actors::routing::{ExplainRoute, GetPeers, GetRouterStats, ListSims, Router};

use e173gw_actors::board::LadderBook;
use e173gw_core::ports::Stores;

use crate::adapters::redis::RedisStore;
use crate::adapters::resilient::Resilient;
use crate::reload::ReloadHandle;
use metrics::{ModemRow, Snapshot};

/// What the handlers read from.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The SIP side.
    pub ingress: Addr<SipIngress>,
    /// The recorder.
    pub recorder: Addr<Recorder>,
    /// The router.
    pub router: Addr<Router>,
    /// The filter pipeline.
    pub filter: Addr<e173gw_actors::filter::FilterActor>,
    /// The shared store wrapper (production storage).
    pub shared: Option<Arc<Resilient<RedisStore>>>,
    /// Finished calls' ladders and the traced numbers.
    pub ladders: LadderBook,
    /// The stores (records, blacklist, sticky routes).
    pub stores: Stores,
    /// Asks for a config reload (`None`: reloads are off).
    pub reload: Option<ReloadHandle>,
    /// This node's id.
    pub node_id: String,
    /// How long a pinned sticky route lasts by default.
    pub sticky_ttl: std::time::Duration,
    /// The HTTP server's own counts.
    pub http: Arc<tally::HttpTally>,
    /// When the gateway started (Unix ms).
    pub started_ms: u64,
    /// The SMS centre (`None`: SMS and USSD are off).
    pub sms: Option<Addr<e173gw_actors::sms::SmsCenter>>,
    /// `[ussd] low_balance_cents`.
    pub low_balance: Option<i64>,
}

impl Sources {
    /// Asks every source for its counters; one that does not answer is left out.
    pub async fn snapshot(&self) -> Snapshot {
        let modems = self
            .router
            .send(ListSims)
            .await
            .unwrap_or_default()
            .iter()
            .map(ModemRow::of)
            .collect();
        Snapshot {
            ingress: self.ingress.send(GetStats).await.ok(),
            recorder: self.recorder.send(RecorderStatus).await.ok(),
            router: self.router.send(GetRouterStats).await.ok(),
            filter: self
                .filter
                .send(e173gw_actors::filter::GetFilterStats)
                .await
                .ok(),
            shared: self.shared.as_ref().map(|s| s.status()),
            peers: self.router.send(GetPeers).await.unwrap_or_default(),
            modems,
            http: Some(self.http.snapshot()),
            process: Some(process::ProcessStats::read(std::path::Path::new(
                "/proc/self",
            ))),
            started_ms: self.started_ms,
            balances: match &self.sms {
                Some(c) => c
                    .send(e173gw_actors::sms::GetBalances)
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .unwrap_or_default(),
                None => Vec::new(),
            },
        }
    }
}

async fn metrics_page(src: web::Data<Sources>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(src.snapshot().await.render())
}

async fn healthz(src: web::Data<Sources>) -> HttpResponse {
    let s = src.snapshot().await;
    let state = |degraded: Option<bool>| match degraded {
        None => "none",
        Some(false) => "ok",
        Some(true) => "degraded",
    };
    HttpResponse::Ok().json(json!({
        "status": "ok",
        "record_store": state(s.recorder.as_ref().map(|r| r.degraded)),
        "records_backlog": s.recorder.as_ref().map_or(0, |r| r.backlog),
        "shared_store": state(s.shared.map(|r| r.degraded)),
        "modems": s.modems.len(),
        "modems_available": s.modems.iter().filter(|m| m.available).count(),
        "calls_active": s.ingress.map_or(0, |i| i.active_calls),
    }))
}

/// `/route?callee=N[&caller=N][&trunk=T][&operator=O]`: "why this SIM" as a dry run.
async fn route_dry_run(
    src: web::Data<Sources>,
    q: web::Query<std::collections::HashMap<String, String>>,
) -> HttpResponse {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let Some(callee) = q.get("callee").filter(|c| !c.is_empty()).cloned() else {
        return HttpResponse::BadRequest().json(json!({"error": "callee is required"}));
    };
    let ask = ExplainRoute {
        trunk: get("trunk"),
        caller: get("caller"),
        callee: callee.clone(),
        operator: q.get("operator").filter(|o| !o.is_empty()).cloned(),
    };
    match src.router.send(ask).await {
        Ok(why) => HttpResponse::Ok().json(json!({"callee": callee, "route": why})),
        Err(e) => HttpResponse::ServiceUnavailable().json(json!({"error": e.to_string()})),
    }
}

/// `/readyz`: 200 when the gateway can take calls (config valid, as it is running;
/// records reachable or spooling; at least one modem usable), 503 with the reasons when not.
async fn readyz(src: web::Data<Sources>) -> HttpResponse {
    let why = src.snapshot().await.not_ready();
    let body = json!({"ready": why.is_empty(), "reasons": why});
    if why.is_empty() {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Anything else: JSON under `/api`, text elsewhere.
async fn not_found(req: actix_web::HttpRequest) -> HttpResponse {
    if req.path().starts_with("/api/") {
        return actix_web::ResponseError::error_response(&api::ApiError::NotFound(
            "no such API path (see /api/openapi.json)".into(),
        ));
    }
    HttpResponse::NotFound()
        .content_type("text/plain; charset=utf-8")
        .body("not found: the page is at /, the API under /api/\n")
}

/// Starts the server on `addr`; returns the bound address and a handle to stop it.
/// Call inside an actix `System`.
pub fn start(
    addr: SocketAddr,
    sources: Sources,
    token: String,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let tally = sources.http.clone();
    let data = web::Data::new(sources);
    let token = web::Data::new(auth::ApiToken(token));
    let server = HttpServer::new(move || {
        let tally = tally.clone();
        actix_web::App::new()
            .wrap_fn(move |req, srv| {
                let flight = tally.begin();
                let tally = tally.clone();
                let started = tokio::time::Instant::now();
                let answer = actix_web::dev::Service::call(srv, req);
                async move {
                    let res = answer.await;
                    let (route, status) = match &res {
                        Ok(r) => (r.request().match_pattern(), r.status().as_u16()),
                        Err(e) => (None, e.as_response_error().status_code().as_u16()),
                    };
                    let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                    tally.end(tally::route_label(route.as_deref()), status, us);
                    drop(flight);
                    res
                }
            })
            .app_data(data.clone())
            .app_data(token.clone())
            .route("/", web::get().to(page::index))
            .route("/metrics", web::get().to(metrics_page))
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz))
            .route("/route", web::get().to(route_dry_run))
            .configure(api::configure)
            .default_service(web::to(not_found))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .bind(addr)?;
    let bound = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("no address bound"))?;
    let running = server.run();
    let handle = running.handle();
    actix::spawn(async move {
        if let Err(e) = running.await {
            tracing::error!(error = %e, "HTTP server stopped.");
        }
    });
    Ok((bound, handle))
}
