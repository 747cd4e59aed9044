//! Numbers as the filter sees them: the raw digits as received, and the parsed form
//! (libphonenumber metadata through `phonenumber`), parsed once per call.

use phonenumber::country::Id;
use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, PhoneNumber, Type};

/// A region code (`BR`), checked against the metadata.
pub fn region(code: &str) -> Option<Id> {
    code.trim().to_ascii_uppercase().parse().ok()
}

/// The digits of `s`, with a leading `+` kept (`+55 (11) 9-8765` -> `+55119876`). Visual
/// separators go; anything else makes it not a number (`None`).
pub fn digits(s: &str) -> Option<String> {
    let s = s.trim();
    let (plus, rest) = match s.strip_prefix('+') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let mut out = String::with_capacity(s.len());
    if plus {
        out.push('+');
    }
    for c in rest.chars() {
        match c {
            '0'..='9' => out.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return None,
        }
    }
    (out.len() > usize::from(plus)).then_some(out)
}

/// A number parsed against the metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// `+5511987654321`.
    pub e164: String,
    /// National significant number with the national prefix rules applied, digits only
    /// (`11987654321`; for Brazil the trunk prefix `0` is not part of it).
    pub national: String,
    /// Valid for its region (length and pattern).
    pub valid: bool,
    /// Its type (`mobile`, `fixed_line`...).
    pub kind: Type,
    /// Its region (`BR`), when the metadata names one.
    pub region: Option<String>,
}

/// Parses `raw` as dialled on a trunk whose numbers are national to `default`.
/// `None` when it cannot be read as a phone number at all.
pub fn parse(raw: &str, default: Option<Id>) -> Option<Parsed> {
    let d = digits(raw)?;
    // Numbers sent as `5511...` without `+` are common on trunks; a number that does not
    // parse in the default region but does as international is taken as international.
    let local = phonenumber::parse(default, &d).ok();
    let local_valid = local.as_ref().is_some_and(PhoneNumber::is_valid);
    let international = if local_valid || d.starts_with('+') {
        None
    } else {
        phonenumber::parse(None, format!("+{d}"))
            .ok()
            .filter(PhoneNumber::is_valid)
    };
    let (n, valid): (PhoneNumber, bool) = match international {
        Some(i) => (i, true),
        None => (local?, local_valid),
    };
    let e164 = n.format().mode(Mode::E164).to_string();
    let national = e164
        .strip_prefix('+')
        .and_then(|r| r.strip_prefix(&n.code().value().to_string()))
        .unwrap_or_default()
        .to_string();
    let kind = n.number_type(&DATABASE);
    let region = n.country().id().map(|i| format!("{i:?}"));
    Some(Parsed {
        e164,
        national,
        valid,
        kind,
        region,
    })
}

/// The config name of a number type (`fixed_line_or_mobile`).
pub fn type_name(t: Type) -> &'static str {
    match t {
        Type::FixedLine => "fixed_line",
        Type::Mobile => "mobile",
        Type::FixedLineOrMobile => "fixed_line_or_mobile",
        Type::TollFree => "toll_free",
        Type::PremiumRate => "premium_rate",
        Type::SharedCost => "shared_cost",
        Type::PersonalNumber => "personal_number",
        Type::Voip => "voip",
        Type::Pager => "pager",
        Type::Uan => "uan",
        Type::Emergency => "emergency",
        Type::Voicemail => "voicemail",
        Type::ShortCode => "short_code",
        Type::StandardRate => "standard_rate",
        Type::Carrier => "carrier",
        Type::NoInternational => "no_international",
        Type::Unknown => "unknown",
    }
}

/// Every type name [`type_name`] gives, for config validation.
pub const TYPE_NAMES: &[&str] = &[
    "fixed_line",
    "mobile",
    "fixed_line_or_mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "personal_number",
    "voip",
    "pager",
    "uan",
    "emergency",
    "voicemail",
    "short_code",
    "standard_rate",
    "carrier",
    "no_international",
    "unknown",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_keep_a_leading_plus_and_drop_separators_only() {
        for (raw, want) in [
            ("+55 (11) 98765-4321", Some("+5511987654321")),
            ("011987654321", Some("011987654321")),
            ("11.98765.4321", Some("11987654321")),
            ("", None),
            ("+", None),
            ("anonymous", None),
            ("1198765x4321", None),
            ("+55+11", None),
        ] {
            assert_eq!(digits(raw).as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn numbers_parse_in_the_trunk_region_or_as_international() {
        let br = region("br");
        // (raw, e164, national, valid, type, region)
        let cases: &[(&str, &str, &str, bool, &str, &str)] = &[
            (
                "11987654321",
                "+5511987654321",
                "11987654321",
                true,
                "mobile",
                "BR",
            ),
            (
                "+5511987654321",
                "+5511987654321",
                "11987654321",
                true,
                "mobile",
                "BR",
            ),
            (
                "5511987654321",
                "+5511987654321",
                "11987654321",
                true,
                "mobile",
                "BR",
            ),
            (
                "1133334444",
                "+551133334444",
                "1133334444",
                true,
                "fixed_line",
                "BR",
            ),
            (
                "08001234567",
                "+558001234567",
                "8001234567",
                true,
                "toll_free",
                "BR",
            ),
            (
                "+351912345678",
                "+351912345678",
                "912345678",
                true,
                "mobile",
                "PT",
            ),
            ("119876", "+55119876", "119876", false, "unknown", "BR"),
        ];
        for (raw, e164, national, valid, kind, reg) in cases {
            let p = parse(raw, br).unwrap_or_else(|| panic!("{raw} did not parse"));
            assert_eq!(p.e164, *e164, "{raw}");
            assert_eq!(p.national, *national, "{raw}");
            assert_eq!(p.valid, *valid, "{raw}");
            assert_eq!(type_name(p.kind), *kind, "{raw}");
            assert_eq!(p.region.as_deref(), Some(*reg), "{raw}");
        }
        assert_eq!(parse("anonymous", br), None);
        assert!(region("XX").is_none());
    }
}
