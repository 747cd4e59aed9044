//! `[routing]`: which SIM takes a call (sticky routes, operator affinity, balancing),
//! per-SIM limits, SIM protection and failover. Reloads on change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Problem;
use crate::routing::policy::{Balance, PolicyConfig, SimLimits};
use crate::routing::protection::ProtectionConfig;

/// What a sticky route is keyed on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StickyKey {
    /// The number called: the callee always sees the same caller ID.
    #[default]
    Callee,
    /// The calling number: one customer's calls leave through one SIM.
    Caller,
    /// The pair.
    Both,
}

impl StickyKey {
    /// The store key of a call's sticky route.
    pub fn key(self, caller: &str, callee: &str) -> String {
        match self {
            Self::Callee => callee.to_string(),
            Self::Caller => format!("from:{caller}"),
            Self::Both => format!("{caller}>{callee}"),
        }
    }
}

/// What happens when the sticky SIM is busy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StickyMode {
    /// Take another SIM at once.
    #[default]
    Preferred,
    /// Wait up to `sticky_wait_ms` for that SIM (in a queue of `sticky_queue` calls),
    /// then another SIM when `sticky_fallback`, else fail the call with 503.
    Strict,
}

/// How a call for the agent is handed over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentDelivery {
    /// e173gw calls the agent and bridges the two legs (it stays in the signalling).
    #[default]
    Proxy,
    /// e173gw answers `302 Moved Temporarily` with the agent's Contact: the trunk calls
    /// the agent itself and e173gw leaves the call.
    Redirect,
}

/// Limits: defaults, per operator group, per SIM (by IMSI or modem id). Each limit is
/// taken from the most specific place that sets it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Every SIM.
    pub default: SimLimits,
    /// SIMs of an operator (by the name the modem reports, case-insensitive).
    pub operator: BTreeMap<String, SimLimits>,
    /// One SIM, by IMSI or modem id.
    pub sim: BTreeMap<String, SimLimits>,
}

impl LimitsConfig {
    /// The limits of a SIM.
    pub fn for_sim(&self, modem: &str, imsi: Option<&str>, operator: Option<&str>) -> SimLimits {
        let sim = imsi
            .and_then(|i| self.sim.get(i))
            .or_else(|| self.sim.get(modem))
            .copied()
            .unwrap_or_default();
        let op = operator
            .and_then(|o| {
                self.operator
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(o))
                    .map(|(_, v)| *v)
            })
            .unwrap_or_default();
        sim.or(op).or(self.default)
    }
}

/// `[routing]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    /// Send a call to the agent when no SIM can take it (otherwise 503 or 480).
    pub agent_when_no_modem: bool,
    /// Most modems tried for one call (failover after gateway-side failures).
    pub max_attempts: u32,
    /// No new attempt starts this long after the call arrived, ms.
    pub failover_budget_ms: u64,
    /// Keep sending a destination through the SIM that last completed a call to it.
    pub sticky: bool,
    /// How long a sticky route lasts after the last answered call, seconds.
    pub sticky_ttl_s: u64,
    /// What a sticky route is keyed on.
    pub sticky_key: StickyKey,
    /// Preferred or strict.
    pub sticky_mode: StickyMode,
    /// Strict mode: longest wait for the sticky SIM, ms.
    pub sticky_wait_ms: u64,
    /// Strict mode: most calls waiting for one SIM.
    pub sticky_queue: u32,
    /// Strict mode: after the wait, try other SIMs (false: 503).
    pub sticky_fallback: bool,
    /// Prefer SIMs of the callee's operator.
    pub operator_affinity: bool,
    /// After on-net SIMs, these operators in this order.
    pub operator_fallback: Vec<String>,
    /// The operator of a SIM, by its home network (MCC+MNC, e.g. `72405`) or by the
    /// network name its modem reports (e.g. `TIM BRASIL`), as screening names operators
    /// (e.g. `Claro`). A SIM found in neither is known by the reported name.
    pub sim_operator: BTreeMap<String, String>,
    /// How equals are ordered.
    pub balance: Balance,
    /// Weights for `balance = "weighted"`, by modem id (default 1).
    pub weight: BTreeMap<String, u32>,
    /// Days (and months) of the limits start at this UTC time, `HH:MM`.
    pub day_starts_utc: String,
    /// Per-SIM limits.
    pub limits: LimitsConfig,
    /// SIM protection.
    pub protection: ProtectionConfig,
    /// How agent-bound calls are handed over.
    pub agent_delivery: AgentDelivery,
    /// Per trunk (by name), overriding `agent_delivery`.
    pub agent_delivery_by_trunk: BTreeMap<String, AgentDelivery>,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        Self {
            agent_when_no_modem: false,
            max_attempts: 3,
            failover_budget_ms: 30_000,
            sticky: true,
            sticky_ttl_s: 7 * 86_400,
            sticky_key: StickyKey::Callee,
            sticky_mode: StickyMode::Preferred,
            sticky_wait_ms: 5_000,
            sticky_queue: 8,
            sticky_fallback: true,
            operator_affinity: false,
            operator_fallback: Vec::new(),
            sim_operator: BTreeMap::new(),
            balance: Balance::LeastCalls,
            weight: BTreeMap::new(),
            day_starts_utc: "00:00".into(),
            limits: LimitsConfig::default(),
            protection: ProtectionConfig::default(),
            agent_delivery: AgentDelivery::Proxy,
            agent_delivery_by_trunk: BTreeMap::new(),
        }
    }
}

