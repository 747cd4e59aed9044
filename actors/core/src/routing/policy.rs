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
    /// Its modem is held out of routing (quarantined by its gateway after repeated
    /// faults, or disabled by an operator), and why.
    pub quarantined: Option<String>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// It failed this call already.
    Excluded,
    /// Not available (not registered, no SIM, in a call, recovering).
    Unavailable,
    /// Its modem is held out (quarantined after repeated faults, or disabled by an
    /// operator; the reason is the SIM's).
    Quarantined,
    /// Leased to another call.
    Leased,
    /// Rested by SIM protection (the reason is the SIM's).
    Rested,
    /// Daily calls reached (count, limit).
    CallsToday(u32, u32),
    /// Daily minutes reached.
    MinutesToday(u32, u32),
    /// Monthly calls reached.
    CallsMonth(u32, u32),
    /// Monthly minutes reached.
    MinutesMonth(u32, u32),
    /// The minimum pause is not over (seconds since the last call, pause).
    Pause(u64, u32),
}

impl Removal {
    /// Whether the SIM will be free by itself shortly (busy, not blocked).
    pub fn is_busy(self) -> bool {
        matches!(self, Self::Unavailable | Self::Leased)
    }

    /// Whether a limit or protection removed it (it stays out for a while).
    pub fn is_blocked(self) -> bool {
        !self.is_busy() && !matches!(self, Self::Excluded | Self::Quarantined)
    }

    /// For "why this SIM".
    pub fn describe(self, sim: &SimView) -> String {
        match self {
            Self::Excluded => "failed this call already".into(),
            Self::Unavailable => "not available".into(),
            Self::Quarantined => sim
                .quarantined
                .clone()
                .unwrap_or_else(|| "quarantined".into()),
            Self::Leased => "in use by another call".into(),
            Self::Rested => format!(
                "rested: {}",
                sim.rested.as_ref().map_or("", |(_, why)| why.as_str())
            ),
            Self::CallsToday(n, max) => format!("daily calls reached ({n}/{max})"),
            Self::MinutesToday(n, max) => format!("daily minutes reached ({n}/{max})"),
            Self::CallsMonth(n, max) => format!("monthly calls reached ({n}/{max})"),
            Self::MinutesMonth(n, max) => format!("monthly minutes reached ({n}/{max})"),
            Self::Pause(since, p) => {
                format!("pause: last call ended {since} s ago (at least {p} s)")
            }
        }
    }
}

/// Why a SIM is where it is in the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// The call's sticky SIM.
    Sticky,
    /// Of the callee's operator.
    OnNet,
    /// Of the n-th fallback operator.
    Fallback(usize),
    /// Any other.
    Free,
}

