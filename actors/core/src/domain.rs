//! Identity newtypes. Parse, don't validate: each type can only hold a well-formed value.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A value failed to parse into one of the identity types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind}: {value:?} ({reason})")]
pub struct InvalidIdentity {
    /// What was being parsed ("IMEI", "IMSI", ...).
    pub kind: &'static str,
    /// The rejected input.
    pub value: String,
    /// Why it was rejected.
    pub reason: &'static str,
}

fn digits_only(
    kind: &'static str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<String, InvalidIdentity> {
    let v = value.trim();
    let err = |reason| InvalidIdentity {
        kind,
        value: value.to_string(),
        reason,
    };
    if v.is_empty() {
        return Err(err("empty"));
    }
    if !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("not all digits"));
    }
    if v.len() < min || v.len() > max {
        return Err(err("wrong length"));
    }
    Ok(v.to_string())
}

/// Luhn check digit over a string of ASCII digits (IMEI and ICCID use it).
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b.wrapping_sub(b'0'));
        if d > 9 {
            return false;
        }
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// Computes the Luhn check digit for `body` (used by the simulator to mint valid IMEIs).
pub fn luhn_check_digit(body: &str) -> u8 {
    for d in 0..10u8 {
        let candidate = format!("{body}{d}");
        if luhn_valid(&candidate) {
            return d;
        }
    }
    0
}

