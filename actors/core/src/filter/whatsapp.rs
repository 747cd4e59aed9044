//! WhatsApp presence check (placeholder until the provider lands: passes every call).

use serde::{Deserialize, Serialize};

use super::pipeline::{Cx, Found, Run};
use super::{Act, Answer, Lookup};
use crate::config::Problem;

/// `kind = "whatsapp"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WhatsAppConfig {
    /// How long a call may wait for the answer, ms.
    pub budget_ms: u64,
    /// The number is not on WhatsApp.
    pub on_absent: Act,
    /// The provider failed (timeout, error, breaker open).
    pub on_failure: Act,
}

impl Default for WhatsAppConfig {
    fn default() -> Self {
        Self {
            budget_ms: 300,
            on_absent: Act::divert("no whatsapp"),
            on_failure: Act::Continue,
        }
    }
}

impl WhatsAppConfig {
    /// Checks the settings.
    pub fn validate(&self, key: &str, p: &mut Vec<Problem>) {
        self.on_absent.validate(&format!("{key}.on_absent"), p);
        self.on_failure.validate(&format!("{key}.on_failure"), p);
    }
}

/// The stage, built.
#[derive(Debug, Clone)]
pub struct WhatsAppStage {
    cfg: WhatsAppConfig,
}

impl WhatsAppStage {
    /// From its config.
    pub fn new(cfg: WhatsAppConfig) -> Self {
        Self { cfg }
    }

    pub(crate) fn run(&self, cx: &mut Cx<'_>) -> Run {
        match &cx.ann.e164 {
            Some(e) => Run::Need(Lookup::Presence {
                e164: e.clone(),
                budget_ms: self.cfg.budget_ms,
            }),
            None => Run::Found(Found::pass("no E.164 number")),
        }
    }

    pub(crate) fn resume(&self, cx: &mut Cx<'_>, a: Answer) -> Found {
        match a {
            Answer::Presence {
                result: Ok(true), ..
            } => {
                cx.ann.tag("whatsapp");
                Found::pass("present")
            }
            Answer::Presence {
                result: Ok(false), ..
            } => Found::new("absent", &self.cfg.on_absent, "absent"),
            Answer::Presence { result: Err(e), .. } => {
                Found::new("failure", &self.cfg.on_failure, e.to_string())
            }
            _ => Found::pass("unexpected answer"),
        }
    }
}
