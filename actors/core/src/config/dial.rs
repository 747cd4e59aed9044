//! How a modem wants numbers dialled: as the trunk sent them, in international format, or
//! in national format with a prefix (a modem profile's `[dial]` table).

use serde::{Deserialize, Serialize};

use crate::domain::DialNumber;

/// The number format a modem dials.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DialFormat {
    /// The digits the trunk sent (after admission's checks).
    #[default]
    AsReceived,
    /// `+` and the E.164 number (`+5511987654321`), which every GSM network takes.
    International,
    /// `national_prefix` and the national number (`011987654321` with prefix `0`).
    National,
}

/// A profile's `[dial]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DialSpec {
    /// `as_received` (default), `international` or `national`.
    pub format: DialFormat,
    /// Put before national numbers (`national` format): e.g. `0`, or a carrier code.
    pub national_prefix: String,
}

/// The forms screening found for the callee (empty when it did not parse).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DialForms {
    /// E.164 with `+`.
    pub e164: Option<String>,
    /// National significant number.
    pub national: Option<String>,
}

impl DialSpec {
    /// The string to dial: the profile's format when screening found that form, else
    /// the number as received.
    pub fn dial_string(&self, received: &DialNumber, forms: &DialForms) -> DialNumber {
        let chosen = match self.format {
            DialFormat::AsReceived => None,
            DialFormat::International => forms.e164.clone(),
            DialFormat::National => forms
                .national
                .as_ref()
                .map(|n| format!("{}{n}", self.national_prefix)),
        };
        chosen
            .and_then(|s| DialNumber::parse(&s).ok())
            .unwrap_or_else(|| received.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_picks_the_form_and_falls_back_to_the_number_received() {
        let received = DialNumber::parse("5511987654321").expect("number");
        let parsed = DialForms {
            e164: Some("+5511987654321".into()),
            national: Some("11987654321".into()),
        };
        let none = DialForms::default();
        // (format, prefix, forms, dialled)
        let cases: &[(DialFormat, &str, &DialForms, &str)] = &[
            (DialFormat::AsReceived, "", &parsed, "5511987654321"),
            (DialFormat::International, "", &parsed, "+5511987654321"),
            (DialFormat::National, "", &parsed, "11987654321"),
            (DialFormat::National, "0", &parsed, "011987654321"),
            (DialFormat::National, "041", &parsed, "04111987654321"),
            (DialFormat::International, "", &none, "5511987654321"),
            (DialFormat::National, "0", &none, "5511987654321"),
            // A prefix that would make it undialable is not used.
            (DialFormat::National, "x", &parsed, "5511987654321"),
        ];
        for (format, prefix, forms, want) in cases {
            let spec = DialSpec {
                format: *format,
                national_prefix: (*prefix).into(),
            };
            assert_eq!(
                spec.dial_string(&received, forms).to_string(),
                *want,
                "{format:?} {prefix}"
            );
        }
    }

    #[test]
    fn the_dial_table_parses() {
        let s: DialSpec =
            toml::from_str("format = \"national\"\nnational_prefix = \"0\"").expect("toml");
        assert_eq!(s.format, DialFormat::National);
        assert!(toml::from_str::<DialSpec>("format = \"e164\"").is_err());
    }
}
