//! The header section put in one plain form before the message parser sees it: lines
//! unfolded (RFC 3261 §7.3.1), names checked as tokens and written in full (compact
//! forms expanded, usual capitalisation), LWS around separators dropped in the structured
//! headers, and the grammar of the headers e173gw relies on checked (see [`values`]).
//! What breaks the grammar is an error (400); unknown headers only need a token name.

mod values;

use super::grammar::{collapse_wsp, is_token, is_wsp};
use super::raw::canonical_name;

/// Why a header section is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    /// Not UTF-8.
    #[error("header section is not UTF-8")]
    NotUtf8,
    /// A line starting with whitespace right after the start line.
    #[error("continuation line without a header before it")]
    StrayFold,
    /// A line without a colon.
    #[error("header line without a colon")]
    NoColon,
    /// A header name that is not a token.
    #[error("malformed header name {0:?}")]
    BadName(String),
    /// A value that breaks its header's grammar.
    #[error("malformed {0} header")]
    BadValue(String),
}

/// A normalised head: the start line as written and `(name, value)` pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Head {
    /// The first line, without its line end.
    pub start: String,
    /// Headers in order: full names, normalised values.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The head in wire form with another start line, and the empty line after it.
    pub fn write(&self, start: &str) -> Vec<u8> {
        let mut out = String::with_capacity(start.len() + 64 * self.headers.len());
        out.push_str(start);
        out.push_str("\r\n");
        for (n, v) in &self.headers {
            out.push_str(n);
            out.push_str(": ");
            out.push_str(v);
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
        out.into_bytes()
    }
}

/// One header's value in plain form; `None` when malformed.
fn value(name: &str, v: &str) -> Option<String> {
    let v = collapse_wsp(v);
    match name {
        "Via" => values::via(&v),
        "From" | "To" => values::name_addr(&v),
        "Contact" => values::contact(&v),
        "Route" | "Record-Route" => values::name_addr_list(&v),
        "CSeq" => values::cseq(&v),
        "Max-Forwards" => values::number(&v, 255),
        "Content-Length" => values::number(&v, u64::from(u32::MAX)),
        "Call-ID" => values::call_id(&v),
        "Content-Type" => values::media_type(&v),
        "Require" | "Proxy-Require" => values::token_list(&v, false),
        // Not relied on: tidied when they follow the grammar, kept as written otherwise.
        "Supported" | "Unsupported" | "Allow" | "Content-Encoding" | "Accept-Encoding" => {
            Some(values::token_list(&v, true).unwrap_or(v))
        }
        "Accept" => Some(values::media_list(&v).unwrap_or(v)),
        "P-Asserted-Identity"
        | "P-Preferred-Identity"
        | "Refer-To"
        | "Referred-By"
        | "Reply-To" => Some(values::name_addr_list(&v).unwrap_or(v)),
        _ => Some(v),
    }
}

