//! Pipeline tests: stages in order, first reject or divert wins, traces and annotations.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::*;
use crate::config::filter::FilterConfig;

pub(crate) fn rules(toml_text: &str) -> Arc<Rules> {
    #[derive(serde::Deserialize)]
    struct W {
        filter: FilterConfig,
    }
    let w: W = toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}"));
    let r =
        Rules::check_and_build(&w.filter, Path::new("."), 1).unwrap_or_else(|p| panic!("{p:?}"));
    Arc::new(r)
}

pub(crate) fn req(caller: &str, callee: &str, trunk: Option<&str>) -> Request {
    Request {
        caller: caller.into(),
        callee: callee.into(),
        trunk: trunk.map(Into::into),
        now_ms: 1_790_000_000_000,
    }
}

/// Runs a screening to the end, answering lookups with `answer`.
pub(crate) fn screen(
    rules: &Arc<Rules>,
    mem: &mut Memory,
    r: Request,
    mut answer: impl FnMut(&Lookup) -> Answer,
) -> Verdict {
    // A clock that moves one microsecond per reading: traces are deterministic.
    let base = origin();
    let mut ticks = 0u64;
    let mut clock = move || {
        ticks += 1;
        base + std::time::Duration::from_micros(ticks)
    };
    let mut s = Screening::new(rules.clone(), r);
    for _ in 0..16 {
        match s.advance(mem, &mut clock) {
            Step::Done(v) => return v,
            Step::Lookup(l) => {
                let a = answer(&l);
                s.supply(a, mem, &mut clock);
            }
        }
    }
    panic!("screening did not end");
}

#[allow(clippy::disallowed_methods)]
fn origin() -> Instant {
    Instant::now()
}

pub(crate) fn no_lookups(l: &Lookup) -> Answer {
    panic!("unexpected lookup {l:?}")
}

const RULES: &str = r#"
[filter]
default_region = "BR"
[[filter.stage]]
kind = "blacklist"
entry = [
  { number = "+5511900000666", reason = "fraud" },
  { prefix = "+55119000", reason = "test range" },
  { prefix = "+551190000", allow = true, reason = "vip range" },
  { pattern = '\+552193{8}', reason = "repeated digits" },
  { number = "+5511977776666", party = "caller", reason = "spammer" },
  { prefix = "+5531", trunk = "carrier-b", reason = "no MG from B" },
]
[[filter.stage]]
kind = "phone"
allowed_regions = ["BR"]
allowed_types = ["mobile", "fixed_line", "fixed_line_or_mobile"]
[[filter.stage]]
kind = "whatsapp"
"#;

