//! The routing policy: which SIMs may take a call, in which order, and why. Pure: it takes
//! snapshots of the modems and the call's facts and returns a ranking with a reason for
//! every rank and every removal ("why this SIM").
//!
//! Order of the rules:
//! 1. removals: excluded after a failure, not available, leased to another call, rested
//!    (SIM protection), daily call or minute limit reached, minimum pause not over;
//! 2. the sticky SIM first, when it is left;
//! 3. operator affinity: SIMs of the callee's operator (on-net), then the configured
//!    fallback order of operators, then the rest;
//! 4. balancing among equals: least calls today, least minutes today, or round robin.
//!
//! When nothing is left the answer is a status: 480 when limits or protection removed the
//! SIMs that were otherwise free, 503 (with Retry-After) when they are all busy or there
//! are none.

use serde::{Deserialize, Serialize};

/// How equals are ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    /// Fewest calls today first (then the longest idle).
    #[default]
    LeastCalls,
    /// Fewest minutes today first.
    LeastMinutes,
    /// In turn, from a cursor the caller keeps.
    RoundRobin,
    /// Fewest calls today per unit of weight (a SIM of weight 2 takes twice the calls).
    Weighted,
}

/// Policy settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// Prefer SIMs of the callee's operator.
    pub operator_affinity: bool,
    /// After on-net SIMs, these operators in this order.
    pub operator_fallback: Vec<String>,
    /// How equals are ordered.
    pub balance: Balance,
}

/// Limits of one SIM (`None`: no limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimLimits {
    /// Calls per day.
    pub calls_per_day: Option<u32>,
    /// Minutes per day.
    pub minutes_per_day: Option<u32>,
    /// Calls per month.
    pub calls_per_month: Option<u32>,
    /// Minutes per month.
    pub minutes_per_month: Option<u32>,
    /// Least time between the end of a call and the next one, s.
    pub min_pause_s: Option<u32>,
    /// Longest call on this SIM, s (the call is hung up then; not a removal).
    pub max_call_s: Option<u32>,
}

impl SimLimits {
    /// Each limit of `self`, or else of `base`.
    pub fn or(self, base: Self) -> Self {
        Self {
            calls_per_day: self.calls_per_day.or(base.calls_per_day),
            minutes_per_day: self.minutes_per_day.or(base.minutes_per_day),
            calls_per_month: self.calls_per_month.or(base.calls_per_month),
            minutes_per_month: self.minutes_per_month.or(base.minutes_per_month),
            min_pause_s: self.min_pause_s.or(base.min_pause_s),
            max_call_s: self.max_call_s.or(base.max_call_s),
        }
    }
}

/// What the policy sees of one modem.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimView {
    /// Modem id.
    pub id: String,
    /// Registered, SIM ready, not in a call.
    pub available: bool,
    /// Handed to another call.
    pub leased: bool,
    /// The SIM's operator (today's name).
    pub operator: Option<String>,
    /// Calls today.
    pub calls_today: u32,
    /// Minutes today.
    pub minutes_today: u32,
    /// Calls this month.
    pub calls_month: u32,
    /// Minutes this month.
    pub minutes_month: u32,
    /// Share of the calls under [`Balance::Weighted`] (0 counts as 1).
    pub weight: u32,
    /// When its last call ended (Unix ms).
    pub last_end_ms: Option<u64>,
    /// Rested by SIM protection until then (Unix ms), and why.
    pub rested: Option<(u64, String)>,
    /// Its limits.
    pub limits: SimLimits,
}

/// The call's facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallFacts {
    /// The callee's operator, from screening.
    pub callee_operator: Option<String>,
    /// The sticky route's SIM, if any.
    pub sticky: Option<String>,
    /// Modems that failed this call already.
    pub exclude: Vec<String>,
    /// Now (Unix ms).
    pub now_ms: u64,
}

/// Why a SIM was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// It failed this call already.
    Excluded,
    /// Not available (not registered, no SIM, in a call, recovering).
    Unavailable,
    /// Leased to another call.
    Leased,
    /// Rested by SIM protection.
    Rested(String),
    /// A limit is reached.
    Limit(String),
}

impl Removal {
    /// Whether the SIM will be free by itself shortly (busy, not blocked).
    fn is_busy(&self) -> bool {
        matches!(self, Self::Unavailable | Self::Leased)
    }

    /// For "why this SIM".
    pub fn describe(&self) -> String {
        match self {
            Self::Excluded => "failed this call already".into(),
            Self::Unavailable => "not available".into(),
            Self::Leased => "in use by another call".into(),
            Self::Rested(why) => format!("rested: {why}"),
            Self::Limit(why) => why.clone(),
        }
    }
}

/// The policy's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranking {
    /// SIMs that may take the call, best first, each with why it is there.
    pub ranked: Vec<(String, String)>,
    /// SIMs left out, and why.
    pub removed: Vec<(String, Removal)>,
}

impl Ranking {
    /// Whether `id` was left out only because it is busy (it may free up shortly).
    pub fn is_busy(&self, id: &str) -> bool {
        self.removed.iter().any(|(r, why)| r == id && why.is_busy())
    }