macro_rules! string_newtype {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidIdentity;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_newtype!(
    /// International Mobile Equipment Identity: 15 digits (14 + Luhn check digit).
    /// The modem's identity in e173gw; tty names are not.
    Imei
);
string_newtype!(
    /// International Mobile Subscriber Identity: 6 to 15 digits, MCC first.
    Imsi
);
string_newtype!(
    /// SIM card serial (ICCID): 18 to 20 digits, usually starting with 89.
    Iccid
);
string_newtype!(
    /// A number as the modem dials it: `+` then digits, or digits, `*`, `#`.
    DialNumber
);
string_newtype!(
    /// Stable name of a modem in config, logs and metrics (e.g. `modem0`).
    ModemId
);

impl Imei {
    /// Parses a 15-digit IMEI. The Luhn digit is not enforced (some firmware reports
    /// IMEISV-like values); use [`Imei::luhn_ok`] to check it.
    pub fn parse(s: &str) -> Result<Self, InvalidIdentity> {
        let v = digits_only("IMEI", s, 14, 16)?;
        Ok(Self(v))
    }

    /// Whether the last digit is a valid Luhn check digit.
    pub fn luhn_ok(&self) -> bool {
        self.0.len() == 15 && luhn_valid(&self.0)
    }
}

impl Imsi {
    /// Parses an IMSI (6 to 15 digits).
    pub fn parse(s: &str) -> Result<Self, InvalidIdentity> {
        Ok(Self(digits_only("IMSI", s, 6, 15)?))
    }

    /// Mobile country code: the first three digits.
    pub fn mcc(&self) -> &str {
        &self.0[..3]
    }

    /// The SIM's home network (MCC+MNC). The IMSI does not say how long its MNC is:
    /// when the registered network's MCC+MNC (`network`) starts the IMSI, that is it;
    /// otherwise the MNC has 3 digits in the countries that use 3-digit MNCs and 2 elsewhere.
    pub fn home_plmn(&self, network: Option<&str>) -> &str {
        if let Some(n) = network {
            if (5..=6).contains(&n.len()) && self.0.starts_with(n) {
                return &self.0[..n.len()];
            }
        }
        const THREE_DIGIT_MNC: &[&str] = &[
            "302", "310", "311", "312", "313", "314", "315", "316", "334", "338", "342", "344",
            "346", "348", "352", "354", "356", "358", "360", "365", "366", "376", "405", "708",
            "722", "732", "750",
        ];
        let len = if THREE_DIGIT_MNC.contains(&self.mcc()) {
            6
        } else {
            5
        };
        &self.0[..len.min(self.0.len())]
    }
}

impl Iccid {
    /// Parses an ICCID, accepting trailing `F` padding (stripped).
    pub fn parse(s: &str) -> Result<Self, InvalidIdentity> {
        let t = s.trim().trim_end_matches(['F', 'f']);
        Ok(Self(digits_only("ICCID", t, 18, 20)?))
    }

    /// Decodes an ICCID as some Huawei firmware reports it: BCD with swapped nibbles
    /// (`98...` instead of `89...`), possibly `F`-padded.
    pub fn parse_reported(s: &str) -> Result<Self, InvalidIdentity> {
        let t = s.trim().trim_matches('"');
        if t.starts_with("98") {
            let swapped: String = t
                .as_bytes()
                .chunks(2)
                .flat_map(|p| {
                    if p.len() == 2 {
                        vec![p[1], p[0]]
                    } else {
                        vec![p[0]]
                    }
                })
                .map(char::from)
                .collect();
            return Self::parse(&swapped);
        }
        Self::parse(t)
    }
}

impl DialNumber {
    /// Parses a dialable number: optional leading `+`, then 1 to 32 of `0-9 * #`.
    pub fn parse(s: &str) -> Result<Self, InvalidIdentity> {
        let v = s.trim();
        let err = |reason| InvalidIdentity {
            kind: "number",
            value: s.to_string(),
            reason,
        };
        let body = v.strip_prefix('+').unwrap_or(v);
        if body.is_empty() {
            return Err(err("empty"));
        }
        if body.len() > 32 {
            return Err(err("too long"));
        }
        if !body
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
        {
            return Err(err("only digits, '*', '#' and a leading '+' are dialable"));
        }
        Ok(Self(v.to_string()))
    }
}

impl ModemId {
    /// Parses a modem id: 1 to 64 of `[A-Za-z0-9_.-]`.
    pub fn parse(s: &str) -> Result<Self, InvalidIdentity> {
        let err = |reason| InvalidIdentity {
            kind: "modem id",
            value: s.to_string(),
            reason,
        };
        if s.is_empty() || s.len() > 64 {
            return Err(err("must be 1 to 64 characters"));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            return Err(err("only letters, digits, '_', '-' and '.' are allowed"));
        }
        Ok(Self(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imei_parses_and_checks_luhn() {
        let imei = Imei::parse("490154203237518").unwrap();
        assert!(imei.luhn_ok());
        assert!(!Imei::parse("490154203237519").unwrap().luhn_ok());
        assert!(Imei::parse("49015420323751a").is_err());
        assert!(Imei::parse("").is_err());
        assert!(Imei::parse("1234").is_err());
    }

    #[test]
    fn luhn_check_digit_completes_body() {
        let body = "35000000000001";
        let d = luhn_check_digit(body);
        assert!(luhn_valid(&format!("{body}{d}")));
    }

    #[test]
    fn iccid_reported_forms() {
        let cases = [
            ("8970101234567890123", Some("8970101234567890123")),
            ("98071021436587092143", Some("89700112345678901234")),
            ("8970101234567890123F", Some("8970101234567890123")),
            ("\"8970101234567890123\"", Some("8970101234567890123")),
            ("12", None),
        ];
        for (input, want) in cases {
            let got = Iccid::parse_reported(input).ok();
            assert_eq!(got.as_ref().map(Iccid::as_str), want, "input {input}");
        }
    }

    #[test]
    fn dial_numbers() {
        for ok in ["+5511987654321", "0791234567", "*100#", "112"] {
            assert!(DialNumber::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "+", "12a4", "1;ATH", "+55 11"] {
            assert!(DialNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn modem_ids() {
        assert!(ModemId::parse("modem0").is_ok());
        assert!(ModemId::parse("e173-a.1").is_ok());
        assert!(ModemId::parse("").is_err());
        assert!(ModemId::parse("a b").is_err());
    }

    #[test]
    fn imsi_mcc() {
        assert_eq!(Imsi::parse("250011234567890").unwrap().mcc(), "250");
    }

    #[test]
    fn home_plmn_table() {
        let cases = [
            ("724021234567890", None, "72402"),
            ("724021234567890", Some("72402"), "72402"),
            ("724021234567890", Some("72405"), "72402"),
            ("310260123456789", None, "310260"),
            ("310260123456789", Some("31026"), "31026"),
            ("722341234567890", None, "722341"),
            ("23415123456", Some("x"), "23415"),
        ];
        for (imsi, net, want) in cases {
            assert_eq!(
                Imsi::parse(imsi).unwrap().home_plmn(net),
                want,
                "{imsi} {net:?}"
            );
        }
    }
}
