//! `/api/blacklist` (the stored blacklist: list, add, remove) and `/api/sticky/{key}`
//! (sticky routes: view, pin, delete). The filter reads the blacklist again right after a
//! change, so the next call sees it.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use e173gw_actors::filter::RefreshBlacklist;
use e173gw_core::ports::{BlacklistEntry, MatchKind, PartyScope};

use super::ApiError;
use crate::http::auth::Writer;
use crate::http::Sources;

/// A blacklist entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BlacklistView {
    /// Digits, with an optional leading `+`.
    pub pattern: String,
    /// `exact` or `prefix`.
    pub kind: String,
    /// `caller`, `callee` or `both`.
    pub party: String,
    /// Why.
    pub reason: String,
    /// Added (Unix ms).
    pub created_ms: u64,
    /// Stops applying (Unix ms); absent: never.
    pub expires_ms: Option<u64>,
}

impl From<&BlacklistEntry> for BlacklistView {
    fn from(e: &BlacklistEntry) -> Self {
        Self {
            pattern: e.pattern.clone(),
            kind: e.kind.as_str().into(),
            party: e.party.as_str().into(),
            reason: e.reason.clone(),
            created_ms: e.created_ms,
            expires_ms: e.expires_ms,
        }
    }
}

/// A new entry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewEntry {
    /// Digits, with an optional leading `+` (1..=20 digits).
    pattern: String,
    /// `exact` (default) or `prefix`.
    kind: Option<String>,
    /// `callee` (default), `caller` or `both`.
    party: Option<String>,
    /// Why (at most 200 characters).
    reason: Option<String>,
    /// Applies for this many seconds; absent: until removed.
    ttl_s: Option<u64>,
}

/// Which entry to remove.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct EntryKey {
    /// The pattern.
    pattern: String,
    /// `exact` (default) or `prefix`.
    kind: Option<String>,
    /// `callee` (default), `caller` or `both`.
    party: Option<String>,
}

/// Checks a number or pattern named `what`: 1..=20 digits, with an optional leading `+`.
pub fn check_digits(what: &str, p: &str) -> Result<(), ApiError> {
    let digits = p.strip_prefix('+').unwrap_or(p);
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::BadRequest(format!(
            "{what} {p:?}: must be 1 to 20 digits, with an optional leading +"
        )));
    }
    Ok(())
}

fn check_pattern(p: &str) -> Result<(), ApiError> {
    check_digits("pattern", p)
}

fn kind_of(k: Option<&str>) -> Result<MatchKind, ApiError> {
    let k = k.unwrap_or("exact");
    MatchKind::parse(k)
        .ok_or_else(|| ApiError::BadRequest(format!("kind {k:?}: must be exact or prefix")))
}

fn party_of(p: Option<&str>) -> Result<PartyScope, ApiError> {
    let p = p.unwrap_or("callee");
    PartyScope::parse(p)
        .ok_or_else(|| ApiError::BadRequest(format!("party {p:?}: must be caller, callee or both")))
}

impl NewEntry {
    fn entry(self, now_ms: u64) -> Result<BlacklistEntry, ApiError> {
        check_pattern(&self.pattern)?;
        let reason = self.reason.unwrap_or_default();
        super::check_text("reason", &reason, 200)?;
        let expires_ms = match self.ttl_s {
            Some(0) => return Err(ApiError::BadRequest("ttl_s: must be above 0".into())),
            Some(t) => Some(now_ms.saturating_add(t.saturating_mul(1000))),
            None => None,
        };
        Ok(BlacklistEntry {
            pattern: self.pattern,
            kind: kind_of(self.kind.as_deref())?,
            party: party_of(self.party.as_deref())?,
            reason: if reason.is_empty() {
                "added through the API".into()
            } else {
                reason
            },
            created_ms: now_ms,
            expires_ms,
        })
    }
}

/// The stored blacklist (entries in force).
#[utoipa::path(get, path = "/api/blacklist", tag = "screening",
    responses((status = 200, body = [BlacklistView]), (status = 503, body = super::ErrorBody)))]
pub(super) async fn blacklist_list(src: web::Data<Sources>) -> Result<HttpResponse, ApiError> {
    let l = src.stores.blacklist.list(e173gw_actors::wall_ms()).await?;
    let v: Vec<BlacklistView> = l.iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(v))
}

