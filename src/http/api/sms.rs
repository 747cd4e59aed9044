//! `/api/sms` (send, look up, search SMS), `/api/modems/{id}/ussd|balance|recharge` and
//! `/api/balances`.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use e173gw_actors::sms::{
    BalanceError, CancelUssd, CheckBalance, GetBalances, GetSms, Recharge, RunUssd, SendSms,
    SmsError,
};
use e173gw_core::domain::ModemId;
use e173gw_core::sms::message::{SimBalance, SmsDirection, SmsQuery, SmsRecord, SmsState};

use super::ApiError;
use crate::http::auth::Writer;
use crate::http::Sources;

/// An SMS to send.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewSms {
    /// The recipient: 1 to 20 digits with an optional leading `+`.
    to: String,
    /// The text (GSM 7-bit, else UCS-2; long texts go in parts).
    text: String,
    /// A modem id or IMSI to send from; absent: the router's pick.
    via: Option<String>,
    /// Ask for a status report (absent: `[sms] status_report`).
    status_report: Option<bool>,
}

/// A USSD request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UssdBody {
    /// The code (`*100#`) or a menu answer (`1`).
    code: String,
}

/// A recharge.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RechargeBody {
    /// The voucher digits.
    voucher: String,
}

/// A USSD reply.
#[derive(Debug, Serialize, ToSchema)]
pub struct UssdView {
    /// 0 final, 1 the network waits for an answer, 2 ended by the network.
    pub mode: u8,
    /// The text.
    pub text: Option<String>,
}

/// A SIM's balance.
#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceView {
    /// The SIM.
    pub imsi: String,
    /// The modem it was in.
    pub modem: String,
    /// Cents.
    pub cents: i64,
    /// Expiry as the reply wrote it.
    pub expiry: Option<String>,
    /// The reply.
    pub reply: String,
    /// Read at (Unix ms).
    pub at_ms: u64,
    /// Under `[ussd] low_balance_cents`.
    pub low: bool,
}

impl BalanceView {
    fn new(b: SimBalance, low: bool) -> Self {
        Self {
            imsi: b.imsi,
            modem: b.modem,
            cents: b.cents,
            expiry: b.expiry,
            reply: b.reply,
            at_ms: b.at_ms,
            low,
        }
    }
}

/// A search over SMS.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct SmsSearch {
    /// `outbound` or `inbound`.
    direction: Option<String>,
    /// `queued`, `sending`, `sent`, `delivered`, `failed` or `received`.
    state: Option<String>,
    /// The other party.
    number: Option<String>,
    /// At most this many (1..=1000, default 100).
    limit: Option<u32>,
}

impl From<SmsError> for ApiError {
    fn from(e: SmsError) -> Self {
        match e {
            SmsError::Invalid(m) => Self::BadRequest(m),
            SmsError::NoModem(e) => Self::Unavailable(e.to_string()),
            SmsError::Storage(m) => Self::Unavailable(m),
        }
    }
}

impl From<BalanceError> for ApiError {
    fn from(e: BalanceError) -> Self {
        match e {
            BalanceError::NoSuchModem(_) => Self::NotFound(e.to_string()),
            BalanceError::NoRule(_) => Self::BadRequest(e.to_string()),
            _ => Self::Unavailable(e.to_string()),
        }
    }
}

fn center(src: &Sources) -> Result<&actix::Addr<e173gw_actors::sms::SmsCenter>, ApiError> {
    src.sms
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("SMS is not running on this node".into()))
}

fn modem_id(id: &str) -> Result<ModemId, ApiError> {
    ModemId::parse(id).map_err(|e| ApiError::BadRequest(format!("modem id {id:?}: {e}")))
}

/// Sends an SMS: queued on a modem, sent at its pace; read its state back by id.
#[utoipa::path(post, path = "/api/sms", tag = "sms", request_body = NewSms,
    security(("bearer" = [])),
    responses((status = 202, description = "Queued: the stored message"), (status = 400, body = super::ErrorBody),
              (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
              (status = 503, body = super::ErrorBody)))]
pub(super) async fn send(
    who: Writer,
    src: web::Data<Sources>,
    body: web::Json<NewSms>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    super::lists::check_digits("to", &b.to)?;
    if b.text.is_empty() || b.text.chars().count() > 4000 {
        return Err(ApiError::BadRequest(
            "text: must be 1 to 4000 characters".into(),
        ));
    }
    if let Some(v) = &b.via {
        super::check_text("via", v, 40)?;
    }
    let rec = center(&src)?
        .send(SendSms {
            to: b.to,
            text: b.text,
            via: b.via,
            status_report: b.status_report,
            origin: "api".into(),
        })
        .await??;
    who.audit(
        "sms send",
        &format!(
            "{} to {} via {}",
            rec.id,
            rec.number,
            rec.modem.as_deref().unwrap_or("-")
        ),
    );
    Ok(HttpResponse::Accepted().json(rec))
}

/// One SMS.
#[utoipa::path(get, path = "/api/sms/{id}", tag = "sms",
    responses((status = 200, description = "The message"), (status = 404, body = super::ErrorBody)))]
pub(super) async fn get(
    src: web::Data<Sources>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    super::check_text("id", &id, 100)?;
    let found: Option<SmsRecord> = match &src.sms {
        Some(c) => c.send(GetSms(id.clone())).await??,
        None => src.stores.messages.get_sms(&id).await?,
    };
    found
        .map(|r| HttpResponse::Ok().json(r))
        .ok_or_else(|| ApiError::NotFound(format!("no SMS {id:?}")))
}

