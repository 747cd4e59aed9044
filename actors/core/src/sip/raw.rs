//! Tolerant scanning of raw SIP bytes: where the headers end, the header lines (with
//! folding and compact names expanded), and Content-Length. Used for framing, and to
//! answer 400 to a message the full parser rejects but that can still be addressed.

/// Compact header names and their full names: RFC 3261 §7.3.3 (i m e l c f s k t v),
/// RFC 6665 (o u), RFC 3515 (r), RFC 3892 (b), RFC 4028 (x), RFC 3841 (a j d), RFC 4474
/// (y n).
const COMPACT: &[(&str, &str)] = &[
    ("i", "Call-ID"),
    ("m", "Contact"),
    ("e", "Content-Encoding"),
    ("l", "Content-Length"),
    ("c", "Content-Type"),
    ("f", "From"),
    ("s", "Subject"),
    ("k", "Supported"),
    ("t", "To"),
    ("v", "Via"),
    ("o", "Event"),
    ("u", "Allow-Events"),
    ("r", "Refer-To"),
    ("b", "Referred-By"),
    ("x", "Session-Expires"),
    ("a", "Accept-Contact"),
    ("j", "Reject-Contact"),
    ("d", "Request-Disposition"),
    ("y", "Identity"),
    ("n", "Identity-Info"),
];

/// Header names written the usual way, so that any capitalisation reads the same.
const KNOWN: &[&str] = &[
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Alert-Info",
    "Allow",
    "Authentication-Info",
    "Authorization",
    "Call-Info",
    "Content-Disposition",
    "Content-Language",
    "CSeq",
    "Date",
    "Error-Info",
    "Expires",
    "In-Reply-To",
    "Max-Forwards",
    "MIME-Version",
    "Min-Expires",
    "Min-SE",
    "Organization",
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "Priority",
    "Privacy",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "RAck",
    "Reason",
    "Record-Route",
    "Reply-To",
    "Require",
    "Retry-After",
    "Route",
    "RSeq",
    "Server",
    "Timestamp",
    "Unsupported",
    "User-Agent",
    "Warning",
    "WWW-Authenticate",
];

/// The full name of a header name as written: compact forms expanded, known names in
/// their usual capitalisation, unknown names as written (trimmed).
pub fn canonical_name(name: &str) -> &str {
    let n = name.trim();
    if let Some((_, full)) = COMPACT
        .iter()
        .find(|(c, f)| c.eq_ignore_ascii_case(n) || f.eq_ignore_ascii_case(n))
    {
        return full;
    }
    KNOWN
        .iter()
        .find(|k| k.eq_ignore_ascii_case(n))
        .copied()
        .unwrap_or(n)
}

/// Position just past the empty line ending the headers (`\r\n\r\n`, or `\n\n`), and the
/// length of the headers part without that terminator.
pub fn header_end(buf: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i < buf.len() {
        if buf[i] == b'\n' {
            // "\n\n" or "\n\r\n"
            if buf.get(i + 1) == Some(&b'\n') {
                return Some((i + 2, i));
            }
            if buf.get(i + 1) == Some(&b'\r') && buf.get(i + 2) == Some(&b'\n') {
                return Some((
                    i + 3,
                    if i > 0 && buf[i - 1] == b'\r' {
                        i - 1
                    } else {
                        i
                    },
                ));
            }
        }
        i += 1;
    }
    None
}

/// The start line and the header lines (unfolded), as `(name, value)` with names expanded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawHead {
    /// The first line.
    pub start: String,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
}

impl RawHead {
    /// Scans the head part (without the terminating empty line). Lines without a colon are
    /// skipped; continuation lines are joined with one space.
    pub fn scan(head: &[u8]) -> Self {
        let text = String::from_utf8_lossy(head);
        let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let start = lines.next().unwrap_or_default().trim().to_string();
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines {
            if line.is_empty() {
                break;
            }
            if line.starts_with([' ', '\t']) {
                if let Some((_, v)) = headers.last_mut() {
                    v.push(' ');
                    v.push_str(line.trim());
                }
                continue;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((canonical_name(name).to_string(), value.trim().to_string()));
            }
        }
        Self { start, headers }
    }

    /// Values of every header with this (full) name, case-insensitive.
    pub fn values<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a header.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.values(name).next()
    }

    /// The method of a request line (`None` for a status line).
    pub fn request_method(&self) -> Option<&str> {
        let first = self.start.split_whitespace().next()?;
        (!first.starts_with("SIP/")).then_some(first)
    }
}

pub use super::grammar::is_token;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_end_of_headers() {
        type Case<'a> = (&'a [u8], Option<(usize, usize)>);
        let cases: &[Case] = &[
            (b"A\r\nB: 1\r\n\r\nbody", Some((11, 7))),
            (b"A\nB: 1\n\nbody", Some((8, 6))),
            (b"A\r\nB: 1\r\n", None),
            (b"", None),
        ];
        for (buf, want) in cases {
            assert_eq!(header_end(buf), *want, "{:?}", String::from_utf8_lossy(buf));
        }
    }

    #[test]
    fn scans_folded_and_compact_headers() {
        let h = RawHead::scan(b"INVITE sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nSubject: one\r\n  two\r\nl: 5\r\nbogus line\r\ni: x@y");
        assert_eq!(h.request_method(), Some("INVITE"));
        assert_eq!(h.first("Via"), Some("SIP/2.0/UDP h;branch=z9hG4bK1"));
        assert_eq!(h.first("subject"), Some("one two"));
        assert_eq!(h.first("Content-Length"), Some("5"));
        assert_eq!(h.first("Call-ID"), Some("x@y"));
        assert_eq!(RawHead::scan(b"SIP/2.0 200 OK\r\n").request_method(), None);
    }

    #[test]
    fn canonical_names() {
        let cases = [
            ("v", "Via"),
            ("V", "Via"),
            ("vIA", "Via"),
            ("cseq", "CSeq"),
            ("MaX-fOrWaRdS", "Max-Forwards"),
            ("content-length", "Content-Length"),
            ("L", "Content-Length"),
            ("r", "Refer-To"),
            ("y", "Identity"),
            (" www-authenticate ", "WWW-Authenticate"),
            ("X-Odd.Name!%*_+`'~", "X-Odd.Name!%*_+`'~"),
            ("C%6Fntact", "C%6Fntact"),
        ];
        for (name, want) in cases {
            assert_eq!(canonical_name(name), want, "{name}");
        }
    }

    #[test]
    fn tokens() {
        assert!(is_token("INVITE"));
        assert!(is_token("NEWMETHOD"));
        assert!(!is_token("IN VITE"));
        assert!(!is_token(""));
        assert!(!is_token("A\u{e9}"));
    }
}
