//! What a stage does about a finding: continue, reject, or divert to the AI agent.

use serde::{Deserialize, Serialize};

use crate::config::routing::AgentDelivery;
use crate::config::Problem;

/// The action configured for one finding of a stage, e.g.
/// `on_match = { action = "reject", code = 403, reason = "blacklisted" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Act {
    /// Go on with the next stage.
    Continue,
    /// Refuse the call with a SIP status (4xx-6xx).
    Reject {
        /// SIP status.
        code: u16,
        /// Reason phrase (default: the finding).
        #[serde(default)]
        reason: Option<String>,
    },
    /// Send the call to the AI agent.
    Divert {
        /// Why (sent to the agent; default: the finding).
        #[serde(default)]
        reason: Option<String>,
        /// `proxy` or `redirect` for these calls (default: `[routing]`'s for the trunk).
        #[serde(default)]
        delivery: Option<AgentDelivery>,
    },
}

impl Act {
    /// A reject with `code` and `reason`.
    pub fn reject(code: u16, reason: &str) -> Self {
        Self::Reject {
            code,
            reason: Some(reason.to_string()),
        }
    }

    /// A divert with `reason`.
    pub fn divert(reason: &str) -> Self {
        Self::Divert {
            reason: Some(reason.to_string()),
            delivery: None,
        }
    }

    /// `continue`, `reject 403` or `divert`, for traces and metrics.
    pub fn label(&self) -> String {
        match self {
            Self::Continue => "continue".into(),
            Self::Reject { code, .. } => format!("reject {code}"),
            Self::Divert { .. } => "divert".into(),
        }
    }

    /// Checks the status code; `key` names the setting.
    pub fn validate(&self, key: &str, p: &mut Vec<Problem>) {
        if let Self::Reject { code, reason } = self {
            if !(400..=699).contains(code) {
                p.push(Problem::new(
                    format!("{key}.code"),
                    "must be a SIP failure status (400-699)",
                ));
            }
            if reason
                .as_deref()
                .is_some_and(|r| r.chars().any(char::is_control))
            {
                p.push(Problem::new(
                    format!("{key}.reason"),
                    "must not contain control characters",
                ));
            }
        }
        if let Self::Divert {
            reason: Some(r), ..
        } = self
        {
            if r.chars().any(char::is_control) {
                p.push(Problem::new(
                    format!("{key}.reason"),
                    "must not contain control characters",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acts_parse_from_inline_tables_and_codes_are_checked() {
        #[derive(Deserialize)]
        struct W {
            on: Act,
        }
        let cases: &[(&str, Option<Act>, usize)] = &[
            (r#"on = { action = "continue" }"#, Some(Act::Continue), 0),
            (
                r#"on = { action = "reject", code = 403 }"#,
                Some(Act::Reject {
                    code: 403,
                    reason: None,
                }),
                0,
            ),
            (
                r#"on = { action = "divert", reason = "no whatsapp" }"#,
                Some(Act::divert("no whatsapp")),
                0,
            ),
            (r#"on = { action = "reject", code = 200 }"#, None, 1),
            (r#"on = { action = "drop" }"#, None, 0),
            // Extra keys on `continue` are ignored (serde's internally tagged unit variant).
            (
                r#"on = { action = "continue", code = 403 }"#,
                Some(Act::Continue),
                0,
            ),
        ];
        for (text, want, problems) in cases {
            let got = toml::from_str::<W>(text).map(|w| w.on);
            match (want, got) {
                (Some(w), Ok(g)) => assert_eq!(&g, w, "{text}"),
                (None, Ok(g)) => {
                    let mut p = Vec::new();
                    g.validate("x", &mut p);
                    assert_eq!(p.len(), *problems, "{text}");
                    assert!(p[0].key.ends_with(".code"));
                }
                (Some(_), Err(e)) => panic!("{text}: {e}"),
                (None, Err(_)) => assert_eq!(*problems, 0, "{text}"),
            }
        }
    }
}
