//! WhatsApp presence: is the callee on WhatsApp? The answer comes from a provider (see
//! [`crate::config::lookup`]) through the owner's guard (cache, breaker, concurrency
//! limit) within the stage's time budget. A number not on WhatsApp is usually a dead or
//! fake one; the default is to divert it to the AI agent. A failing provider never holds
//! a call longer than the budget; what then happens is `on_failure`.

use serde::{Deserialize, Serialize};

use super::guard::GuardConfig;
use super::pipeline::{Cx, Found, Run};
use super::{Act, Answer, Lookup};
use crate::config::lookup::HttpLookupConfig;
use crate::config::Problem;

/// `kind = "whatsapp"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WhatsAppConfig {
    /// Where to ask (none: every lookup fails as "no provider").
    pub provider: Option<HttpLookupConfig>,
    /// How long a call may wait for the answer, ms.
    pub budget_ms: u64,
    /// Cache, concurrency limit, breaker.
    #[serde(flatten)]
    pub guard: GuardConfig,
    /// Only numbers of these types are checked (default: mobile ones).
    pub check_types: Vec<String>,
    /// The number is not on WhatsApp.
    pub on_absent: Act,
    /// The provider failed (timeout, error, breaker open, too many in flight): `continue`
    /// (allow), `divert` or `reject`.
    pub on_failure: Act,
}

impl Default for WhatsAppConfig {
    fn default() -> Self {
        Self {
            provider: None,
            budget_ms: 300,
            guard: GuardConfig::default(),
            check_types: vec!["mobile".into(), "fixed_line_or_mobile".into()],
            on_absent: Act::divert("no whatsapp"),
            on_failure: Act::Continue,
        }
    }
}

impl WhatsAppConfig {
    /// Checks the settings.
    pub fn validate(&self, key: &str, p: &mut Vec<Problem>) {
        if let Some(pr) = &self.provider {
            pr.validate(&format!("{key}.provider"), p);
        }
        if !(1..=10_000).contains(&self.budget_ms) {
            p.push(Problem::new(
                format!("{key}.budget_ms"),
                "must be between 1 and 10000",
            ));
        }
        self.guard.validate(key, p);
        for (i, t) in self.check_types.iter().enumerate() {
            if !super::numbers::TYPE_NAMES.contains(&t.as_str()) {
                p.push(Problem::new(
                    format!("{key}.check_types[{i}]"),
                    format!("{t:?} is not a number type"),
                ));
            }
        }
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

    /// Its settings (the owner builds the provider and guard from them).
    pub fn config(&self) -> &WhatsAppConfig {
        &self.cfg
    }

    pub(crate) fn run(&self, cx: &mut Cx<'_>) -> Run {
        let Some(p) = cx.callee else {
            return Run::Found(Found::pass("not a phone number: not checked"));
        };
        let kind = super::numbers::type_name(p.kind);
        if !self.cfg.check_types.is_empty() && !self.cfg.check_types.iter().any(|t| t == kind) {
            return Run::Found(Found::pass(format!("{kind}: not checked")));
        }
        Run::Need(Lookup::Presence {
            e164: p.e164.clone(),
            budget_ms: self.cfg.budget_ms,
        })
    }

    pub(crate) fn resume(&self, cx: &mut Cx<'_>, a: Answer) -> Found {
        let Answer::Presence { result, cached } = a else {
            return Found::pass("no answer");
        };
        let from = if cached { "cached" } else { "provider" };
        match result {
            Ok(true) => {
                cx.ann.tag("whatsapp");
                Found::pass(format!("present ({from})"))
            }
            Ok(false) => Found::new("absent", &self.cfg.on_absent, format!("absent ({from})")),
            Err(e) => Found::new("failure", &self.cfg.on_failure, e.to_string()),
        }
    }
}
