//! Call history rules (placeholder until they land: passes every call).

use serde::{Deserialize, Serialize};

use super::pipeline::{Cx, Found, Run};
use super::Answer;
use crate::config::Problem;

/// `kind = "history"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfig {}

impl HistoryConfig {
    /// Checks the settings.
    pub fn validate(&self, _key: &str, _p: &mut Vec<Problem>) {}
}

/// What the stage asks the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    /// The callee (E.164 or as received).
    pub callee: String,
    /// How long the call may wait, ms.
    pub budget_ms: u64,
}

/// Runs the store queries `q` needs.
pub async fn fetch(
    _store: &dyn crate::ports::HistoryStore,
    _q: &HistoryQuery,
) -> Result<HistoryFacts, crate::ports::StoreError> {
    Ok(HistoryFacts::default())
}

/// What the store answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryFacts {}

/// The stage, built.
#[derive(Debug, Clone)]
pub struct HistoryStage {
    #[allow(dead_code)]
    cfg: HistoryConfig,
}

impl HistoryStage {
    /// From its config.
    pub fn new(cfg: HistoryConfig) -> Self {
        Self { cfg }
    }

    pub(crate) fn run(&self, _cx: &mut Cx<'_>) -> Run {
        Run::Found(Found::pass("no rules"))
    }

    pub(crate) fn resume(&self, _cx: &mut Cx<'_>, _a: Answer) -> Found {
        Found::pass("no rules")
    }
}
