//! Scenario files: call rules (first match wins) and start-up states of whole modems.

use serde::{Deserialize, Serialize};

use crate::config::Problem;
use crate::domain::DialNumber;

/// A scenario file: call rules and start-up states of modems.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// Call rules, tried in order; the first that matches the dialled number (and the
    /// modem) decides. With no match the call is answered after `answer_after_ms` and held.
    pub rule: Vec<ScenarioRule>,
    /// Start-up states of whole modems, by name.
    pub modem: Vec<ScenarioModem>,
}

/// What happens to a dialled call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// `^CONN` after `after_ms`; hold, or remote hang-up (`^CEND:1,<dur>,104,16`) after
    /// `hangup_after_ms`.
    Answer,
    /// `^CEND:1,0,104,17`.
    Busy,
    /// Ring for `after_ms` (default `ring_ms`), then `^CEND:1,0,104,19`.
    NoAnswer,
    /// `^CEND:1,0,104,21`.
    Rejected,
    /// No `^CONF`; `^CEND:1,0,104,1`.
    Unassigned,
    /// `^CEND:1,0,<end_status>,<cause>` (default 104, 34); end status 101, 103 or 106
    /// without a `cause` sends no cause field.
    NetworkFailure,
    /// `ATD` is answered `ERROR`; no call.
    Error,
    /// A literal `NO CARRIER` after `^ORIG` (no `^CONF`, no `^CEND` unless `cause` is set).
    NoCarrier,
}

/// `[[rule]]`: one call rule. At most one of `number`, `prefix`, `pattern`; none matches
/// every number.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioRule {
    /// Matches this exact number.
    #[serde(default)]
    pub number: Option<String>,
    /// Matches numbers starting with this.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Asterisk-style pattern over the whole number (a leading `_` is optional): `X` any
    /// digit, `Z` 1-9, `N` 2-9, `[1-5]` a set, `.` one or more of anything, `!` zero or
    /// more of anything; other characters match themselves.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Only on these modems (by name); empty means all.
    #[serde(default)]
    pub modems: Vec<String>,
    /// What happens.
    pub outcome: Outcome,
    /// Delay of the outcome in ms, counted from `^CONF` (from `^ORIG` for `unassigned`
    /// and `no_carrier`). Defaults: `answer_after_ms`, `ring_ms`, `fail_after_ms`.
    #[serde(default, alias = "answer_after_ms", alias = "ring_ms")]
    pub after_ms: Option<u64>,
    /// For `answer`: the remote party hangs up this long after `^CONN` (default: never).
    #[serde(default)]
    pub hangup_after_ms: Option<u64>,
    /// Override of the `^CEND` end status (`network_failure`).
    #[serde(default)]
    pub end_status: Option<u16>,
    /// Override of the `^CEND` cc_cause.
    #[serde(default)]
    pub cause: Option<u16>,
}

/// `[[modem]]` in a scenario: the state of a whole modem at start.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioModem {
    /// Modem name.
    pub name: String,
    /// Voice enabled.
    #[serde(default)]
    pub voice: Option<bool>,
    /// SIM card present or absent.
    #[serde(default)]
    pub sim: Option<SimPresence>,
    /// Signal quality (0 or 99 = no service).
    #[serde(default)]
    pub rssi: Option<u8>,
    /// Stuck: commands are dropped unanswered, URCs keep coming.
    #[serde(default)]
    pub frozen: Option<bool>,
    /// Every `AT+CMGS` fails with `+CMS ERROR: 500` (as control `sms-fail <m> on`).
    #[serde(default)]
    pub sms_fail: Option<bool>,
    /// The balance USSD replies quote as `{balance}` (as control `balance <m> <amount>`).
    #[serde(default)]
    pub balance: Option<String>,
}

/// Whether a SIM card is in the modem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SimPresence {
    /// A SIM is inserted and ready.
    Present,
    /// No SIM.
    Absent,
}

/// One element of a [`ScenarioRule::pattern`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum PatElem {
    Set(Vec<(u8, u8)>),
    OneOrMore,
    ZeroOrMore,
}

/// Parses an Asterisk-style pattern into elements; `Err` says what is wrong.
fn parse_pattern(p: &str) -> Result<Vec<PatElem>, String> {
    let p = p.strip_prefix('_').unwrap_or(p);
    if p.is_empty() {
        return Err("empty pattern".into());
    }
    let b = p.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let e = match b[i] {
            b'X' | b'x' => PatElem::Set(vec![(b'0', b'9')]),
            b'Z' | b'z' => PatElem::Set(vec![(b'1', b'9')]),
            b'N' | b'n' => PatElem::Set(vec![(b'2', b'9')]),
            b'.' => PatElem::OneOrMore,
            b'!' => PatElem::ZeroOrMore,
            b'[' => {
                let end = b[i..]
                    .iter()
                    .position(|&c| c == b']')
                    .ok_or("unclosed '['")?
                    + i;
                let body = &b[i + 1..end];
                let mut set = Vec::new();
                let mut j = 0;
                while j < body.len() {
                    if j + 2 < body.len() && body[j + 1] == b'-' {
                        set.push((body[j], body[j + 2]));
                        j += 3;
                    } else {
                        set.push((body[j], body[j]));
                        j += 1;
                    }
                }
                if set.is_empty() {
                    return Err("empty '[]'".into());
                }
                i = end;
                PatElem::Set(set)
            }
            c if c.is_ascii_digit() || matches!(c, b'+' | b'*' | b'#') => {
                PatElem::Set(vec![(c, c)])
            }
            c => return Err(format!("unexpected character {:?}", char::from(c))),
        };
        out.push(e);
        i += 1;
    }
    Ok(out)
}