impl RoutingConfig {
    /// The policy's part.
    pub fn policy(&self) -> PolicyConfig {
        PolicyConfig {
            operator_affinity: self.operator_affinity,
            operator_fallback: self.operator_fallback.clone(),
            balance: self.balance,
        }
    }

    /// Whether agent-bound calls from `trunk` are redirected (`302`) rather than proxied.
    pub fn redirects(&self, trunk: &str) -> bool {
        self.agent_delivery_by_trunk
            .get(trunk)
            .copied()
            .unwrap_or(self.agent_delivery)
            == AgentDelivery::Redirect
    }

    /// The operator of a SIM with home network `plmn` on a network called `name`.
    pub fn operator_of(&self, plmn: Option<&str>, name: Option<&str>) -> Option<String> {
        let by_name = || {
            name.and_then(|n| {
                self.sim_operator
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(n.trim()))
            })
        };
        plmn.and_then(|p| self.sim_operator.get_key_value(p))
            .or_else(by_name)
            .map(|(_, v)| v.clone())
            .or_else(|| name.map(|n| n.trim().to_string()))
    }

    /// `day_starts_utc` as milliseconds after midnight (0 when unparsable; validation
    /// names it).
    pub fn day_offset_ms(&self) -> u64 {
        parse_hhmm(&self.day_starts_utc).unwrap_or(0)
    }

    /// Checks what serde cannot; `agent` says whether an agent is configured.
    pub fn validate(&self, agent: bool) -> Vec<Problem> {
        let mut p = Vec::new();
        let key = |k: &str| format!("routing.{k}");
        if self.max_attempts == 0 {
            p.push(Problem::new(key("max_attempts"), "must be at least 1"));
        }
        if self.agent_when_no_modem && !agent {
            p.push(Problem::new(key("agent_when_no_modem"), "needs agent.uri"));
        }
        let redirect = self.agent_delivery == AgentDelivery::Redirect
            || self
                .agent_delivery_by_trunk
                .values()
                .any(|d| *d == AgentDelivery::Redirect);
        if redirect && !agent {
            p.push(Problem::new(key("agent_delivery"), "needs agent.uri"));
        }
        if self.failover_budget_ms < 1000 {
            p.push(Problem::new(
                key("failover_budget_ms"),
                "must be at least 1000",
            ));
        }
        if self.sticky_mode == StickyMode::Strict {
            if !(1..=60_000).contains(&self.sticky_wait_ms) {
                p.push(Problem::new(key("sticky_wait_ms"), "must be 1..=60000"));
            }
            if self.sticky_queue == 0 {
                p.push(Problem::new(key("sticky_queue"), "must be at least 1"));
            }
        }
        if parse_hhmm(&self.day_starts_utc).is_none() {
            p.push(Problem::new(
                key("day_starts_utc"),
                "must be HH:MM (00:00 to 23:59)",
            ));
        }
        for (id, w) in &self.weight {
            if *w == 0 {
                p.push(Problem::new(
                    key(&format!("weight.{id}")),
                    "must be at least 1",
                ));
            }
        }
        let pr = &self.protection;
        for (k, v) in [
            ("unanswered_streak", pr.unanswered_streak),
            ("short_streak", pr.short_streak),
        ] {
            if v == Some(0) {
                p.push(Problem::new(
                    key(&format!("protection.{k}")),
                    "must be at least 1",
                ));
            }
        }
        if pr.asr_min_pct.is_some_and(|v| v > 100) {
            p.push(Problem::new(
                key("protection.asr_min_pct"),
                "must be 0..=100",
            ));
        }
        if pr.asr_window == 0 || pr.asr_window > 1000 {
            p.push(Problem::new(
                key("protection.asr_window"),
                "must be 1..=1000",
            ));
        }
        if pr.rest_s == 0 {
            p.push(Problem::new(key("protection.rest_s"), "must be at least 1"));
        }
        p
    }
}