#[test]
fn stages_run_in_order_and_the_first_reject_or_divert_wins() {
    let r = rules(RULES);
    let mut mem = Memory::default();
    // (caller, callee, trunk, presence answer, decision, stages that ran)
    type Case<'a> = (
        &'a str,
        &'a str,
        Option<&'a str>,
        Option<bool>,
        &'a str,
        &'a [&'a str],
    );
    let cases: &[Case<'_>] = &[
        // Clean mobile on WhatsApp: every stage runs, allowed.
        (
            "11911112222",
            "11987654321",
            None,
            Some(true),
            "allow",
            &["blacklist", "phone", "whatsapp"],
        ),
        // Not on WhatsApp: diverted by the third stage.
        (
            "11911112222",
            "11987654321",
            None,
            Some(false),
            "divert",
            &["blacklist", "phone", "whatsapp"],
        ),
        // Exact entry beats the longer allow prefix? No: the allowlist always wins...
        (
            "11911112222",
            "+5511900000666",
            None,
            None,
            "allow",
            &["blacklist"],
        ),
        // ...but a number only in the deny prefix is rejected at once.
        (
            "11911112222",
            "+5511900012345",
            None,
            None,
            "reject",
            &["blacklist"],
        ),
        // A pattern.
        (
            "11911112222",
            "21933333333",
            None,
            None,
            "reject",
            &["blacklist"],
        ),
        // Caller entries apply to callers only.
        (
            "+5511977776666",
            "11987654321",
            None,
            None,
            "reject",
            &["blacklist"],
        ),
        (
            "11911112222",
            "+5511977776666",
            None,
            Some(true),
            "allow",
            &["blacklist", "phone", "whatsapp"],
        ),
        // Per trunk.
        (
            "11911112222",
            "31987654321",
            Some("carrier-b"),
            None,
            "reject",
            &["blacklist"],
        ),
        (
            "11911112222",
            "31987654321",
            Some("carrier-a"),
            Some(true),
            "allow",
            &["blacklist", "phone", "whatsapp"],
        ),
        // Phone validation: invalid, other region, premium rate.
        (
            "11911112222",
            "119876",
            None,
            None,
            "reject",
            &["blacklist", "phone"],
        ),
        (
            "11911112222",
            "+351912345678",
            None,
            None,
            "reject",
            &["blacklist", "phone"],
        ),
        (
            "11911112222",
            "09001234567",
            None,
            None,
            "reject",
            &["blacklist", "phone"],
        ),
        (
            "11911112222",
            "anonymous",
            None,
            None,
            "reject",
            &["blacklist", "phone"],
        ),
    ];
    for (caller, callee, trunk, presence, decision, ran) in cases {
        let v = screen(&r, &mut mem, req(caller, callee, *trunk), |l| match l {
            Lookup::Presence { .. } => Answer::Presence {
                result: presence.ok_or(LookupFailure::Unconfigured),
                cached: false,
            },
            other => no_lookups(other),
        });
        let stages: Vec<&str> = v.trace.iter().map(|t| t.stage.as_str()).collect();
        assert_eq!(v.decision.name(), *decision, "{callee}: {:?}", v.trace);
        assert_eq!(stages, *ran, "{callee}");
        assert_eq!(v.rules_version, 1);
    }
}

#[test]
fn a_verdict_explains_itself() {
    let r = rules(RULES);
    let mut mem = Memory::default();
    let v = screen(
        &r,
        &mut mem,
        req("1133334444", "+5511900012345", None),
        no_lookups,
    );
    assert_eq!(
        v.decision,
        Decision::Reject {
            status: 403,
            reason: "test range".into()
        }
    );
    let lines = v.trace_lines();
    assert!(
        lines[0].starts_with(
            "blacklist: match -> reject 403 (prefix +55119000 from config#2: test range)"
        ),
        "{lines:?}"
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("verdict: reject 403 test range")
    );
    let v = screen(&r, &mut mem, req("1133334444", "11987654321", None), |_| {
        Answer::Presence {
            result: Ok(false),
            cached: true,
        }
    });
    assert_eq!(v.annotations.e164.as_deref(), Some("+5511987654321"));
    assert_eq!(v.annotations.national.as_deref(), Some("11987654321"));
    assert_eq!(v.annotations.number_type.as_deref(), Some("mobile"));
    assert_eq!(v.annotations.region.as_deref(), Some("BR"));
    assert_eq!(v.annotations.caller_e164.as_deref(), Some("+551133334444"));
    assert_eq!(
        v.trace_header(),
        "blacklist=pass/continue;phone=pass/continue;whatsapp=absent/divert"
    );
    assert_eq!(
        v.decision,
        Decision::Divert {
            reason: "no whatsapp".into(),
            delivery: None,
        }
    );
}

#[test]
fn no_stages_allows_everything_and_disabled_ignores_stages() {
    let mut mem = Memory::default();
    let v = screen(
        &Arc::new(Rules::empty()),
        &mut mem,
        req("", "x", None),
        no_lookups,
    );
    assert_eq!(v.decision, Decision::Allow);
    assert!(v.trace.is_empty());
    let r = rules("[filter]\nenabled = false\n[[filter.stage]]\nkind = \"phone\"\n");
    assert!(r.stages.is_empty());
}

