//! The operations API (`/api/...`, JSON): modems and their actions, nodes, calls in
//! progress, call records (search, paging, CSV), the blacklist, sticky routes, the
//! screening and routing dry run, config reload, and call ladders with number tracing. Reads are open; writes need the
//! bearer token ([`super::auth`]) and are audit-logged. The OpenAPI 3 document is built
//! from these handlers and types and served at `/api/openapi.json`.

pub mod calls;
pub mod ladder;
pub mod lists;
pub mod modems;
pub mod ops;
pub mod sms;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

pub use modems::{modem_state, ModemView};

/// Why an API request failed; the body is `{"error": "..."}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A write without a bearer token.
    #[error("this request changes the gateway: send Authorization: Bearer <[http] api_token>")]
    Unauthorized,
    /// A write with a token that is not the configured one (or none is configured).
    #[error(
        "the bearer token is not the gateway's [http] api_token (or none is set: writes are off)"
    )]
    Forbidden,
    /// Bad input, said in words.
    #[error("{0}")]
    BadRequest(String),
    /// No such thing.
    #[error("{0}")]
    NotFound(String),
    /// A store or an actor did not answer.
    #[error("{0}")]
    Unavailable(String),
}

/// The error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status_code());
        if matches!(self, Self::Unauthorized) {
            r.insert_header(("WWW-Authenticate", "Bearer realm=\"e173gw\""));
        }
        r.json(ErrorBody {
            error: self.to_string(),
        })
    }
}

impl From<actix::MailboxError> for ApiError {
    fn from(e: actix::MailboxError) -> Self {
        Self::Unavailable(format!("the gateway did not answer: {e}"))
    }
}

impl From<e173gw_core::ports::StoreError> for ApiError {
    fn from(e: e173gw_core::ports::StoreError) -> Self {
        Self::Unavailable(format!("store: {e}"))
    }
}

/// A JSON or query body that did not parse is a 400 with the reason.
pub fn bad_input(e: impl std::fmt::Display) -> actix_web::Error {
    ApiError::BadRequest(e.to_string()).into()
}

/// Checks a free-text input named `name`: at most `max` bytes, no control characters.
pub fn check_text(name: &str, v: &str, max: usize) -> Result<(), ApiError> {
    if v.len() > max || v.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "{name}: at most {max} printable characters"
        )));
    }
    Ok(())
}

/// A JSON body, or the default when the body is empty.
pub fn json_or_default<T: serde::de::DeserializeOwned + Default>(
    body: &[u8],
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("body: {e}")))
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let c = api.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The OpenAPI document.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "e173gw operations API",
        description = "Modems, calls, records, screening lists and routing of an e173gw node. Reads are open; writes need `Authorization: Bearer <[http] api_token>`."
    ),
    paths(
        modems::list, modems::detail, modems::act,
        ops::nodes, ops::dry_run, ops::reload,
        calls::active, calls::records, calls::records_csv, calls::record,
        ladder::ladder, ladder::traced, ladder::trace_on, ladder::trace_off,
        lists::blacklist_list, lists::blacklist_add, lists::blacklist_remove,
        lists::sticky_get, lists::sticky_pin, lists::sticky_remove,
        sms::send, sms::get, sms::search, sms::ussd, sms::ussd_cancel, sms::balance, sms::recharge, sms::balances,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth),
    tags(
        (name = "modems", description = "This node's modems and SIMs"),
        (name = "calls", description = "Calls in progress and call records"),
        (name = "screening", description = "Blacklist and the dry run"),
        (name = "routing", description = "Sticky routes and nodes"),
        (name = "config", description = "Configuration"),
        (name = "sms", description = "SMS, USSD and SIM balances"),
    )
)]
pub struct ApiDoc;

async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

/// Registers every API route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(64 << 10)
            .error_handler(|e, _| bad_input(e)),
    )
    .app_data(web::QueryConfig::default().error_handler(|e, _| bad_input(e)))
    .app_data(web::PathConfig::default().error_handler(|e, _| bad_input(e)))
    .route("/api/openapi.json", web::get().to(openapi))
    .route("/api/modems", web::get().to(modems::list))
    .route("/api/modems/{id}", web::get().to(modems::detail))
    .route("/api/modems/{id}/ussd", web::post().to(sms::ussd))
    .route("/api/modems/{id}/ussd", web::delete().to(sms::ussd_cancel))
    .route("/api/modems/{id}/balance", web::post().to(sms::balance))
    .route("/api/modems/{id}/recharge", web::post().to(sms::recharge))
    .route("/api/modems/{id}/{action}", web::post().to(modems::act))
    .route("/api/sms", web::post().to(sms::send))
    .route("/api/sms", web::get().to(sms::search))
    .route("/api/sms/{id}", web::get().to(sms::get))
    .route("/api/balances", web::get().to(sms::balances))
    .route("/api/nodes", web::get().to(ops::nodes))
    .route("/api/dry-run", web::get().to(ops::dry_run))
    .route("/api/config/reload", web::post().to(ops::reload))
    .route("/api/calls", web::get().to(calls::active))
    .route("/api/records", web::get().to(calls::records))
    .route("/api/records.csv", web::get().to(calls::records_csv))
    .route("/api/records/{call_id}", web::get().to(calls::record))
    .route("/api/ladder", web::get().to(ladder::ladder))
    .route("/api/trace", web::get().to(ladder::traced))
    .route("/api/trace/{number}", web::put().to(ladder::trace_on))
    .route("/api/trace/{number}", web::delete().to(ladder::trace_off))
    .route("/api/blacklist", web::get().to(lists::blacklist_list))
    .route("/api/blacklist", web::post().to(lists::blacklist_add))
    .route("/api/blacklist", web::delete().to(lists::blacklist_remove))
    .route("/api/sticky/{number}", web::get().to(lists::sticky_get))
    .route("/api/sticky/{number}", web::put().to(lists::sticky_pin))
    .route(
        "/api/sticky/{number}",
        web::delete().to(lists::sticky_remove),
    );
}