fn pattern_matches(pat: &[PatElem], s: &[u8]) -> bool {
    match pat.split_first() {
        None => s.is_empty(),
        Some((PatElem::Set(set), rest)) => {
            s.first()
                .is_some_and(|c| set.iter().any(|&(lo, hi)| (lo..=hi).contains(c)))
                && pattern_matches(rest, &s[1..])
        }
        Some((PatElem::OneOrMore, rest)) => (1..=s.len()).any(|n| pattern_matches(rest, &s[n..])),
        Some((PatElem::ZeroOrMore, rest)) => (0..=s.len()).any(|n| pattern_matches(rest, &s[n..])),
    }
}

impl ScenarioRule {
    /// Whether this rule applies to `number` dialled on modem `modem`.
    pub fn matches(&self, number: &str, modem: &str) -> bool {
        if !self.modems.is_empty() && !self.modems.iter().any(|m| m == modem) {
            return false;
        }
        if let Some(n) = &self.number {
            return n == number;
        }
        if let Some(pre) = &self.prefix {
            return number.starts_with(pre.as_str());
        }
        if let Some(p) = &self.pattern {
            return parse_pattern(p).is_ok_and(|pat| pattern_matches(&pat, number.as_bytes()));
        }
        true
    }
}

impl Scenario {
    /// The first rule for `number` on `modem`, if any.
    pub fn find_rule(&self, number: &str, modem: &str) -> Option<&ScenarioRule> {
        self.rule.iter().find(|r| r.matches(number, modem))
    }

    /// Every problem of this scenario; `modem_names` are the modems it may refer to.
    pub fn validate(&self, key_prefix: &str, modem_names: &[String]) -> Vec<Problem> {
        let mut p = Vec::new();
        let known = |n: &String| modem_names.iter().any(|m| m == n);
        for (i, r) in self.rule.iter().enumerate() {
            let key = |f: &str| format!("{key_prefix}rule[{i}].{f}");
            let matchers = [&r.number, &r.prefix, &r.pattern]
                .iter()
                .filter(|m| m.is_some())
                .count();
            if matchers > 1 {
                p.push(Problem::new(
                    key("number"),
                    "set at most one of number, prefix, pattern",
                ));
            }
            if let Some(n) = &r.number {
                if let Err(e) = DialNumber::parse(n) {
                    p.push(Problem::new(key("number"), e.to_string()));
                }
            }
            if r.prefix.as_ref().is_some_and(|s| s.is_empty()) {
                p.push(Problem::new(key("prefix"), "must not be empty"));
            }
            if let Some(Err(e)) = r.pattern.as_deref().map(parse_pattern) {
                p.push(Problem::new(key("pattern"), e));
            }
            for m in r.modems.iter().filter(|m| !known(m)) {
                p.push(Problem::new(key("modems"), format!("no modem named {m:?}")));
            }
            if r.after_ms.is_some_and(|v| v > 3_600_000)
                || r.hangup_after_ms.is_some_and(|v| v > 86_400_000)
            {
                p.push(Problem::new(key("after_ms"), "too long"));
            }
            if r.hangup_after_ms.is_some() && r.outcome != Outcome::Answer {
                p.push(Problem::new(
                    key("hangup_after_ms"),
                    "only for outcome \"answer\"",
                ));
            }
            if r.cause.is_some_and(|c| !(1..=127).contains(&c)) {
                p.push(Problem::new(key("cause"), "must be a Q.850 cause 1..=127"));
            }
            if r.end_status.is_some() && r.outcome != Outcome::NetworkFailure {
                p.push(Problem::new(
                    key("end_status"),
                    "only for outcome \"network_failure\"",
                ));
            }
            if r.end_status.is_some_and(|s| s > 255) {
                p.push(Problem::new(key("end_status"), "must be 0..=255"));
            }
        }
        for (i, m) in self.modem.iter().enumerate() {
            let key = |f: &str| format!("{key_prefix}modem[{i}].{f}");
            if !known(&m.name) {
                p.push(Problem::new(
                    key("name"),
                    format!("no modem named {:?}", m.name),
                ));
            }
            if m.rssi.is_some_and(|r| r > 31 && r != 99) {
                p.push(Problem::new(key("rssi"), "must be 0..=31 or 99"));
            }
            if let Some(Err(e)) = m.balance.as_deref().map(super::check_balance) {
                p.push(Problem::new(key("balance"), e));
            }
        }
        p
    }
}