/// Adds (or replaces) an entry.
#[utoipa::path(post, path = "/api/blacklist", tag = "screening", request_body = NewEntry,
    security(("bearer" = [])),
    responses((status = 201, body = BlacklistView), (status = 400, body = super::ErrorBody),
              (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub(super) async fn blacklist_add(
    who: Writer,
    src: web::Data<Sources>,
    body: web::Json<NewEntry>,
) -> Result<HttpResponse, ApiError> {
    let e = body.into_inner().entry(e173gw_actors::wall_ms())?;
    src.stores.blacklist.add(&e).await?;
    src.filter.do_send(RefreshBlacklist);
    who.audit(
        "blacklist add",
        &format!(
            "{} {} {} ({})",
            e.pattern,
            e.kind.as_str(),
            e.party.as_str(),
            e.reason
        ),
    );
    Ok(HttpResponse::Created().json(BlacklistView::from(&e)))
}

/// Removes an entry.
#[utoipa::path(delete, path = "/api/blacklist", tag = "screening", params(EntryKey),
    security(("bearer" = [])),
    responses((status = 204, description = "Removed"), (status = 404, body = super::ErrorBody),
              (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub(super) async fn blacklist_remove(
    who: Writer,
    src: web::Data<Sources>,
    q: web::Query<EntryKey>,
) -> Result<HttpResponse, ApiError> {
    check_pattern(&q.pattern)?;
    let kind = kind_of(q.kind.as_deref())?;
    let party = party_of(q.party.as_deref())?;
    if !src.stores.blacklist.remove(&q.pattern, kind, party).await? {
        return Err(ApiError::NotFound(format!(
            "no {} {} entry {:?}",
            kind.as_str(),
            party.as_str(),
            q.pattern
        )));
    }
    src.filter.do_send(RefreshBlacklist);
    who.audit(
        "blacklist remove",
        &format!("{} {} {}", q.pattern, kind.as_str(), party.as_str()),
    );
    Ok(HttpResponse::NoContent().finish())
}

/// A sticky route.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StickyView {
    /// The key: the callee, `from:<caller>` or `<caller>><callee>` (`[routing] sticky_key`).
    pub key: String,
    /// The SIM (IMSI) or modem id it goes to.
    pub target: String,
    /// Expires (Unix ms).
    pub expires_ms: u64,
}

/// A pin.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Pin {
    /// The SIM's IMSI (follows the SIM to another modem) or a modem id.
    target: String,
    /// Lasts this many seconds (default `[routing] sticky_ttl_s`).
    ttl_s: Option<u64>,
}

fn check_key(k: &str) -> Result<(), ApiError> {
    if k.is_empty() || k.len() > 80 || k.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ApiError::BadRequest(format!(
            "sticky key {k:?}: 1 to 80 characters without spaces"
        )));
    }
    Ok(())
}

/// A sticky route.
#[utoipa::path(get, path = "/api/sticky/{key}", tag = "routing",
    params(("key" = String, Path, description = "The callee, from:<caller>, or <caller>><callee>")),
    responses((status = 200, body = StickyView), (status = 404, body = super::ErrorBody)))]
pub(super) async fn sticky_get(
    src: web::Data<Sources>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_key(&key)?;
    match src
        .stores
        .sticky
        .get(&key, e173gw_actors::wall_ms())
        .await?
    {
        Some(r) => Ok(HttpResponse::Ok().json(StickyView {
            key: key.into_inner(),
            target: r.target,
            expires_ms: r.expires_ms,
        })),
        None => Err(ApiError::NotFound(format!(
            "no sticky route for {:?}",
            key.as_str()
        ))),
    }
}

/// Pins a sticky route: calls under this key go to this SIM first.
#[utoipa::path(put, path = "/api/sticky/{key}", tag = "routing", request_body = Pin,
    params(("key" = String, Path, description = "The callee, from:<caller>, or <caller>><callee>")),
    security(("bearer" = [])),
    responses((status = 200, body = StickyView), (status = 400, body = super::ErrorBody),
              (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub(super) async fn sticky_pin(
    who: Writer,
    src: web::Data<Sources>,
    key: web::Path<String>,
    body: web::Json<Pin>,
) -> Result<HttpResponse, ApiError> {
    check_key(&key)?;
    let Pin { target, ttl_s } = body.into_inner();
    if target.is_empty()
        || target.len() > 32
        || !target
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(ApiError::BadRequest(format!(
            "target {target:?}: an IMSI or a modem id"
        )));
    }
    let ttl = match ttl_s {
        Some(0) => return Err(ApiError::BadRequest("ttl_s: must be above 0".into())),
        Some(t) => Duration::from_secs(t.min(366 * 86_400)),
        None => src.sticky_ttl,
    };
    let now = e173gw_actors::wall_ms();
    src.stores.sticky.set(&key, &target, now, ttl).await?;
    who.audit(
        "sticky pin",
        &format!("{} -> {target} for {} s", key.as_str(), ttl.as_secs()),
    );
    Ok(HttpResponse::Ok().json(StickyView {
        key: key.into_inner(),
        target,
        expires_ms: now.saturating_add(ttl.as_millis() as u64),
    }))
}

/// Deletes a sticky route.
#[utoipa::path(delete, path = "/api/sticky/{key}", tag = "routing",
    params(("key" = String, Path, description = "The callee, from:<caller>, or <caller>><callee>")),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted (or there was none)"),
              (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub(super) async fn sticky_remove(
    who: Writer,
    src: web::Data<Sources>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_key(&key)?;
    src.stores.sticky.remove(&key).await?;
    who.audit("sticky delete", key.as_str());
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_and_entries_are_checked() {
        for (p, ok) in [
            ("5511999", true),
            ("+5511999", true),
            ("1", true),
            ("", false),
            ("+", false),
            ("55 11", false),
            ("55a", false),
            ("++55", false),
            ("123456789012345678901", false),
        ] {
            assert_eq!(check_pattern(p).is_ok(), ok, "{p:?}");
        }
        let e = |kind: Option<&str>, party: Option<&str>, ttl_s: Option<u64>| NewEntry {
            pattern: "5511".into(),
            kind: kind.map(Into::into),
            party: party.map(Into::into),
            reason: None,
            ttl_s,
        };
        let made = e(None, None, Some(60)).entry(1000).expect("valid");
        assert_eq!(
            (made.kind, made.party),
            (MatchKind::Exact, PartyScope::Callee)
        );
        assert_eq!(made.expires_ms, Some(61_000));
        assert!(e(Some("prefix"), Some("both"), None).entry(0).is_ok());
        assert!(e(Some("regex"), None, None).entry(0).is_err());
        assert!(e(None, Some("anyone"), None).entry(0).is_err());
        assert!(e(None, None, Some(0)).entry(0).is_err());
        assert!(check_key("from:5511").is_ok());
        assert!(check_key("a b").is_err());
        assert!(check_key("").is_err());
    }
}
