//! Call history rules: what the store says about the callee (attempts per period,
//! consecutive failures, minimum interval, short-call share, numbers that never answer,
//! dead numbers learned from GSM causes), and what memory says about the caller and the
//! trunk (velocity, sequential scans), plus premium-rate (IRSF) destinations. Every rule
//! is off until its threshold is set. A store that is down or slow means "no data": the
//! finding is `degraded` (continue by default), never a rejection.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::pipeline::{Cx, Found, Run};
use super::{Act, Answer, Lookup};
use crate::at::cause::EndKind;
use crate::config::Problem;
use crate::ports::{HistoryStore, NumberHistory, Party, StoreError};

/// `kind = "history"`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfig {
    /// How long a call may wait for the store, ms.
    pub budget_ms: u64,
    /// Answered calls shorter than this are short, s.
    pub short_call_s: u64,
    /// Most attempts to one callee per `attempts_window_s` (0: off).
    pub max_attempts: u64,
    /// Window of `max_attempts`, s.
    pub attempts_window_s: u64,
    /// Most unanswered calls in a row to one callee within `failures_window_s` (0: off).
    pub max_consecutive_failures: u64,
    /// Window of `max_consecutive_failures`, s.
    pub failures_window_s: u64,
    /// Least time between two calls to one callee, s (0: off).
    pub min_interval_s: u64,
    /// Highest share of short calls among answered ones to one callee (0: off).
    pub max_short_share: f64,
    /// Answered calls needed before the share counts.
    pub short_min_answered: u64,
    /// Window of the short-call share, s.
    pub short_window_s: u64,
    /// A callee with at least `never_min_attempts` calls failed on its side (busy, no
    /// answer, rejected...) and no answer in this many days is refused (0: off).
    pub never_answered_days: u64,
    /// Attempts needed for `never_answered_days`.
    pub never_min_attempts: u64,
    /// A callee whose last call ended "unassigned" or "invalid number" within this many
    /// seconds is refused (0: off).
    pub dead_number_ttl_s: u64,
    /// Most distinct callees of one caller per hour (0: off).
    pub max_caller_callees_per_hour: u32,
    /// Callees in a row, each one more or less than the last, that make a scan (0: off).
    pub sequential_scan: u32,
    /// Most calls of one trunk per minute (0: off).
    pub max_trunk_calls_per_minute: u32,
    /// Premium-rate and IRSF destinations (E.164 prefixes, `+` included).
    pub premium_prefixes: Vec<String>,
    /// Acts per finding.
    pub on_too_many_attempts: Act,
    /// Too many unanswered in a row.
    pub on_consecutive_failures: Act,
    /// Called again too soon.
    pub on_too_soon: Act,
    /// Too many short calls.
    pub on_short_calls: Act,
    /// Never answers.
    pub on_never_answers: Act,
    /// Unassigned number.
    pub on_dead_number: Act,
    /// A caller dialling too many numbers.
    pub on_caller_velocity: Act,
    /// A caller scanning a range.
    pub on_sequential_scan: Act,
    /// A trunk over its rate.
    pub on_trunk_velocity: Act,
    /// A premium-rate destination.
    pub on_premium_destination: Act,
    /// The store did not answer (in time).
    pub on_degraded: Act,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            budget_ms: 200,
            short_call_s: 6,
            max_attempts: 0,
            attempts_window_s: 3600,
            max_consecutive_failures: 0,
            failures_window_s: 86_400,
            min_interval_s: 0,
            max_short_share: 0.0,
            short_min_answered: 10,
            short_window_s: 86_400,
            never_answered_days: 0,
            never_min_attempts: 3,
            dead_number_ttl_s: 0,
            max_caller_callees_per_hour: 0,
            sequential_scan: 0,
            max_trunk_calls_per_minute: 0,
            premium_prefixes: Vec::new(),
            on_too_many_attempts: Act::reject(403, "too many attempts to this number"),
            on_consecutive_failures: Act::reject(480, "number keeps failing"),
            on_too_soon: Act::reject(486, "number called too recently"),
            on_short_calls: Act::reject(403, "short-call pattern"),
            on_never_answers: Act::reject(480, "number never answers"),
            on_dead_number: Act::reject(404, "number unassigned"),
            on_caller_velocity: Act::reject(403, "caller dials too many numbers"),
            on_sequential_scan: Act::reject(403, "sequential number scan"),
            on_trunk_velocity: Act::reject(503, "trunk over its call rate"),
            on_premium_destination: Act::reject(403, "premium-rate destination"),
            on_degraded: Act::Continue,
        }
    }
}

