//! `/api/ladder` (a call's SIP messages and AT lines on one timeline, as text, as a
//! Mermaid sequence diagram, or as JSON) and `/api/trace` (numbers whose calls' ladders
//! are kept even when recent calls' are not: `[http] ladder_calls = 0`, or a busy node).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use e173gw_actors::ingress::LiveLadder;

use super::ApiError;
use crate::http::auth::Writer;
use crate::http::Sources;

/// Which ladder, and how.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct LadderQuery {
    /// The call's SIP Call-ID (the caller's leg).
    call_id: String,
    /// `text` (default), `mermaid` or `json`.
    format: Option<String>,
}

/// A call's ladder: live calls, the last `[http] ladder_calls` calls, and traced numbers'.
#[utoipa::path(get, path = "/api/ladder", tag = "calls", params(LadderQuery),
    responses((status = 200, description = "text/plain (text, mermaid) or the JSON ladder", body = String),
              (status = 400, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
pub(super) async fn ladder(
    src: web::Data<Sources>,
    q: web::Query<LadderQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let format = q.format.as_deref().unwrap_or("text");
    if !["text", "mermaid", "json"].contains(&format) {
        return Err(ApiError::BadRequest(format!(
            "format {format:?}: text, mermaid or json"
        )));
    }
    let done = src.ladders.lock().get(&q.call_id).cloned();
    let l = match done {
        Some(l) => Some(l),
        None => src.ingress.send(LiveLadder(q.call_id.clone())).await?,
    };
    let Some(l) = l else {
        return Err(ApiError::NotFound(format!(
            "no ladder of call {:?} (only live calls, the last [http] ladder_calls calls, and traced numbers' are kept)",
            q.call_id
        )));
    };
    Ok(match format {
        "json" => HttpResponse::Ok().json(l),
        "mermaid" => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(l.mermaid()),
        _ => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(l.text()),
    })
}

/// A traced number.
#[derive(Debug, Serialize, ToSchema)]
pub struct TraceView {
    /// The number, as calls carry it (caller or callee).
    pub number: String,
    /// Traced now.
    pub traced: bool,
}

fn check_number(n: &str) -> Result<(), ApiError> {
    super::lists::check_digits("number", n)
}

/// The numbers traced.
#[utoipa::path(get, path = "/api/trace", tag = "calls",
    responses((status = 200, body = [String])))]
pub(super) async fn traced(src: web::Data<Sources>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(src.ladders.lock().traced()))
}

/// Keeps the ladders of this number's calls from its next call on (in memory, until
/// the gateway stops or tracing is switched off).
#[utoipa::path(put, path = "/api/trace/{number}", tag = "calls",
    params(("number" = String, Path, description = "Caller or callee number")),
    security(("bearer" = [])),
    responses((status = 200, body = TraceView), (status = 400, body = super::ErrorBody),
              (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub(super) async fn trace_on(
    who: Writer,
    src: web::Data<Sources>,
    number: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_number(&number)?;
    let number = number.into_inner();
    src.ladders.lock().trace(&number, true);
    who.audit("trace on", &number);
    Ok(HttpResponse::Ok().json(TraceView {
        number,
        traced: true,
    }))
}

/// Stops tracing a number.
#[utoipa::path(delete, path = "/api/trace/{number}", tag = "calls",
    params(("number" = String, Path, description = "Caller or callee number")),
    security(("bearer" = [])),
    responses((status = 204, description = "Stopped"), (status = 404, body = super::ErrorBody),
              (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub(super) async fn trace_off(
    who: Writer,
    src: web::Data<Sources>,
    number: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_number(&number)?;
    let changed = src.ladders.lock().trace(&number, false);
    if !changed {
        return Err(ApiError::NotFound(format!(
            "{:?} is not traced",
            number.as_str()
        )));
    }
    who.audit("trace off", &number);
    Ok(HttpResponse::NoContent().finish())
}
