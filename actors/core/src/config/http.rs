//! `[http]`: the operations HTTP server (`/metrics`, `/healthz`).

use serde::{Deserialize, Serialize};

use super::Problem;

/// `[http]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// `host:port` to listen on; empty turns the server off. Port 0 picks a free port
    /// (logged at start).
    pub listen: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9180".into(),
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
        if !self.listen.trim().is_empty() && self.addr().is_none() {
            return vec![Problem::new(
                "http.listen",
                "must be host:port with a literal IP address (e.g. 127.0.0.1:9180), or empty",
            )];
        }
        Vec::new()
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
            };
            assert_eq!(c.validate().is_empty(), ok, "{listen:?}");
            assert_eq!(c.addr().is_some(), on, "{listen:?}");
        }
    }
}
