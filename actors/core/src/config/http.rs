//! `[http]`: the operations HTTP server: the web page, the API, `/metrics`, `/healthz`.

use serde::{Deserialize, Serialize};

use super::Problem;

/// `[http]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// `host:port` to listen on; empty turns the server off. Port 0 picks a free port
    /// (logged at start).
    pub listen: String,
    /// The bearer token every API write needs (`Authorization: Bearer <token>`); empty:
    /// writes are refused. Set it here or with `E173GW_HTTP__API_TOKEN`.
    pub api_token: String,
    /// Ladders (SIP messages and AT lines of a call) of this many recent calls are kept
    /// in memory for `/api/ladder`; 0 keeps only traced numbers' (`/api/trace`).
    pub ladder_calls: usize,
}

/// The shortest API token accepted.
pub const MIN_TOKEN_LEN: usize = 16;

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9180".into(),
            api_token: String::new(),
            ladder_calls: 200,
        }
    }
}

impl HttpConfig {
    /// The address to listen on, if the server is on.
    pub fn addr(&self) -> Option<std::net::SocketAddr> {
        self.listen.trim().parse().ok()
    }

    /// Checks the section.
    pub fn validate(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if !self.listen.trim().is_empty() && self.addr().is_none() {
            out.push(Problem::new(
                "http.listen",
                "must be host:port with a literal IP address (e.g. 127.0.0.1:9180), or empty",
            ));
        }
        let t = &self.api_token;
        if !t.is_empty() && (t.len() < MIN_TOKEN_LEN || !t.chars().all(|c| c.is_ascii_graphic())) {
            out.push(Problem::new(
                "http.api_token",
                format!(
                    "must be at least {MIN_TOKEN_LEN} printable ASCII characters without spaces, or empty (writes off)"
                ),
            ));
        }
        if self.ladder_calls > 10_000 {
            out.push(Problem::new(
                "http.ladder_calls",
                "must be 0 to 10000 (each ladder holds up to 400 lines)",
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_is_an_address_or_empty() {
        for (listen, ok, on) in [
            ("127.0.0.1:9180", true, true),
            ("[::1]:0", true, true),
            ("", true, false),
            ("  ", true, false),
            ("localhost:9180", false, false),
            ("127.0.0.1", false, false),
        ] {
            let c = HttpConfig {
                listen: listen.into(),
                ..HttpConfig::default()
            };
            assert_eq!(c.validate().is_empty(), ok, "{listen:?}");
            assert_eq!(c.addr().is_some(), on, "{listen:?}");
        }
    }

    #[test]
    fn a_token_is_long_and_printable_or_empty() {
        for (token, ok) in [
            ("", true),
            ("0123456789abcdef", true),
            ("short", false),
            ("0123456789abcde", false),
            ("0123456789 abcdef", false),
            ("0123456789abcdef\n", false),
        ] {
            let c = HttpConfig {
                api_token: token.into(),
                ..HttpConfig::default()
            };
            let p = c.validate();
            assert_eq!(p.is_empty(), ok, "{token:?}");
            assert!(p.iter().all(|p| p.key == "http.api_token"), "{p:?}");
        }
    }
}
