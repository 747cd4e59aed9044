//! `[inbound]`: what happens to a GSM call that arrives on a SIM: answered and offered to
//! a SIP target (a URI, or the agent), refused, or left ringing; per modem or SIM by
//! `[[inbound.rule]]`, else the section's default.

use serde::{Deserialize, Serialize};

use super::Problem;

/// What to do with an incoming GSM call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InboundPolicy {
    /// Offer it to the target; the modem answers when the target does.
    Answer,
    /// Refuse it at once (`AT+CHUP`).
    #[default]
    Reject,
    /// Let it ring until the caller gives up.
    Ignore,
}

/// One rule: for a modem id, a SIM (IMSI), the SIMs of an operator (`operator:<name>`,
/// the name the modem reports, case-insensitive), or `*`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InboundRule {
    /// A modem id, an IMSI, `operator:<name>`, or `*`.
    #[serde(rename = "match")]
    pub matches: String,
    /// What to do.
    pub policy: InboundPolicy,
    /// Where answered calls go: a SIP URI with an address, or `agent` (default: the
    /// section's target).
    #[serde(default)]
    pub target: String,
}

/// `[inbound]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct InboundConfig {
    /// For SIMs no rule names.
    pub policy: InboundPolicy,
    /// Where answered calls go by default: a SIP URI (`sip:desk@10.0.0.5:5060`) or
    /// `agent` (`[agent] uri`).
    pub target: String,
    /// Longest ring towards the target before the call is refused, s.
    pub answer_timeout_s: u64,
    /// Rules, first match wins.
    pub rule: Vec<InboundRule>,
}

impl Default for InboundConfig {
    fn default() -> Self {
        Self {
            policy: InboundPolicy::Reject,
            target: String::new(),
            answer_timeout_s: 30,
            rule: Vec::new(),
        }
    }
}

/// What to do with one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundDecision {
    /// The policy.
    pub policy: InboundPolicy,
    /// The target (URI, or `agent`), for `answer`.
    pub target: String,
}

impl InboundConfig {
    /// Whether any SIM's calls are offered or left ringing (else the modems refuse them).
    pub fn is_on(&self) -> bool {
        self.policy != InboundPolicy::Reject
            || self.rule.iter().any(|r| r.policy != InboundPolicy::Reject)
    }

    /// The decision for a call on `modem` with SIM `imsi` of `operator`: the first rule
    /// naming the modem or the SIM, else one naming its operator, else a `*` rule, else
    /// the default.
    pub fn decide(
        &self,
        modem: &str,
        imsi: Option<&str>,
        operator: Option<&str>,
    ) -> InboundDecision {
        let named = self
            .rule
            .iter()
            .find(|r| r.matches == modem || imsi.is_some_and(|i| r.matches == i));
        let by_operator = || {
            self.rule.iter().find(|r| {
                r.matches.strip_prefix("operator:").is_some_and(|name| {
                    operator.is_some_and(|o| o.trim().eq_ignore_ascii_case(name.trim()))
                })
            })
        };
        let rule = named
            .or_else(by_operator)
            .or_else(|| self.rule.iter().find(|r| r.matches == "*"));
        match rule {
            Some(r) => InboundDecision {
                policy: r.policy,
                target: if r.target.is_empty() {
                    self.target.clone()
                } else {
                    r.target.clone()
                },
            },
            None => InboundDecision {
                policy: self.policy,
                target: self.target.clone(),
            },
        }
    }

    /// Checks the section (`has_agent`: `[agent] uri` is set).
    pub fn validate(&self, has_agent: bool) -> Vec<Problem> {
        let mut p = Vec::new();
        let check = |key: String, target: &str, policy: InboundPolicy, p: &mut Vec<Problem>| {
            if policy != InboundPolicy::Answer {
                return;
            }
            if target.is_empty() {
                p.push(Problem::new(
                    key,
                    "an answered call needs a target (a SIP URI or \"agent\")",
                ));
            } else if target == "agent" {
                if !has_agent {
                    p.push(Problem::new(key, "is \"agent\" but [agent] uri is not set"));
                }
            } else if crate::sip::headers::uri_target(target).is_none() {
                p.push(Problem::new(
                    key,
                    "must be a SIP URI with an IP address and port (sip:desk@10.0.0.5:5060), or \"agent\"",
                ));
            }
        };
        check("inbound.target".into(), &self.target, self.policy, &mut p);
        for (i, r) in self.rule.iter().enumerate() {
            let empty_operator = r
                .matches
                .strip_prefix("operator:")
                .is_some_and(|n| n.trim().is_empty());
            if r.matches.trim().is_empty() || empty_operator {
                p.push(Problem::new(
                    format!("inbound.rule[{i}].match"),
                    "must be a modem id, an IMSI, operator:<name> or *",
                ));
            }
            let target = if r.target.is_empty() {
                &self.target
            } else {
                &r.target
            };
            check(
                format!("inbound.rule[{i}].target"),
                target,
                r.policy,
                &mut p,
            );
        }
        if !(5..=300).contains(&self.answer_timeout_s) {
            p.push(Problem::new("inbound.answer_timeout_s", "must be 5..=300"));
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(m: &str, policy: InboundPolicy, target: &str) -> InboundRule {
        InboundRule {
            matches: m.into(),
            policy,
            target: target.into(),
        }
    }

    #[test]
    fn rules_by_modem_or_sim_then_operator_then_any_then_default() {
        use InboundPolicy::*;
        let c = InboundConfig {
            policy: Reject,
            target: "sip:desk@127.0.0.1:5090".into(),
            rule: vec![
                rule("modem1", Ignore, ""),
                rule("724020000000009", Answer, "agent"),
                rule("operator:Vivo", Reject, ""),
                rule("*", Answer, ""),
            ],
            ..InboundConfig::default()
        };
        let d = |m: &str, i: Option<&str>, o: Option<&str>| {
            let d = c.decide(m, i, o);
            (d.policy, d.target)
        };
        let desk = || "sip:desk@127.0.0.1:5090".to_string();
        assert_eq!(d("modem1", None, Some("VIVO")), (Ignore, desk()));
        assert_eq!(
            d("modem2", Some("724020000000009"), Some("vivo")),
            (Answer, "agent".into())
        );
        assert_eq!(d("modem3", None, Some(" vivo ")), (Reject, desk()));
        assert_eq!(d("modem3", None, Some("TIM")), (Answer, desk()));
        assert_eq!(d("modem3", None, None), (Answer, desk()));
        let plain = InboundConfig::default();
        assert_eq!(plain.decide("m", None, None).policy, Reject);
        assert!(!plain.is_on());
        assert!(c.is_on());
    }

    #[test]
    fn problems_name_the_key() {
        let c = InboundConfig {
            policy: InboundPolicy::Answer,
            target: String::new(),
            answer_timeout_s: 1,
            rule: vec![
                rule("operator:", InboundPolicy::Reject, ""),
                rule("m1", InboundPolicy::Answer, "agent"),
                rule("m2", InboundPolicy::Answer, "desk@nowhere"),
            ],
        };
        let keys: Vec<String> = c.validate(false).into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "inbound.target",
                "inbound.rule[0].match",
                "inbound.rule[1].target",
                "inbound.rule[2].target",
                "inbound.answer_timeout_s"
            ]
        );
        assert!(InboundConfig::default().validate(false).is_empty());
    }
}