/// SMS sent and received, newest first.
#[utoipa::path(get, path = "/api/sms", tag = "sms", params(SmsSearch),
    responses((status = 200, description = "Messages"), (status = 400, body = super::ErrorBody)))]
pub(super) async fn search(
    src: web::Data<Sources>,
    q: web::Query<SmsSearch>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let direction = q
        .direction
        .as_deref()
        .map(|d| {
            SmsDirection::parse(d).ok_or_else(|| {
                ApiError::BadRequest(format!("direction {d:?}: must be outbound or inbound"))
            })
        })
        .transpose()?;
    let states = q
        .state
        .as_deref()
        .map(|s| {
            SmsState::parse(s)
                .ok_or_else(|| ApiError::BadRequest(format!("state {s:?}: not a state")))
        })
        .transpose()?
        .into_iter()
        .collect();
    if let Some(n) = &q.number {
        super::lists::check_digits("number", n)?;
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest("limit: must be 1..=1000".into()));
    }
    let found = src
        .stores
        .messages
        .find_sms(&SmsQuery {
            direction,
            states,
            number: q.number,
            limit,
        })
        .await?;
    Ok(HttpResponse::Ok().json(found))
}

/// Sends a USSD code on a modem and answers with the network's reply.
#[utoipa::path(post, path = "/api/modems/{id}/ussd", tag = "sms", request_body = UssdBody,
    security(("bearer" = [])),
    responses((status = 200, body = UssdView), (status = 404, body = super::ErrorBody),
              (status = 503, body = super::ErrorBody)))]
pub(super) async fn ussd(
    who: Writer,
    src: web::Data<Sources>,
    id: web::Path<String>,
    body: web::Json<UssdBody>,
) -> Result<HttpResponse, ApiError> {
    let modem = modem_id(&id)?;
    let code = body.into_inner().code;
    if code.is_empty()
        || code.len() > 160
        || !code
            .bytes()
            .all(|b| b.is_ascii_digit() || b"*#+".contains(&b))
    {
        return Err(ApiError::BadRequest(
            "code: must be 1 to 160 of 0-9 * # +".into(),
        ));
    }
    who.audit("ussd", &format!("{modem} {code}"));
    let r = center(&src)?.send(RunUssd { modem, code }).await??;
    Ok(HttpResponse::Ok().json(UssdView {
        mode: r.mode,
        text: r.text,
    }))
}

/// Ends the modem's open USSD session (a menu the network waits on).
#[utoipa::path(delete, path = "/api/modems/{id}/ussd", tag = "sms",
    security(("bearer" = [])),
    responses((status = 204, description = "Ended"), (status = 404, body = super::ErrorBody)))]
pub(super) async fn ussd_cancel(
    who: Writer,
    src: web::Data<Sources>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let modem = modem_id(&id)?;
    who.audit("ussd cancel", modem.as_str());
    center(&src)?.send(CancelUssd { modem }).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// Reads a SIM's balance now with its operator's `[[ussd.balance]]` rule.
#[utoipa::path(post, path = "/api/modems/{id}/balance", tag = "sms",
    security(("bearer" = [])),
    responses((status = 200, body = BalanceView), (status = 404, body = super::ErrorBody),
              (status = 503, body = super::ErrorBody)))]
pub(super) async fn balance(
    who: Writer,
    src: web::Data<Sources>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let modem = modem_id(&id)?;
    who.audit("balance check", modem.as_str());
    let b = center(&src)?.send(CheckBalance { modem }).await??;
    let low = src.low_balance.is_some_and(|l| b.cents < l);
    Ok(HttpResponse::Ok().json(BalanceView::new(b, low)))
}

/// Tops a SIM up with a voucher through its operator's recharge code.
#[utoipa::path(post, path = "/api/modems/{id}/recharge", tag = "sms", request_body = RechargeBody,
    security(("bearer" = [])),
    responses((status = 200, body = UssdView), (status = 400, body = super::ErrorBody),
              (status = 503, body = super::ErrorBody)))]
pub(super) async fn recharge(
    who: Writer,
    src: web::Data<Sources>,
    id: web::Path<String>,
    body: web::Json<RechargeBody>,
) -> Result<HttpResponse, ApiError> {
    let modem = modem_id(&id)?;
    let voucher = body.into_inner().voucher;
    if voucher.is_empty() || voucher.len() > 40 || !voucher.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::BadRequest(
            "voucher: must be 1 to 40 digits".into(),
        ));
    }
    who.audit("recharge", modem.as_str());
    let r = center(&src)?.send(Recharge { modem, voucher }).await??;
    Ok(HttpResponse::Ok().json(UssdView {
        mode: r.mode,
        text: r.text,
    }))
}

/// Every SIM's last balance.
#[utoipa::path(get, path = "/api/balances", tag = "sms",
    responses((status = 200, body = [BalanceView]), (status = 503, body = super::ErrorBody)))]
pub(super) async fn balances(src: web::Data<Sources>) -> Result<HttpResponse, ApiError> {
    let v: Vec<BalanceView> = match &src.sms {
        Some(c) => c
            .send(GetBalances)
            .await??
            .into_iter()
            .map(|(b, low)| BalanceView::new(b, low))
            .collect(),
        None => Vec::new(),
    };
    Ok(HttpResponse::Ok().json(v))
}
