//! Operator by longest prefix (placeholder until the tables land: passes every call).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::pipeline::{Cx, Found, Run};
use super::Answer;
use crate::config::Problem;

/// `kind = "operator"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OperatorConfig {}

impl OperatorConfig {
    /// Checks the settings.
    pub fn validate(&self, _key: &str, _p: &mut Vec<Problem>) {}
}

/// Operators learned per number.
#[derive(Debug, Default)]
pub struct Learned {}

/// The stage, built.
#[derive(Debug, Clone)]
pub struct OperatorStage {
    #[allow(dead_code)]
    cfg: OperatorConfig,
}

impl OperatorStage {
    /// Reads the tables.
    pub fn build(cfg: OperatorConfig, _base: &Path, _key: &str) -> Result<Self, Vec<Problem>> {
        Ok(Self { cfg })
    }

    pub(crate) fn run(&self, _cx: &mut Cx<'_>) -> Run {
        Run::Found(Found::pass("no table"))
    }

    pub(crate) fn resume(&self, _cx: &mut Cx<'_>, _a: Answer) -> Found {
        Found::pass("no table")
    }
}
