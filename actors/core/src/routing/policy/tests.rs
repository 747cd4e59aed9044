//! Policy cases from `testdata/policy.toml`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::*;

#[derive(Deserialize)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    #[serde(default)]
    affinity: bool,
    #[serde(default)]
    fallback: Vec<String>,
    #[serde(default)]
    balance: Balance,
    #[serde(default)]
    cursor: usize,
    #[serde(default)]
    callee_operator: Option<String>,
    #[serde(default)]
    sticky: Option<String>,
    #[serde(default)]
    exclude: Vec<String>,
    sims: Vec<Sim>,
    order: Vec<String>,
    #[serde(default)]
    removed: BTreeMap<String, String>,
    #[serde(default)]
    status: Option<u16>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sim {
    id: String,
    #[serde(default = "yes")]
    available: bool,
    #[serde(default)]
    leased: bool,
    #[serde(default)]
    operator: Option<String>,
    #[serde(default)]
    calls_today: u32,
    #[serde(default)]
    minutes_today: u32,
    #[serde(default)]
    last_end_ms: Option<u64>,
    #[serde(default)]
    rested_until_ms: Option<u64>,
    #[serde(default)]
    rested_why: String,
    #[serde(default)]
    calls_per_day: Option<u32>,
    #[serde(default)]
    minutes_per_day: Option<u32>,
    #[serde(default)]
    min_pause_s: Option<u32>,
    #[serde(default)]
    calls_month: u32,
    #[serde(default)]
    calls_per_month: Option<u32>,
    #[serde(default)]
    weight: u32,
    #[serde(default)]
    quarantined: Option<String>,
}

fn yes() -> bool {
    true
}

fn kind(r: &Removal) -> &'static str {
    match r {
        Removal::Excluded => "excluded",
        Removal::Unavailable => "unavailable",
        Removal::Quarantined => "quarantined",
        Removal::Leased => "leased",
        Removal::Rested => "rested",
        Removal::CallsToday(..)
        | Removal::MinutesToday(..)
        | Removal::CallsMonth(..)
        | Removal::MinutesMonth(..)
        | Removal::Pause(..) => "limit",
    }
}

#[test]
fn policy_cases() {
    let cases: Cases = toml::from_str(include_str!("testdata/policy.toml")).expect("cases");
    for c in cases.case {
        let cfg = PolicyConfig {
            operator_affinity: c.affinity,
            operator_fallback: c.fallback.clone(),
            balance: c.balance,
        };
        let call = CallFacts {
            callee_operator: c.callee_operator.clone(),
            sticky: c.sticky.clone(),
            exclude: c.exclude.clone(),
            now_ms: 10_000_000,
        };
        let sims: Vec<SimView> = c
            .sims
            .iter()
            .map(|s| SimView {
                id: s.id.clone(),
                available: s.available,
                leased: s.leased,
                operator: s.operator.clone(),
                calls_today: s.calls_today,
                minutes_today: s.minutes_today,
                calls_month: s.calls_month,
                minutes_month: 0,
                weight: s.weight,
                quarantined: s.quarantined.clone(),
                last_end_ms: s.last_end_ms,
                rested: s.rested_until_ms.map(|u| (u, s.rested_why.clone())),
                limits: SimLimits {
                    calls_per_day: s.calls_per_day,
                    minutes_per_day: s.minutes_per_day,
                    min_pause_s: s.min_pause_s,
                    calls_per_month: s.calls_per_month,
                    ..SimLimits::default()
                },
            })
            .collect();
        let r = rank(&cfg, &call, &sims, c.cursor);
        assert_eq!(r.order(), c.order, "{}: {:?}", c.name, r.explain(99));
        let removed: BTreeMap<String, String> = r
            .removed
            .iter()
            .map(|(s, why)| (s.id.clone(), kind(why).to_string()))
            .collect();
        assert_eq!(removed, c.removed, "{}", c.name);
        if let Some(st) = c.status {
            assert!(r.ranked.is_empty(), "{}", c.name);
            assert_eq!(r.no_route_status(), st, "{}", c.name);
        }
        // Every rank and removal says why.
        assert!((0..r.ranked.len()).all(|k| r.reason(k).is_some_and(|w| !w.is_empty())));
        assert!(r.removed.iter().all(|(s, why)| !why.describe(s).is_empty()));
    }
}

#[test]
fn reasons_read_as_sentences() {
    let cfg = PolicyConfig {
        operator_affinity: true,
        operator_fallback: vec!["Claro".into()],
        balance: Balance::LeastCalls,
    };
    let sim = |id: &str, op: &str| SimView {
        id: id.into(),
        available: true,
        leased: false,
        operator: Some(op.into()),
        calls_today: 3,
        ..SimView::default()
    };
    let call = CallFacts {
        callee_operator: Some("tim".into()),
        sticky: Some("s".into()),
        exclude: Vec::new(),
        now_ms: 0,
    };
    let mut sims = vec![sim("a", "Claro"), sim("b", "TIM"), sim("s", "Vivo")];
    sims.push(SimView {
        rested: Some((10, "3 unanswered calls in a row".into())),
        ..sim("r1", "TIM")
    });
    sims.push(SimView {
        rested: Some((10, "3 unanswered calls in a row".into())),
        ..sim("r2", "TIM")
    });
    sims.push(SimView {
        leased: true,
        ..sim("l", "TIM")
    });
    let r = rank(&cfg, &call, &sims, 0);
    let reasons: Vec<(String, String)> = (0..r.ranked.len())
        .map(|k| (r.ranked[k].0.id.clone(), r.reason(k).unwrap_or_default()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("s".to_string(), "sticky route; 3 calls today".to_string()),
            ("b".to_string(), "on-net (TIM); 3 calls today".to_string()),
            (
                "a".to_string(),
                "operator fallback #1 (Claro); 3 calls today".to_string()
            ),
        ]
    );
    assert_eq!(
        r.explain(9)[3..],
        [
            "- r1, r2: rested: 3 unanswered calls in a row",
            "- l: in use by another call",
        ]
    );
}

#[test]
fn explanations_are_bounded_and_group_removals_by_reason() {
    let cfg = PolicyConfig::default();
    let sims: Vec<SimView> = (0..6)
        .map(|i| SimView {
            id: format!("m{i}"),
            available: true,
            leased: i >= 4,
            calls_today: i,
            ..SimView::default()
        })
        .collect();
    let r = rank(&cfg, &CallFacts::default(), &sims, 0);
    assert_eq!(
        r.explain(2),
        [
            "#1 m0: free; 0 calls today",
            "#2 m1: free; 1 calls today",
            "... 2 more ranked",
            "- m4, m5: in use by another call",
        ]
    );
}
