//! Phone validation: the callee must parse, be valid for its region, and be of an allowed
//! region and type. Annotates the E.164 and national forms, the type and the region.

use serde::{Deserialize, Serialize};

use super::numbers::{type_name, TYPE_NAMES};
use super::pipeline::{Cx, Found};
use super::Act;
use crate::config::Problem;

/// `kind = "phone"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PhoneConfig {
    /// Regions calls may go to (`["BR"]`); empty: any.
    pub allowed_regions: Vec<String>,
    /// Number types calls may go to (`mobile`, `fixed_line`, `fixed_line_or_mobile`,
    /// `toll_free`, `premium_rate`, `shared_cost`, `voip`, `personal_number`, `uan`...);
    /// empty: any.
    pub allowed_types: Vec<String>,
    /// The callee is not a phone number at all.
    pub on_unparsable: Act,
    /// The callee parses but is not a valid number of its region.
    pub on_invalid: Act,
    /// The callee's region is not allowed.
    pub on_region: Act,
    /// The callee's type is not allowed.
    pub on_type: Act,
}

impl Default for PhoneConfig {
    fn default() -> Self {
        Self {
            allowed_regions: Vec::new(),
            allowed_types: Vec::new(),
            on_unparsable: Act::reject(484, "not a phone number"),
            on_invalid: Act::reject(484, "invalid number"),
            on_region: Act::reject(403, "region not allowed"),
            on_type: Act::reject(403, "number type not allowed"),
        }
    }
}

impl PhoneConfig {
    /// Checks regions, types and acts.
    pub fn validate(&self, key: &str, p: &mut Vec<Problem>) {
        for (i, r) in self.allowed_regions.iter().enumerate() {
            if super::numbers::region(r).is_none() {
                p.push(Problem::new(
                    format!("{key}.allowed_regions[{i}]"),
                    format!("{r:?} is not a region code (ISO 3166 alpha-2, e.g. \"BR\")"),
                ));
            }
        }
        for (i, t) in self.allowed_types.iter().enumerate() {
            if !TYPE_NAMES.contains(&t.as_str()) {
                p.push(Problem::new(
                    format!("{key}.allowed_types[{i}]"),
                    format!(
                        "{t:?} is not a number type (one of {})",
                        TYPE_NAMES.join(", ")
                    ),
                ));
            }
        }
        self.on_unparsable
            .validate(&format!("{key}.on_unparsable"), p);
        self.on_invalid.validate(&format!("{key}.on_invalid"), p);
        self.on_region.validate(&format!("{key}.on_region"), p);
        self.on_type.validate(&format!("{key}.on_type"), p);
    }
}

/// The phone stage, built.
#[derive(Debug, Clone)]
pub struct PhoneStage {
    cfg: PhoneConfig,
    regions: Vec<String>,
}

impl PhoneStage {
    /// From its config (validated).
    pub fn new(cfg: PhoneConfig) -> Self {
        let regions = cfg
            .allowed_regions
            .iter()
            .map(|r| r.trim().to_ascii_uppercase())
            .collect();
        Self { cfg, regions }
    }

    pub(crate) fn run(&self, cx: &mut Cx<'_>) -> Found {
        let Some(p) = cx.callee else {
            return Found::new("unparsable", &self.cfg.on_unparsable, &cx.req.callee);
        };
        let kind = type_name(p.kind);
        let region = p.region.clone().unwrap_or_default();
        let detail = format!("{} type={kind} region={region}", p.e164);
        cx.ann.e164 = Some(p.e164.clone());
        cx.ann.national = Some(p.national.clone());
        cx.ann.number_type = Some(kind.to_string());
        cx.ann.region = p.region.clone();
        if let Some(c) = cx.caller {
            cx.ann.caller_e164 = Some(c.e164.clone());
        }
        if !p.valid {
            return Found::new("invalid", &self.cfg.on_invalid, detail);
        }
        if !self.regions.is_empty() && !self.regions.contains(&region) {
            return Found::new("region", &self.cfg.on_region, detail);
        }
        if !self.cfg.allowed_types.is_empty() && !self.cfg.allowed_types.iter().any(|t| t == kind) {
            return Found::new("type", &self.cfg.on_type, detail);
        }
        Found::pass(detail)
    }
}
