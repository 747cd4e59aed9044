//! `[filter]`: the screening pipeline. Stages run in the order of `[[filter.stage]]`;
//! each has a `kind` and its own settings. This section reloads on file change and on
//! SIGHUP.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Problem;
use crate::filter::blacklist::BlacklistConfig;
use crate::filter::history::HistoryConfig;
use crate::filter::operator::OperatorConfig;
use crate::filter::phone::PhoneConfig;
use crate::filter::whatsapp::WhatsAppConfig;

/// The screening pipeline.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilterConfig {
    /// Screen calls (false: every call is allowed unscreened).
    pub enabled: bool,
    /// Region numbers without `+` are read in (ISO 3166 alpha-2).
    pub default_region: String,
    /// Per trunk name, the region its numbers are read in.
    pub trunk_regions: BTreeMap<String, String>,
    /// How long a whole screening may take before the call is allowed unscreened
    /// (each stage's own budget is smaller), ms.
    pub budget_ms: u64,
    /// The stages, in order.
    pub stage: Vec<StageConfig>,
}

impl Default for FilterConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            default_region: "BR".into(),
            trunk_regions: BTreeMap::new(),
            budget_ms: 1500,
            stage: Vec::new(),
        }
    }
}

/// One stage.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StageConfig {
    /// Blacklist and allowlist.
    Blacklist(BlacklistConfig),
    /// Phone number validation.
    Phone(PhoneConfig),
    /// WhatsApp presence.
    Whatsapp(WhatsAppConfig),
    /// Call history rules.
    History(HistoryConfig),
    /// Operator by prefix.
    Operator(OperatorConfig),
}

impl FilterConfig {
    /// Every file the stages read (relative paths as written), watched for reloads.
    pub fn files(&self) -> Vec<std::path::PathBuf> {
        let mut v = Vec::new();
        for s in &self.stage {
            match s {
                StageConfig::Blacklist(c) => v.extend(c.files.iter().cloned()),
                StageConfig::Operator(c) => v.extend(c.files.iter().cloned()),
                _ => {}
            }
        }
        v
    }

    /// Checks what serde cannot (files are read by [`crate::filter::Rules::build`]).
    pub fn validate(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        if crate::filter::numbers::region(&self.default_region).is_none() {
            p.push(Problem::new(
                "filter.default_region",
                format!(
                    "{:?} is not a region code (e.g. \"BR\")",
                    self.default_region
                ),
            ));
        }
        for (t, r) in &self.trunk_regions {
            if crate::filter::numbers::region(r).is_none() {
                p.push(Problem::new(
                    format!("filter.trunk_regions.{t}"),
                    format!("{r:?} is not a region code (e.g. \"BR\")"),
                ));
            }
        }
        if !(10..=30_000).contains(&self.budget_ms) {
            p.push(Problem::new(
                "filter.budget_ms",
                "must be between 10 and 30000",
            ));
        }
        for (i, s) in self.stage.iter().enumerate() {
            let key = format!("filter.stage[{i}]");
            match s {
                StageConfig::Blacklist(_) => {}
                StageConfig::Phone(c) => c.validate(&key, &mut p),
                StageConfig::Whatsapp(c) => c.validate(&key, &mut p),
                StageConfig::History(c) => c.validate(&key, &mut p),
                StageConfig::Operator(c) => c.validate(&key, &mut p),
            }
        }
        p
    }
}
