//! Who may write: every API write carries `Authorization: Bearer <token>` with the token
//! of `[http] api_token`. Reads are open (the server listens on loopback by default).
//! A write is audit-logged (target `audit`) with what it did once it is done.

use std::future::{ready, Ready};

use actix_web::{dev::Payload, FromRequest, HttpRequest};

use super::api::ApiError;

/// Why a write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No bearer token in the request: 401.
    Missing,
    /// A token, but not the configured one (or none is configured): 403.
    Wrong,
}

/// Checks the `Authorization` header value against the configured token (empty: writes
/// are off, so every token is wrong). The comparison takes the same time wherever the
/// first difference is.
pub fn check(configured: &str, header: Option<&str>) -> Result<(), Refusal> {
    let Some(h) = header.map(str::trim) else {
        return Err(Refusal::Missing);
    };
    let Some((scheme, token)) = h.split_once(' ') else {
        return Err(Refusal::Missing);
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Refusal::Missing);
    }
    let token = token.trim();
    if configured.is_empty() || !same(configured.as_bytes(), token.as_bytes()) {
        return Err(Refusal::Wrong);
    }
    Ok(())
}

fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The configured token, as app data.
#[derive(Clone)]
pub struct ApiToken(pub String);

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "ApiToken(unset)"
        } else {
            "ApiToken(set)"
        })
    }
}

/// An authorised writer: a handler that changes something takes one, so it cannot run
/// without the token. Carries what the audit line needs.
#[derive(Debug)]
pub struct Writer {
    method: String,
    path: String,
    peer: String,
}

impl Writer {
    /// Writes the audit line for a change that was made.
    pub fn audit(&self, action: &str, detail: &str) {
        tracing::info!(target: "audit", method = %self.method, path = %self.path, peer = %self.peer, action, detail, "API write.");
    }
}

impl FromRequest for Writer {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let configured = req
            .app_data::<actix_web::web::Data<ApiToken>>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let header = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let peer = req
            .peer_addr()
            .map_or_else(|| "-".to_string(), |a| a.to_string());
        let out = match check(&configured, header) {
            Ok(()) => Ok(Writer {
                method: req.method().to_string(),
                path: req.path().to_string(),
                peer,
            }),
            Err(r) => {
                tracing::warn!(target: "audit", method = %req.method(), path = %req.path(), peer = %peer, refusal = ?r, "API write refused.");
                Err(match r {
                    Refusal::Missing => ApiError::Unauthorized,
                    Refusal::Wrong => ApiError::Forbidden,
                })
            }
        };
        ready(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens() {
        let t = "0123456789abcdef";
        for (configured, header, want) in [
            (t, Some("Bearer 0123456789abcdef"), Ok(())),
            (t, Some("bearer 0123456789abcdef"), Ok(())),
            (t, Some("  Bearer   0123456789abcdef  "), Ok(())),
            (t, None, Err(Refusal::Missing)),
            (t, Some(""), Err(Refusal::Missing)),
            (t, Some("Bearer"), Err(Refusal::Missing)),
            (t, Some("Basic 0123456789abcdef"), Err(Refusal::Missing)),
            (t, Some("Bearer 0123456789abcdeF"), Err(Refusal::Wrong)),
            (t, Some("Bearer 0123456789abcde"), Err(Refusal::Wrong)),
            (t, Some("Bearer 0123456789abcdef0"), Err(Refusal::Wrong)),
            // No token configured: writes are off.
            ("", Some("Bearer "), Err(Refusal::Missing)),
            ("", Some("Bearer x"), Err(Refusal::Wrong)),
            ("", None, Err(Refusal::Missing)),
        ] {
            assert_eq!(check(configured, header), want, "{configured:?} {header:?}");
        }
    }
}
