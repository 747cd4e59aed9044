//! The first line of a message, read to the letter of RFC 3261 §7.1 and §7.2:
//! `Method SP Request-URI SP SIP-Version` (single spaces, nothing after the version) or
//! `SIP-Version SP Status-Code SP Reason-Phrase`.

use super::grammar::is_token;
use super::uri::{self, ParsedUri};

/// A start line that follows the grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// A Request-Line.
    Request {
        /// The method as written (case matters: `invite` is not `INVITE`).
        method: &'a str,
        /// The Request-URI.
        uri: ParsedUri<'a>,
    },
    /// A Status-Line.
    Response {
        /// Status code (100..=699).
        code: u16,
        /// Reason phrase, possibly empty.
        reason: &'a str,
    },
}

/// Why a start line is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// Not a Request-Line or Status-Line (400 for a request).
    #[error("malformed start line: {0}")]
    Malformed(&'static str),
    /// A well-formed request of another SIP version (505).
    #[error("SIP version {0} not supported")]
    Version(String),
}

/// `SIP/<major>.<minor>`: `Ok(true)` for 2.0, `Ok(false)` for another well-formed
/// version.
fn version(s: &str) -> Result<bool, StartError> {
    let bad = StartError::Malformed("version");
    let (proto, num) = s.split_once('/').ok_or(bad.clone())?;
    let (major, minor) = num.split_once('.').ok_or(bad.clone())?;
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !proto.eq_ignore_ascii_case("SIP") || !digits(major) || !digits(minor) {
        return Err(bad);
    }
    Ok(major.trim_start_matches('0') == "2" && minor.trim_start_matches('0').is_empty())
}

/// Reads a start line (without its line end).
pub fn parse(line: &str) -> Result<StartLine<'_>, StartError> {
    if line.bytes().any(|b| b < 0x20 && b != b'\t' || b == 0x7f) {
        return Err(StartError::Malformed("control character"));
    }
    if line
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
    {
        let (v, rest) = line
            .split_once(' ')
            .ok_or(StartError::Malformed("status line"))?;
        if !version(v)? {
            return Err(StartError::Version(v.to_string()));
        }
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(StartError::Malformed("status code"));
        }
        let code: u16 = code
            .parse()
            .map_err(|_| StartError::Malformed("status code"))?;
        if !(100..=699).contains(&code) {
            return Err(StartError::Malformed("status code"));
        }
        return Ok(StartLine::Response { code, reason });
    }
    let parts: Vec<&str> = line.split(' ').collect();
    let [method, target, v] = parts[..] else {
        return Err(StartError::Malformed(
            "request line needs three parts and single spaces",
        ));
    };
    if !is_token(method) {
        return Err(StartError::Malformed("method"));
    }
    let uri = uri::parse(target).ok_or(StartError::Malformed("Request-URI"))?;
    // Headers are not allowed in a Request-URI (RFC 3261 §19.1.1, table 1).
    if matches!(&uri, ParsedUri::Sip(u) if !u.headers.is_empty()) {
        return Err(StartError::Malformed("Request-URI with headers"));
    }
    if !version(v)? {
        return Err(StartError::Version(v.to_string()));
    }
    Ok(StartLine::Request { method, uri })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Want {
        Request(&'static str, &'static str),
        Response(u16, &'static str),
        Malformed,
        Version,
    }

    #[test]
    fn start_lines() {
        use Want::*;
        let cases = [
            ("INVITE sip:100@gw SIP/2.0", Request("INVITE", "sip")),
            ("invite sip:100@gw sip/2.0", Request("invite", "sip")),
            ("NEWMETHOD sip:gw SIP/2.0", Request("NEWMETHOD", "sip")),
            (
                "RE%47IST%45R sip:reg.example SIP/2.0",
                Request("RE%47IST%45R", "sip"),
            ),
            (
                "OPTIONS nobodyKnows:opaque SIP/2.0",
                Request("OPTIONS", "nobodyknows"),
            ),
            ("OPTIONS sip:gw SIP/02.00", Request("OPTIONS", "sip")),
            ("OPTIONS sip:gw SIP/7.0", Version),
            ("OPTIONS sip:gw SIP/2.1", Version),
            ("OPTIONS sip:gw SIP/2.0 ", Malformed),
            ("OPTIONS  sip:gw  SIP/2.0", Malformed),
            ("OPTIONS\tsip:gw SIP/2.0", Malformed),
            ("INVITE sip:u@h; lr SIP/2.0", Malformed),
            ("INVITE sip:u@h?Route=%3Csip:x%3E SIP/2.0", Malformed),
            ("INVITE <sip:u@h> SIP/2.0", Malformed),
            ("INVITE sip:u@h", Malformed),
            ("IN{VITE sip:u@h SIP/2.0", Malformed),
            ("INVITE sip:u@h HTTP/1.1", Malformed),
            ("", Malformed),
            ("SIP/2.0 200 OK", Response(200, "OK")),
            ("SIP/2.0 100 ", Response(100, "")),
            ("SIP/2.0 100", Response(100, "")),
            (
                "SIP/2.0 200 = 2**3 * 5**2 \u{43d}\u{43e}",
                Response(200, "= 2**3 * 5**2 \u{43d}\u{43e}"),
            ),
            ("SIP/2.0 4294967301 big", Malformed),
            ("SIP/2.0 099 low", Malformed),
            ("SIP/2.0 20x OK", Malformed),
            ("SIP/3.0 200 OK", Version),
            ("SIP/2.0 200 O\u{0}K", Malformed),
        ];
        for (line, want) in cases {
            let got = match parse(line) {
                Ok(StartLine::Request { method, uri }) => {
                    let scheme: &'static str = Box::leak(uri.scheme().into_boxed_str());
                    let method: &'static str = Box::leak(method.to_string().into_boxed_str());
                    Request(method, scheme)
                }
                Ok(StartLine::Response { code, reason }) => {
                    Response(code, Box::leak(reason.to_string().into_boxed_str()))
                }
                Err(StartError::Malformed(_)) => Malformed,
                Err(StartError::Version(_)) => Version,
            };
            assert_eq!(got, want, "{line:?}");
        }
    }
}
