//! History stage cases from `testdata/history.toml`, the memory rules, premium
//! destinations and a store that does not answer.

use serde::Deserialize;

use super::*;
use crate::filter::tests::{no_lookups, req, screen};
use crate::filter::{LookupFailure, Memory, Rules};
use crate::ports::LastOutcome;

#[derive(Deserialize)]
struct Cases {
    config: toml::Table,
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    #[serde(default)]
    attempts: u64,
    #[serde(default)]
    answered: u64,
    #[serde(default)]
    short_calls: u64,
    #[serde(default)]
    consecutive_failures: u64,
    #[serde(default)]
    last_s_ago: Option<u64>,
    #[serde(default)]
    last_end: Option<EndKind>,
    finding: String,
}

fn rules_with(extra: &str) -> std::sync::Arc<Rules> {
    crate::filter::tests::rules(&format!(
        "[filter]\n[[filter.stage]]\nkind = \"history\"\n{extra}"
    ))
}

#[test]
fn store_rule_cases() {
    let cases: Cases = toml::from_str(include_str!("../testdata/history.toml")).expect("cases");
    let cfg = cases.config.to_string();
    let r = rules_with(&cfg);
    for c in &cases.case {
        let mut mem = Memory::default();
        let rq = req("11911112222", "11987654321", Some("t"));
        let now = rq.now_ms;
        let h = NumberHistory {
            attempts: c.attempts,
            answered: c.answered,
            short_calls: c.short_calls,
            distinct_peers: 1,
            consecutive_failures: c.consecutive_failures,
            last: c.last_s_ago.map(|ago| LastOutcome {
                at_ms: now - ago * 1000,
                sip_status: 200,
                gsm_end: c.last_end,
                talk_ms: 0,
            }),
        };
        let mut asked = 0;
        let v = screen(&r, &mut mem, rq, |l| {
            let Lookup::History(q) = l else {
                panic!("{l:?}")
            };
            asked += 1;
            assert_eq!(q.callee, "11987654321");
            assert_eq!(q.short_call_ms, 6_000);
            Answer::History(Ok(HistoryFacts {
                windows: q.since_ms.iter().map(|s| (*s, h.clone())).collect(),
            }))
        });
        assert_eq!(asked, 1, "{}: one lookup per call", c.name);
        assert_eq!(
            v.trace[0].finding, c.finding,
            "{}: {:?}",
            c.name, v.trace[0]
        );
    }
}

#[test]
fn a_store_that_does_not_answer_degrades_and_never_rejects() {
    let r = rules_with("max_attempts = 1\ndead_number_ttl_s = 60\n");
    let mut mem = Memory::default();
    for failure in [
        LookupFailure::Timeout,
        LookupFailure::Error("storage unavailable".into()),
    ] {
        let v = screen(&r, &mut mem, req("", "11987654321", None), |_| {
            Answer::History(Err(failure.clone()))
        });
        assert_eq!(v.decision.name(), "allow");
        assert_eq!(v.trace[0].finding, "degraded");
        assert!(v.annotations.tags.contains(&"history_degraded".to_string()));
    }
}

#[test]
fn memory_rules_catch_scans_velocity_and_premium_destinations_without_the_store() {
    let r = rules_with(
        "max_caller_callees_per_hour = 5\nsequential_scan = 4\nmax_trunk_calls_per_minute = 20\npremium_prefixes = [\"+55900\", \"+882\"]\n",
    );
    // (caller, callee, trunk, finding)
    let mut mem = Memory::default();
    let seq: Vec<String> = (1..=4).map(|i| format!("1198765432{i}")).collect();
    let mut got = Vec::new();
    for c in &seq {
        let v = screen(&r, &mut mem, req("11911110000", c, Some("a")), no_lookups);
        got.push(v.trace[0].finding.clone());
    }
    assert_eq!(got, ["pass", "pass", "pass", "sequential_scan"]);
    // Many scattered numbers from one caller.
    let mut mem = Memory::default();
    let mut got = Vec::new();
    for c in [
        "11987650001",
        "21987650030",
        "31987650500",
        "41987657000",
        "51987650009",
        "61987650077",
    ] {
        let v = screen(&r, &mut mem, req("11922220000", c, Some("b")), no_lookups);
        got.push(v.trace[0].finding.clone());
    }
    assert_eq!(
        got.last().map(String::as_str),
        Some("caller_velocity"),
        "{got:?}"
    );
    assert_eq!(got.iter().filter(|f| *f == "pass").count(), 5);
    // A trunk over its rate: calls from many callers.
    let mut mem = Memory::default();
    let mut last = String::new();
    for i in 0..21 {
        let v = screen(
            &r,
            &mut mem,
            req(&format!("119300000{i:02}"), "11987654321", Some("c")),
            no_lookups,
        );
        last = v.trace[0].finding.clone();
    }
    assert_eq!(last, "trunk_velocity");
    // Premium-rate destinations.
    let v = screen(
        &r,
        &mut Memory::default(),
        req("", "+882123456789", None),
        no_lookups,
    );
    assert_eq!(v.trace[0].finding, "premium_destination");
    assert_eq!(v.decision.name(), "reject");
}

#[test]
fn bad_settings_name_their_key() {
    for (text, key) in [
        ("max_short_share = 1.5", "k.max_short_share"),
        ("premium_prefixes = [\"900\"]", "k.premium_prefixes[0]"),
        ("attempts_window_s = 0", "k.attempts_window_s"),
        (
            "on_dead_number = { action = \"reject\", code = 200 }",
            "k.on_dead_number.code",
        ),
    ] {
        let c: HistoryConfig = toml::from_str(text).expect("toml");
        let mut p = Vec::new();
        c.validate("k", &mut p);
        assert!(p.iter().any(|x| x.key == key), "{text}: {p:?}");
    }
}
