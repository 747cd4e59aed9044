//! The AT layer of Huawei E173-class modems.
//!
//! - [`codec`]: bytes in, [`codec::Frame`]s out. "Need more bytes" is `None`.
//! - [`command`]: typed commands, their wire form and what their answers look like.
//! - [`response`]: parsers for command answers (CSQ, CREG, COPS, CPIN, CLCC, ...).
//! - [`urc`]: unsolicited result codes (^RSSI, ^ORIG, ^CEND, +CREG, ...).
//! - [`session`]: the sans-IO modem session: init, health polling, voice calls, timeouts.
//! - [`cause`]: how a GSM call ended, classified for failover and for SIP.

pub mod cause;
pub mod codec;
pub mod command;
pub mod quarantine;
pub mod recovery;
pub mod response;
pub mod session;
pub mod urc;

/// A field of an AT line could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse {what} from {line:?}")]
pub struct ParseError {
    /// What was expected ("+CSQ", "^CEND", ...).
    pub what: &'static str,
    /// The offending line.
    pub line: String,
}

impl ParseError {
    pub(crate) fn new(what: &'static str, line: &str) -> Self {
        Self {
            what,
            line: line.to_string(),
        }
    }
}

/// Splits the parameter part of an AT line (`+CMD: a,"b,c",d`) into fields, honouring
/// double quotes. Quotes are removed from quoted fields; whitespace around fields is trimmed.
pub fn split_fields(params: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    for c in params.chars() {
        match c {
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => {
                out.push(cur.trim().to_string());
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    out.push(cur.trim().to_string());
    out
}

/// Returns the parameters after `prefix` (e.g. `"+CSQ:"`), accepting a missing space and
/// any case in the prefix.
pub fn params_after<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    let head = line.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        Some(line[prefix.len()..].trim_start())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_fields_honours_quotes() {
        let cases: &[(&str, &[&str])] = &[
            (
                "1,0,2,0,0,\"0791234567\",129",
                &["1", "0", "2", "0", "0", "0791234567", "129"],
            ),
            ("0,0,\"Op, Inc\",2", &["0", "0", "Op, Inc", "2"]),
            ("17, 99", &["17", "99"]),
            ("", &[""]),
        ];
        for (input, want) in cases {
            assert_eq!(split_fields(input), *want, "input {input}");
        }
    }

    #[test]
    fn params_after_is_case_insensitive() {
        assert_eq!(params_after("+CSQ: 17,99", "+CSQ:"), Some("17,99"));
        assert_eq!(params_after("^rssi:5", "^RSSI:"), Some("5"));
        assert_eq!(params_after("+CS", "+CSQ:"), None);
    }
}