impl HistoryConfig {
    /// Checks the settings.
    pub fn validate(&self, key: &str, p: &mut Vec<Problem>) {
        if !(1..=10_000).contains(&self.budget_ms) {
            p.push(Problem::new(
                format!("{key}.budget_ms"),
                "must be between 1 and 10000",
            ));
        }
        if !(0.0..=1.0).contains(&self.max_short_share) {
            p.push(Problem::new(
                format!("{key}.max_short_share"),
                "must be between 0 and 1",
            ));
        }
        for (name, v) in [
            ("attempts_window_s", self.attempts_window_s),
            ("failures_window_s", self.failures_window_s),
            ("short_window_s", self.short_window_s),
        ] {
            if v == 0 {
                p.push(Problem::new(format!("{key}.{name}"), "must be more than 0"));
            }
        }
        for (i, pr) in self.premium_prefixes.iter().enumerate() {
            let ok =
                pr.starts_with('+') && pr.len() > 1 && pr[1..].bytes().all(|b| b.is_ascii_digit());
            if !ok {
                p.push(Problem::new(
                    format!("{key}.premium_prefixes[{i}]"),
                    "must be + and digits, e.g. \"+882\"",
                ));
            }
        }
        for (name, a) in [
            ("on_too_many_attempts", &self.on_too_many_attempts),
            ("on_consecutive_failures", &self.on_consecutive_failures),
            ("on_too_soon", &self.on_too_soon),
            ("on_short_calls", &self.on_short_calls),
            ("on_never_answers", &self.on_never_answers),
            ("on_dead_number", &self.on_dead_number),
            ("on_caller_velocity", &self.on_caller_velocity),
            ("on_sequential_scan", &self.on_sequential_scan),
            ("on_trunk_velocity", &self.on_trunk_velocity),
            ("on_premium_destination", &self.on_premium_destination),
            ("on_degraded", &self.on_degraded),
        ] {
            a.validate(&format!("{key}.{name}"), p);
        }
    }

    /// The windows the store rules need (start offsets from now, ms), none when no store
    /// rule is on.
    fn windows(&self) -> Vec<u64> {
        let s = |x: u64| x.saturating_mul(1000);
        let mut w = BTreeSet::new();
        if self.max_attempts > 0 {
            w.insert(s(self.attempts_window_s));
        }
        if self.max_consecutive_failures > 0 {
            w.insert(s(self.failures_window_s));
        }
        if self.min_interval_s > 0 {
            w.insert(s(self.min_interval_s));
        }
        if self.max_short_share > 0.0 {
            w.insert(s(self.short_window_s));
        }
        if self.never_answered_days > 0 {
            w.insert(s(self.never_answered_days.saturating_mul(86_400)));
        }
        if self.dead_number_ttl_s > 0 {
            w.insert(s(self.dead_number_ttl_s));
        }
        w.into_iter().collect()
    }
}

/// What the stage asks the store: the callee's history over each window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    /// The callee as records store it (the number as received).
    pub callee: String,
    /// Window starts (Unix ms), one query each.
    pub since_ms: Vec<u64>,
    /// Short-call threshold, ms.
    pub short_call_ms: u64,
    /// How long the call may wait, ms.
    pub budget_ms: u64,
}

/// What the store answered: the history per window start, in the query's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryFacts {
    /// (window start, history).
    pub windows: Vec<(u64, NumberHistory)>,
}

/// Runs the store queries `q` needs.
pub async fn fetch(store: &dyn HistoryStore, q: &HistoryQuery) -> Result<HistoryFacts, StoreError> {
    let mut windows = Vec::with_capacity(q.since_ms.len());
    for &since in &q.since_ms {
        let h = store
            .number_history(Party::Callee, &q.callee, since, q.short_call_ms)
            .await?;
        windows.push((since, h));
    }
    Ok(HistoryFacts { windows })
}

/// The stage, built.
#[derive(Debug, Clone)]
pub struct HistoryStage {
    cfg: HistoryConfig,
    windows: Vec<u64>,
}

impl HistoryStage {
    /// From its config.
    pub fn new(cfg: HistoryConfig) -> Self {
        let windows = cfg.windows();
        Self { cfg, windows }
    }

    pub(crate) fn run(&self, cx: &mut Cx<'_>) -> Run {
        let c = &self.cfg;
        let e164 = cx.callee.map(|p| p.e164.clone());
        if let Some(e) = &e164 {
            if let Some(pr) = c
                .premium_prefixes
                .iter()
                .find(|p| e.starts_with(p.as_str()))
            {
                cx.ann.tag("premium");
                return Run::Found(Found::new(
                    "premium_destination",
                    &c.on_premium_destination,
                    format!("{e} under {pr}"),
                ));
            }
        }
        let memory_rules = c.max_caller_callees_per_hour > 0
            || c.sequential_scan > 0
            || c.max_trunk_calls_per_minute > 0;
        if memory_rules {
            let caller = cx
                .caller
                .map(|p| p.e164.clone())
                .unwrap_or_else(|| super::numbers::digits(&cx.req.caller).unwrap_or_default());
            let callee = e164
                .clone()
                .unwrap_or_else(|| super::numbers::digits(&cx.req.callee).unwrap_or_default());
            let o =
                cx.mem
                    .velocity
                    .observe(&caller, &callee, cx.req.trunk.as_deref(), cx.req.now_ms);
            if c.max_trunk_calls_per_minute > 0 && o.trunk_calls > c.max_trunk_calls_per_minute {
                return Run::Found(Found::new(
                    "trunk_velocity",
                    &c.on_trunk_velocity,
                    format!("{} calls in the last minute", o.trunk_calls),
                ));
            }
            if c.sequential_scan > 0 && o.sequential_run >= c.sequential_scan {
                return Run::Found(Found::new(
                    "sequential_scan",
                    &c.on_sequential_scan,
                    format!("{caller}: {} sequential numbers", o.sequential_run),
                ));
            }
            if c.max_caller_callees_per_hour > 0
                && o.distinct_callees > c.max_caller_callees_per_hour
            {
                return Run::Found(Found::new(
                    "caller_velocity",
                    &c.on_caller_velocity,
                    format!("{caller}: {} numbers in an hour", o.distinct_callees),
                ));
            }
        }
        if self.windows.is_empty() {
            return Run::Found(Found::pass("no store rules"));
        }
        let now = cx.req.now_ms;
        Run::Need(Lookup::History(HistoryQuery {
            callee: cx.req.callee.clone(),
            since_ms: self
                .windows
                .iter()
                .map(|w| now.saturating_sub(*w))
                .collect(),
            short_call_ms: c.short_call_s.saturating_mul(1000),
            budget_ms: c.budget_ms,
        }))
    }