/// Normalises a head (the start line and the header lines, without the empty line that
/// ends them). Lines may end in CRLF or LF.
pub fn head(bytes: &[u8]) -> Result<Head, HeadError> {
    let text = std::str::from_utf8(bytes).map_err(|_| HeadError::NotUtf8)?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start = lines.next().unwrap_or_default().to_string();
    let mut raw: Vec<(&str, String)> = Vec::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line.as_bytes().first().copied().is_some_and(is_wsp) {
            let (_, v) = raw.last_mut().ok_or(HeadError::StrayFold)?;
            v.push(' ');
            v.push_str(line);
            continue;
        }
        let (name, v) = line.split_once(':').ok_or(HeadError::NoColon)?;
        let name = name.trim_end_matches([' ', '\t']);
        if !is_token(name) {
            return Err(HeadError::BadName(name.chars().take(40).collect()));
        }
        raw.push((canonical_name(name), v.to_string()));
    }
    let headers = raw
        .into_iter()
        .map(|(n, v)| {
            value(n, &v)
                .map(|v| (n.to_string(), v))
                .ok_or_else(|| HeadError::BadValue(n.to_string()))
        })
        .collect::<Result<_, _>>()?;
    Ok(Head { start, headers })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfolds_and_names() {
        let h = head(
            "INVITE sip:a@b SIP/2.0\r\nTO :\r\n sip:v@h.example ;   tag    = 19n\r\nfrom   : \"J \\\"R\\\"\"  \t <sip:j@h>\r\n  ;\r\n  tag = 98\r\n\
              MaX-fOrWaRdS: 0068\r\ncseq: 0009\r\n  INVITE\r\nVia  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw\r\n\
              s :\r\nNewFangledHeader:   newfangled value\r\n continued newfangled value\r\nUnknownHeaderWithUnusualValue: ;;,,;;,;\r\n\
              m:\"Quoted string \\\"\\\"\" <sip:j@h> ; newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33\r\n\
              V :  SIP/2.0/TCP sip22.example\nextensionHeader-!.%*+_`'~:\u{5927}\u{505c}\u{96fb}"
                .as_bytes(),
        )
        .expect("valid");
        assert_eq!(h.start, "INVITE sip:a@b SIP/2.0");
        let want = [
            ("To", "sip:v@h.example;tag=19n"),
            ("From", "\"J \\\"R\\\"\" <sip:j@h>;tag=98"),
            ("Max-Forwards", "68"),
            ("CSeq", "9 INVITE"),
            ("Via", "SIP/2.0/UDP 192.0.2.2;branch=390skdjuw"),
            ("Subject", ""),
            (
                "NewFangledHeader",
                "newfangled value continued newfangled value",
            ),
            ("UnknownHeaderWithUnusualValue", ";;,,;;,;"),
            (
                "Contact",
                "\"Quoted string \\\"\\\"\" <sip:j@h>;newparam=newvalue;secondparam;q=0.33",
            ),
            ("Via", "SIP/2.0/TCP sip22.example"),
            ("extensionHeader-!.%*+_`'~", "\u{5927}\u{505c}\u{96fb}"),
        ];
        let got: Vec<(&str, &str)> = h
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, want);
        let wire = String::from_utf8(h.write("OPTIONS sip:x SIP/2.0")).expect("utf8");
        assert!(
            wire.starts_with("OPTIONS sip:x SIP/2.0\r\nTo: sip:v@h.example;tag=19n\r\n"),
            "{wire}"
        );
        assert!(wire.ends_with("\u{96fb}\r\n\r\n"), "{wire}");
    }

    #[test]
    fn refusals() {
        let cases: &[(&[u8], HeadError)] = &[
            (
                b"OPTIONS sip:a SIP/2.0\r\n ;folded first",
                HeadError::StrayFold,
            ),
            (
                b"OPTIONS sip:a SIP/2.0\r\nFoobar roobar",
                HeadError::NoColon,
            ),
            (
                b"OPTIONS sip:a SIP/2.0\r\nBad Name: x",
                HeadError::BadName("Bad Name".into()),
            ),
            (
                b"OPTIONS sip:a SIP/2.0\r\n: x",
                HeadError::BadName(String::new()),
            ),
            (b"OPTIONS sip:a SIP/2.0\r\nX: \xff", HeadError::NotUtf8),
            (
                b"OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h;;,;,,",
                HeadError::BadValue("Via".into()),
            ),
            (
                b"OPTIONS sip:a SIP/2.0\r\nt: \"open <sip:a@b>",
                HeadError::BadValue("To".into()),
            ),
            (
                b"OPTIONS sip:a SIP/2.0\r\nMax-Forwards: 300",
                HeadError::BadValue("Max-Forwards".into()),
            ),
            (
                b"OPTIONS sip:a SIP/2.0\r\nCSeq: 36893488147419103232 OPTIONS",
                HeadError::BadValue("CSeq".into()),
            ),
            (
                b"OPTIONS sip:a SIP/2.0\r\nRequire: a b",
                HeadError::BadValue("Require".into()),
            ),
            (
                b"OPTIONS sip:a SIP/2.0\r\ni: a b",
                HeadError::BadValue("Call-ID".into()),
            ),
            (
                b"OPTIONS sip:a SIP/2.0\r\nl: -999",
                HeadError::BadValue("Content-Length".into()),
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(
                head(bytes).as_ref().err(),
                Some(want),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
        // Headers e173gw does not rely on are kept as written when they break a grammar.
        let h = head(b"OPTIONS sip:a SIP/2.0\r\nSupported: a b\r\nDate: Fri, 01 Jan 2010 16:00:00 EST\r\nExpires: 1000000000000000000000000").expect("valid");
        assert_eq!(h.headers[0].1, "a b");
        assert_eq!(h.headers.len(), 3);
    }
}
