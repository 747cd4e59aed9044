//! A generic HTTP lookup on `reqwest`: fills the URL (and body) template, sends the
//! credential from the environment, reads the JSON answer at a pointer.

use std::time::Duration;

use e173gw_core::config::lookup::{HttpLookupConfig, LookupMethod};

/// Most bytes of an answer read.
const MAX_ANSWER: usize = 64 * 1024;

/// Why a lookup gave no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The environment variable holding the credential is not set.
    #[error("environment variable {0} (the provider's credential) is not set")]
    MissingCredential(String),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
    /// No answer in time.
    #[error("timeout")]
    Timeout,
    /// Connection refused, reset, DNS...
    #[error("transport: {0}")]
    Transport(String),
    /// A status other than 2xx.
    #[error("HTTP {0}")]
    Status(u16),
    /// The body is not JSON, too big, or has nothing at the pointer.
    #[error("bad answer: {0}")]
    BadAnswer(String),
}

/// An HTTP client that gives up after `timeout` and follows no redirect (a service
/// answers itself; a redirect is an answer we do not follow).
pub(crate) fn client_builder(timeout: Duration) -> reqwest::ClientBuilder {
    // reqwest's TLS needs a crypto provider; installing it twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
}

/// One configured provider.
#[derive(Debug, Clone)]
pub struct HttpLookup {
    cfg: HttpLookupConfig,
    auth: Option<(String, String)>,
    client: reqwest::Client,
}

impl HttpLookup {
    /// A provider for `cfg`, reading its credential from the environment now; requests
    /// give up after `timeout`.
    pub fn new(cfg: HttpLookupConfig, timeout: Duration) -> Result<Self, ProviderError> {
        let auth = match (&cfg.auth_header, &cfg.auth_env) {
            (Some(h), Some(var)) => {
                let v = std::env::var(var)
                    .map_err(|_| ProviderError::MissingCredential(var.clone()))?;
                Some((h.clone(), format!("{}{v}", cfg.auth_prefix)))
            }
            _ => None,
        };
        let client = client_builder(timeout)
            .pool_max_idle_per_host(32)
            .build()
            .map_err(|e| ProviderError::Client(e.to_string()))?;
        Ok(Self { cfg, auth, client })
    }

    /// The value at the configured pointer in the answer for `e164`.
    pub async fn fetch(&self, e164: &str) -> Result<serde_json::Value, ProviderError> {
        let url = self.cfg.url_for(e164);
        let mut rq = match self.cfg.method {
            LookupMethod::Get => self.client.get(&url),
            LookupMethod::Post => self.client.post(&url),
        };
        if let Some(b) = self.cfg.body_for(e164) {
            rq = rq.header("Content-Type", "application/json").body(b);
        }
        if let Some((h, v)) = &self.auth {
            rq = rq.header(h.as_str(), v.as_str());
        }
        let mut resp = rq.send().await.map_err(classify)?;
        if !resp.status().is_success() {
            return Err(ProviderError::Status(resp.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_ANSWER {
                return Err(ProviderError::BadAnswer(format!(
                    "more than {MAX_ANSWER} bytes"
                )));
            }
        }
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| ProviderError::BadAnswer(format!("not JSON: {e}")))?;
        v.pointer(&self.cfg.answer)
            .cloned()
            .ok_or_else(|| ProviderError::BadAnswer(format!("nothing at {}", self.cfg.answer)))
    }
}

fn classify(e: reqwest::Error) -> ProviderError {
    if e.is_timeout() {
        ProviderError::Timeout
    } else {
        ProviderError::Transport(e.to_string())
    }
}