    pub(crate) fn resume(&self, cx: &mut Cx<'_>, a: Answer) -> Found {
        let facts = match a {
            Answer::History(Ok(f)) => f,
            Answer::History(Err(e)) => {
                cx.ann.tag("history_degraded");
                return Found::new("degraded", &self.cfg.on_degraded, format!("store: {e}"));
            }
            _ => return Found::pass("no answer"),
        };
        let now = cx.req.now_ms;
        let of = |window_s: u64| -> NumberHistory {
            let since = now.saturating_sub(window_s.saturating_mul(1000));
            facts
                .windows
                .iter()
                .find(|(s, _)| *s == since)
                .map(|(_, h)| h.clone())
                .unwrap_or_default()
        };
        let brief = facts
            .windows
            .last()
            .map(|(_, h)| super::history_brief(h))
            .unwrap_or_default();
        evaluate(&self.cfg, now, &of, brief)
    }
}

/// The store rules over the histories, in order of how sure they are.
fn evaluate(
    c: &HistoryConfig,
    now: u64,
    of: &dyn Fn(u64) -> NumberHistory,
    brief: String,
) -> Found {
    if c.dead_number_ttl_s > 0 {
        let h = of(c.dead_number_ttl_s);
        if let Some(l) = &h.last {
            let recent = now.saturating_sub(l.at_ms) < c.dead_number_ttl_s.saturating_mul(1000);
            if recent
                && matches!(
                    l.gsm_end,
                    Some(EndKind::Unassigned | EndKind::InvalidNumber)
                )
            {
                return Found::new(
                    "dead_number",
                    &c.on_dead_number,
                    format!(
                        "last call {} s ago ended {:?}",
                        now.saturating_sub(l.at_ms) / 1000,
                        l.gsm_end
                    ),
                );
            }
        }
    }
    if c.never_answered_days > 0 {
        let h = of(c.never_answered_days.saturating_mul(86_400));
        // Only calls that reached the callee's network and failed there count.
        if h.answered == 0 && h.consecutive_failures >= c.never_min_attempts.max(1) {
            return Found::new(
                "never_answers",
                &c.on_never_answers,
                format!(
                    "{} attempts, none answered in {} days",
                    h.attempts, c.never_answered_days
                ),
            );
        }
    }
    if c.max_consecutive_failures > 0 {
        let h = of(c.failures_window_s);
        if h.consecutive_failures >= c.max_consecutive_failures {
            return Found::new(
                "consecutive_failures",
                &c.on_consecutive_failures,
                format!("{} unanswered in a row", h.consecutive_failures),
            );
        }
    }
    if c.max_attempts > 0 {
        let h = of(c.attempts_window_s);
        if h.attempts >= c.max_attempts {
            return Found::new(
                "too_many_attempts",
                &c.on_too_many_attempts,
                format!("{} attempts in {} s", h.attempts, c.attempts_window_s),
            );
        }
    }
    if c.min_interval_s > 0 {
        let h = of(c.min_interval_s);
        if let Some(l) = h
            .last
            .as_ref()
            .filter(|l| now.saturating_sub(l.at_ms) < c.min_interval_s.saturating_mul(1000))
        {
            return Found::new(
                "too_soon",
                &c.on_too_soon,
                format!("last call {} s ago", now.saturating_sub(l.at_ms) / 1000),
            );
        }
    }
    if c.max_short_share > 0.0 {
        let h = of(c.short_window_s);
        if h.answered >= c.short_min_answered.max(1) {
            let share = h.short_calls as f64 / h.answered as f64;
            if share > c.max_short_share {
                return Found::new(
                    "short_calls",
                    &c.on_short_calls,
                    format!("{} of {} answered calls short", h.short_calls, h.answered),
                );
            }
        }
    }
    Found::pass(brief)
}

#[cfg(test)]
mod tests;