    /// "Why this SIM": one line per candidate, the ranked ones first.
    pub fn explain(&self) -> Vec<String> {
        let ranked = self
            .ranked
            .iter()
            .enumerate()
            .map(|(i, (id, why))| format!("#{} {id}: {why}", i + 1));
        let removed = self
            .removed
            .iter()
            .map(|(id, r)| format!("- {id}: {}", r.describe()));
        ranked.chain(removed).collect()
    }

    /// The status for a call nothing can take: 480 when limits or protection removed the
    /// SIMs, 503 when they are busy or there are none.
    pub fn no_route_status(&self) -> u16 {
        let blocked = self
            .removed
            .iter()
            .any(|(_, r)| matches!(r, Removal::Rested(_) | Removal::Limit(_)));
        let busy = self.removed.iter().any(|(_, r)| r.is_busy());
        if blocked && !busy {
            480
        } else {
            503
        }
    }
}

fn removal(s: &SimView, call: &CallFacts) -> Option<Removal> {
    if call.exclude.contains(&s.id) {
        return Some(Removal::Excluded);
    }
    if let Some((until, why)) = &s.rested {
        if *until > call.now_ms {
            return Some(Removal::Rested(why.clone()));
        }
    }
    let l = &s.limits;
    if let Some(max) = l.calls_per_day.filter(|m| s.calls_today >= *m) {
        return Some(Removal::Limit(format!(
            "daily calls reached ({}/{max})",
            s.calls_today
        )));
    }
    if let Some(max) = l.minutes_per_day.filter(|m| s.minutes_today >= *m) {
        return Some(Removal::Limit(format!(
            "daily minutes reached ({}/{max})",
            s.minutes_today
        )));
    }
    if let Some(max) = l.calls_per_month.filter(|m| s.calls_month >= *m) {
        return Some(Removal::Limit(format!(
            "monthly calls reached ({}/{max})",
            s.calls_month
        )));
    }
    if let Some(max) = l.minutes_per_month.filter(|m| s.minutes_month >= *m) {
        return Some(Removal::Limit(format!(
            "monthly minutes reached ({}/{max})",
            s.minutes_month
        )));
    }
    if let (Some(p), Some(end)) = (l.min_pause_s, s.last_end_ms) {
        let since = call.now_ms.saturating_sub(end);
        if since < u64::from(p) * 1000 {
            return Some(Removal::Limit(format!(
                "pause: last call ended {} s ago (at least {p} s)",
                since / 1000
            )));
        }
    }
    if s.leased {
        return Some(Removal::Leased);
    }
    if !s.available {
        return Some(Removal::Unavailable);
    }
    None
}

/// Ranks `sims` for `call`. `cursor` is the round-robin position (the caller advances it).
pub fn rank(cfg: &PolicyConfig, call: &CallFacts, sims: &[SimView], cursor: usize) -> Ranking {
    let mut removed = Vec::new();
    let mut left: Vec<(usize, &SimView)> = Vec::new();
    for (i, s) in sims.iter().enumerate() {
        match removal(s, call) {
            Some(r) => removed.push((s.id.clone(), r)),
            None => left.push((i, s)),
        }
    }
    let tier = |s: &SimView| -> (u8, usize) {
        if call.sticky.as_deref() == Some(s.id.as_str()) {
            return (0, 0);
        }
        if !cfg.operator_affinity {
            return (3, 0);
        }
        match (&call.callee_operator, &s.operator) {
            (Some(c), Some(o)) if c.eq_ignore_ascii_case(o) => (1, 0),
            (_, Some(o)) => match cfg
                .operator_fallback
                .iter()
                .position(|f| f.eq_ignore_ascii_case(o))
            {
                Some(p) => (2, p),
                None => (3, 0),
            },
            _ => (3, 0),
        }
    };
    let n = sims.len().max(1);
    left.sort_by_key(|(i, s)| {
        let t = tier(s);
        let bal: (u64, u64) = match cfg.balance {
            Balance::LeastCalls => (u64::from(s.calls_today), s.last_end_ms.unwrap_or(0)),
            Balance::LeastMinutes => (u64::from(s.minutes_today), s.last_end_ms.unwrap_or(0)),
            Balance::RoundRobin => (((i + n - cursor % n) % n) as u64, 0),
            Balance::Weighted => (
                u64::from(s.calls_today) * 1000 / u64::from(s.weight.max(1)),
                s.last_end_ms.unwrap_or(0),
            ),
        };
        (t, bal, s.id.clone())
    });
    let ranked = left
        .into_iter()
        .map(|(_, s)| {
            let why = match tier(s) {
                (0, _) => "sticky route".to_string(),
                (1, _) => format!("on-net ({})", s.operator.clone().unwrap_or_default()),
                (2, p) => format!(
                    "operator fallback #{} ({})",
                    p + 1,
                    s.operator.clone().unwrap_or_default()
                ),
                _ => "free".to_string(),
            };
            let bal = match cfg.balance {
                Balance::LeastCalls => format!("{} calls today", s.calls_today),
                Balance::LeastMinutes => format!("{} min today", s.minutes_today),
                Balance::RoundRobin => "in turn".to_string(),
                Balance::Weighted => {
                    format!("{} calls today, weight {}", s.calls_today, s.weight.max(1))
                }
            };
            (s.id.clone(), format!("{why}; {bal}"))
        })
        .collect();
    Ranking { ranked, removed }
}

#[cfg(test)]
mod tests;
