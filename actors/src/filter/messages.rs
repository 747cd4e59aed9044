//! Messages of the filter actor.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix::prelude::*;

use e173gw_core::filter::{Request, Rules, Verdict};

/// Screen one call; the answer always comes (a lookup that runs out of budget counts as
/// that stage's failure, never as a hang).
#[derive(Message, Debug, Clone)]
#[rtype(result = "Verdict")]
pub struct Screen(pub Request);

/// Screen a number with the rules in force without counting it: the operations dry run
/// ("what would happen to this number, and why").
#[derive(Message, Debug, Clone)]
#[rtype(result = "Verdict")]
pub struct DryRun(pub Request);

/// Read the store's blacklist again now (it was edited).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct RefreshBlacklist;

/// New rules (a reload): calls being screened keep the rules they started with. New
/// lookups come with them when their providers changed.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct SwapRules(pub Arc<Rules>, pub Option<super::Lookups>);

/// A reload was refused (bad edit): counted, the old rules stay.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct ReloadRefused;

/// Read the counters.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "FilterStats")]
pub struct GetFilterStats;

/// Latency of one stage: a histogram in µs.
pub type Latency = e173gw_core::stats::Histogram;

pub use e173gw_core::stats::LATENCY_BOUNDS_US;

/// The filter's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterStats {
    /// Screenings by decision (`allow`, `reject`, `divert`).
    pub decisions: BTreeMap<String, u64>,
    /// Stage runs by (stage, finding, act).
    pub outcomes: BTreeMap<(String, String, String), u64>,
    /// Latency per stage.
    pub latency: BTreeMap<String, Latency>,
    /// Whole screenings' latency.
    pub total: Latency,
    /// The rules' version in force.
    pub rules_version: u64,
    /// Reloads applied and refused.
    pub reloads: u64,
    /// Reloads refused.
    pub reloads_refused: u64,
    /// Entries of the store's blacklist in memory.
    pub stored_blacklist: u64,
    /// Store blacklist refreshes that failed.
    pub blacklist_refresh_failures: u64,
}