fn parse_hhmm(s: &str) -> Option<u64> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (u64, u64) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && s.len() == 5).then_some((h * 60 + m) * 60_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_come_from_the_most_specific_place() {
        let cfg: RoutingConfig = toml::from_str(
            r#"
            [limits.default]
            calls_per_day = 100
            min_pause_s = 10
            [limits.operator.tim]
            calls_per_day = 50
            minutes_per_day = 60
            [limits.sim."724000000000001"]
            calls_per_day = 5
            [limits.sim.modem2]
            min_pause_s = 0
            "#,
        )
        .expect("parses");
        let l = &cfg.limits;
        let cases = [
            ("modem0", None, None, (Some(100), None, Some(10))),
            ("modem0", None, Some("TIM"), (Some(50), Some(60), Some(10))),
            (
                "modem1",
                Some("724000000000001"),
                Some("TIM"),
                (Some(5), Some(60), Some(10)),
            ),
            (
                "modem2",
                Some("other"),
                Some("Vivo"),
                (Some(100), None, Some(0)),
            ),
        ];
        for (modem, imsi, op, want) in cases {
            let got = l.for_sim(modem, imsi, op);
            assert_eq!(
                (got.calls_per_day, got.minutes_per_day, got.min_pause_s),
                want,
                "{modem} {imsi:?} {op:?}"
            );
        }
    }

    #[test]
    fn validation_names_the_bad_key() {
        let cfg: RoutingConfig = toml::from_str(
            r#"
            max_attempts = 0
            sticky_mode = "strict"
            sticky_queue = 0
            day_starts_utc = "25:00"
            agent_delivery = "redirect"
            weight = { modem0 = 0 }
            [protection]
            unanswered_streak = 0
            asr_min_pct = 101
            "#,
        )
        .expect("parses");
        let keys: Vec<String> = cfg.validate(false).into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "routing.max_attempts",
                "routing.agent_delivery",
                "routing.sticky_queue",
                "routing.day_starts_utc",
                "routing.weight.modem0",
                "routing.protection.unanswered_streak",
                "routing.protection.asr_min_pct",
            ]
        );
        assert!(RoutingConfig::default().validate(false).is_empty());
        assert_eq!(RoutingConfig::default().day_offset_ms(), 0);
        let c = RoutingConfig {
            day_starts_utc: "03:30".into(),
            ..RoutingConfig::default()
        };
        assert_eq!(c.day_offset_ms(), 12_600_000);
    }

    #[test]
    fn sim_operators_by_network_code_then_name() {
        let cfg: RoutingConfig =
            toml::from_str(r#"sim_operator = { "72405" = "Claro", "TIM BRASIL" = "TIM" }"#)
                .expect("parses");
        let cases = [
            (Some("72405"), Some("Claro BR"), Some("Claro")),
            (Some("72402"), Some("tim brasil"), Some("TIM")),
            (None, Some("VIVO"), Some("VIVO")),
            (None, None, None),
        ];
        for (plmn, name, want) in cases {
            assert_eq!(
                cfg.operator_of(plmn, name).as_deref(),
                want,
                "{plmn:?} {name:?}"
            );
        }
    }

    #[test]
    fn sticky_keys() {
        assert_eq!(StickyKey::Callee.key("a", "b"), "b");
        assert_eq!(StickyKey::Caller.key("a", "b"), "from:a");
        assert_eq!(StickyKey::Both.key("a", "b"), "a>b");
    }
}