/// The policy's answer; it borrows the views it ranked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranking<'a> {
    balance: Balance,
    /// SIMs that may take the call, best first.
    pub ranked: Vec<(&'a SimView, Tier)>,
    /// SIMs left out, and why.
    pub removed: Vec<(&'a SimView, Removal)>,
}

impl<'a> Ranking<'a> {
    /// The best SIM.
    pub fn best(&self) -> Option<&'a SimView> {
        self.ranked.first().map(|(s, _)| *s)
    }

    /// Ids in rank order.
    pub fn order(&self) -> Vec<&'a str> {
        self.ranked.iter().map(|(s, _)| s.id.as_str()).collect()
    }

    /// Whether `id` was left out only because it is busy (it may free up shortly).
    pub fn is_busy(&self, id: &str) -> bool {
        self.removed
            .iter()
            .any(|(s, why)| s.id == id && why.is_busy())
    }

    /// The reason for the `k`-th ranked SIM.
    pub fn reason(&self, k: usize) -> Option<String> {
        let (s, tier) = self.ranked.get(k)?;
        let op = s.operator.as_deref().unwrap_or_default();
        let why = match tier {
            Tier::Sticky => "sticky route".to_string(),
            Tier::OnNet => format!("on-net ({op})"),
            Tier::Fallback(p) => format!("operator fallback #{} ({op})", p + 1),
            Tier::Free => "free".to_string(),
        };
        let bal = match self.balance {
            Balance::LeastCalls => format!("{} calls today", s.calls_today),
            Balance::LeastMinutes => format!("{} min today", s.minutes_today),
            Balance::RoundRobin => "in turn".to_string(),
            Balance::Weighted => {
                format!("{} calls today, weight {}", s.calls_today, s.weight.max(1))
            }
        };
        Some(format!("{why}; {bal}"))
    }

    /// "Why this SIM": the first `top` ranked SIMs with their reason (and how many more
    /// were ranked), then every SIM left out with its reason, those left out for the same
    /// reason on one line.
    pub fn explain(&self, top: usize) -> Vec<String> {
        let mut out: Vec<String> = (0..self.ranked.len().min(top))
            .filter_map(|k| {
                let id = &self.ranked[k].0.id;
                self.reason(k).map(|r| format!("#{} {id}: {r}", k + 1))
            })
            .collect();
        if self.ranked.len() > top {
            out.push(format!("... {} more ranked", self.ranked.len() - top));
        }
        let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
        for (s, r) in &self.removed {
            let why = r.describe(s);
            match groups.iter_mut().find(|(w, _)| *w == why) {
                Some((_, ids)) => ids.push(&s.id),
                None => groups.push((why, vec![&s.id])),
            }
        }
        out.extend(
            groups
                .into_iter()
                .map(|(why, ids)| format!("- {}: {why}", ids.join(", "))),
        );
        out
    }

    /// The status for a call nothing can take: 480 when limits or protection removed the
    /// SIMs, 503 when they are busy or there are none.
    pub fn no_route_status(&self) -> u16 {
        let blocked = self.removed.iter().any(|(_, r)| r.is_blocked());
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
    if s.quarantined.is_some() {
        return Some(Removal::Quarantined);
    }
    if s.rested
        .as_ref()
        .is_some_and(|(until, _)| *until > call.now_ms)
    {
        return Some(Removal::Rested);
    }
    let l = &s.limits;
    let reached = |n: u32, max: Option<u32>| max.filter(|m| n >= *m).map(|m| (n, m));
    if let Some((n, m)) = reached(s.calls_today, l.calls_per_day) {
        return Some(Removal::CallsToday(n, m));
    }
    if let Some((n, m)) = reached(s.minutes_today, l.minutes_per_day) {
        return Some(Removal::MinutesToday(n, m));
    }
    if let Some((n, m)) = reached(s.calls_month, l.calls_per_month) {
        return Some(Removal::CallsMonth(n, m));
    }
    if let Some((n, m)) = reached(s.minutes_month, l.minutes_per_month) {
        return Some(Removal::MinutesMonth(n, m));
    }
    if let (Some(p), Some(end)) = (l.min_pause_s, s.last_end_ms) {
        let since = call.now_ms.saturating_sub(end);
        if since < u64::from(p) * 1000 {
            return Some(Removal::Pause(since / 1000, p));
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

fn tier(cfg: &PolicyConfig, call: &CallFacts, s: &SimView) -> Tier {
    if call.sticky.as_deref() == Some(s.id.as_str()) {
        return Tier::Sticky;
    }
    if !cfg.operator_affinity {
        return Tier::Free;
    }
    match (&call.callee_operator, &s.operator) {
        (Some(c), Some(o)) if c.eq_ignore_ascii_case(o) => Tier::OnNet,
        (_, Some(o)) => cfg
            .operator_fallback
            .iter()
            .position(|f| f.eq_ignore_ascii_case(o))
            .map_or(Tier::Free, Tier::Fallback),
        _ => Tier::Free,
    }
}

/// Tier, two balancing keys, then the id.
type SortKey<'a> = (Tier, u64, u64, &'a str);

/// Ranks `sims` for `call`. `cursor` is the round-robin position (the caller advances it).
pub fn rank<'a>(
    cfg: &PolicyConfig,
    call: &CallFacts,
    sims: &'a [SimView],
    cursor: usize,
) -> Ranking<'a> {
    let mut removed = Vec::new();
    let n = sims.len().max(1);
    let mut left: Vec<(SortKey<'a>, &'a SimView)> = Vec::with_capacity(sims.len());
    for (i, s) in sims.iter().enumerate() {
        if let Some(r) = removal(s, call) {
            removed.push((s, r));
            continue;
        }
        let (a, b) = match cfg.balance {
            Balance::LeastCalls => (u64::from(s.calls_today), s.last_end_ms.unwrap_or(0)),
            Balance::LeastMinutes => (u64::from(s.minutes_today), s.last_end_ms.unwrap_or(0)),
            Balance::RoundRobin => (((i + n - cursor % n) % n) as u64, 0),
            Balance::Weighted => (
                u64::from(s.calls_today) * 1000 / u64::from(s.weight.max(1)),
                s.last_end_ms.unwrap_or(0),
            ),
        };
        left.push(((tier(cfg, call, s), a, b, s.id.as_str()), s));
    }
    left.sort_unstable_by(|x, y| x.0.cmp(&y.0));
    Ranking {
        balance: cfg.balance,
        ranked: left.into_iter().map(|((t, ..), s)| (s, t)).collect(),
        removed,
    }
}

#[cfg(test)]
mod tests;