#[test]
fn bad_rules_name_their_key() {
    #[derive(serde::Deserialize)]
    struct W {
        filter: FilterConfig,
    }
    let cases: &[(&str, &str)] = &[
        ("default_region = \"XX\"", "filter.default_region"),
        (
            "[[filter.stage]]\nkind = \"phone\"\nallowed_types = [\"cell\"]",
            "filter.stage[0].allowed_types[0]",
        ),
        (
            "[[filter.stage]]\nkind = \"phone\"\non_invalid = { action = \"reject\", code = 99 }",
            "filter.stage[0].on_invalid.code",
        ),
        (
            "[[filter.stage]]\nkind = \"blacklist\"\nentry = [{ number = \"12a\" }]",
            "filter.stage[0].entry[0].number",
        ),
        (
            "[[filter.stage]]\nkind = \"blacklist\"\nentry = [{ pattern = \"(\" }]",
            "filter.stage[0].entry[0].pattern",
        ),
        (
            "[[filter.stage]]\nkind = \"blacklist\"\nentry = [{ number = \"1\", prefix = \"2\" }]",
            "filter.stage[0].entry[0]",
        ),
        (
            "[[filter.stage]]\nkind = \"blacklist\"\nfiles = [\"/nonexistent/bl.toml\"]",
            "filter.stage[0].files[0]",
        ),
    ];
    for (body, key) in cases {
        let text = format!("[filter]\n{body}\n");
        let w: W = toml::from_str(&text).unwrap_or_else(|e| panic!("{body}: {e}"));
        let p = Rules::check_and_build(&w.filter, Path::new("."), 1)
            .err()
            .unwrap_or_else(|| panic!("{body} was accepted"));
        assert!(p.iter().any(|x| x.key == *key), "{body}: {p:?}");
    }
}

#[test]
fn the_whatsapp_stage_takes_its_provider_and_guard_settings() {
    let r = rules(
        r#"
[filter]
[[filter.stage]]
kind = "whatsapp"
budget_ms = 250
positive_ttl_s = 60
negative_ttl_s = 30
max_in_flight = 4
breaker = { failures = 2, open_ms = 500 }
provider = { url = "http://127.0.0.1:9/check?phone={digits}", answer = "/numberExists", auth_header = "X-Api-Key", auth_env = "WA_KEY" }
on_failure = { action = "reject", code = 503, reason = "cannot check" }
"#,
    );
    let Some(Stage::WhatsApp(w)) = r.stage("whatsapp") else {
        panic!("no whatsapp stage");
    };
    let c = w.config();
    assert_eq!(c.budget_ms, 250);
    assert_eq!(c.guard.max_in_flight, 4);
    assert_eq!(c.guard.breaker.failures, 2);
    assert_eq!(c.guard.negative_ttl_s, 30);
    assert_eq!(
        c.provider.as_ref().map(|p| p.answer.as_str()),
        Some("/numberExists")
    );
    let mut mem = Memory::default();
    // Fixed lines are not checked; mobiles are, and a failure follows on_failure.
    let v = screen(&r, &mut mem, req("", "1133334444", None), no_lookups);
    assert_eq!(v.decision, Decision::Allow);
    let v = screen(&r, &mut mem, req("", "11987654321", None), |l| {
        assert_eq!(
            l,
            &Lookup::Presence {
                e164: "+5511987654321".into(),
                budget_ms: 250
            }
        );
        Answer::Presence {
            result: Err(LookupFailure::Timeout),
            cached: false,
        }
    });
    assert_eq!(
        v.decision,
        Decision::Reject {
            status: 503,
            reason: "cannot check".into()
        }
    );
    assert_eq!(v.trace[0].detail, "timeout");
}

#[test]
fn asking_again_before_the_answer_repeats_the_lookup_without_running_the_stage_twice() {
    let r = rules(
        "[filter]\n[[filter.stage]]\nkind = \"history\"\nmax_trunk_calls_per_minute = 2\nmax_attempts = 3\n",
    );
    let mut mem = Memory::default();
    let base = origin();
    let mut clock = move || base;
    let mut s = Screening::new(r.clone(), req("11911110000", "11987654321", Some("t")));
    let first = s.advance(&mut mem, &mut clock);
    let again = s.advance(&mut mem, &mut clock);
    assert!(
        matches!(first, Step::Lookup(Lookup::History(_))),
        "{first:?}"
    );
    assert_eq!(first, again);
    // The trunk's minute counted that call once: a second call is still within 2.
    let mut s2 = Screening::new(r, req("11911110001", "11987654399", Some("t")));
    let next = s2.advance(&mut mem, &mut clock);
    assert!(matches!(next, Step::Lookup(Lookup::History(_))), "{next:?}");
}
