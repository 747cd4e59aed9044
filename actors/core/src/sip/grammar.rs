//! RFC 3261 §25 character classes and the small recognisers built on them: tokens,
//! words, quoted strings, hosts, generic parameters, and comma lists that respect quotes
//! and angle brackets. Everything works on text that is already unfolded (no CR or LF).

/// `SP` or `HTAB`.
pub fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// A `token` character (§25.1).
pub fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// Whether `s` is a `token`.
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

/// Whether `s` is a `word` (the parts of a Call-ID).
pub fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| is_token_char(b) || b"()<>:\\\"/[]?{}".contains(&b))
}

/// An `unreserved` character: alphanumeric or `mark`.
pub fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b)
}

/// A `reserved` character.
pub fn is_reserved(b: u8) -> bool {
    b";/?:@&=+$,".contains(&b)
}

/// Whether every byte of `s` is allowed by `ok`, a `%` being accepted only as the start
/// of an `escaped` (`%` HEXDIG HEXDIG).
pub fn all_escaped(s: &str, ok: impl Fn(u8) -> bool) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else if ok(b[i]) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// Index just past the quoted string that starts at `start` (which must be `"`), with
/// `\` escapes (`quoted-pair`) honoured; `None` when it never ends or holds a bare
/// control character.
pub fn quoted_end(s: &str, start: usize) -> Option<usize> {
    let b = s.as_bytes();
    if b.get(start) != Some(&b'"') {
        return None;
    }
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'"' => return Some(i + 1),
            // quoted-pair: any character but CR and LF may follow the backslash.
            b'\\' => {
                let next = *b.get(i + 1)?;
                if next == b'\r' || next == b'\n' {
                    return None;
                }
                i += 2;
            }
            c if c < 0x20 && c != b'\t' || c == 0x7f => return None,
            _ => i += 1,
        }
    }
    None
}

/// Splits `s` at every `sep` that is outside quoted strings and angle brackets. Pieces
/// are returned untrimmed; `None` when a quote or bracket is left open.
pub fn split_outside(s: &str, sep: u8) -> Option<Vec<&str>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    let mut i = 0;
    let mut in_angle = false;
    while i < b.len() {
        match b[i] {
            b'"' if !in_angle => {
                i = quoted_end(s, i)?;
                continue;
            }
            b'<' if !in_angle => in_angle = true,
            b'>' if in_angle => in_angle = false,
            c if c == sep && !in_angle => {
                out.push(&s[from..i]);
                from = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if in_angle {
        return None;
    }
    out.push(&s[from..]);
    Some(out)
}

/// Whether `s` is an IPv4 address in dotted-decimal form.
pub fn is_ipv4(s: &str) -> bool {
    s.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Whether `s` is a `host`: a hostname, an IPv4 address, or an IPv6 reference in
/// brackets.
pub fn is_host(s: &str) -> bool {
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return is_ipv4(s);
    }
    let name = s.strip_suffix('.').unwrap_or(s);
    !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// `host [":" port]` → (host, port); `None` when either part is malformed.
pub fn host_port(s: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if s.starts_with('[') {
        let close = s.find(']')?;
        match &s[close + 1..] {
            "" => (s, None),
            rest => (&s[..=close], Some(rest.strip_prefix(':')?)),
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if !is_host(host) {
        return None;
    }
    let port = match port {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse().ok()?),
        Some(_) => return None,
        None => None,
    };
    Some((host, port))
}

/// One `generic-param`: name and optional value (token, host or quoted string).
pub type Param = (String, Option<String>);

/// Parses `*( SEMI generic-param )` (the text after the value's main part, starting at a
/// `;` or empty), allowing LWS around `;` and `=`. `None` on an empty or malformed
/// parameter.
pub fn generic_params(s: &str) -> Option<Vec<Param>> {
    let s = s.trim_matches(|c| c == ' ' || c == '\t');
    if s.is_empty() {
        return Some(Vec::new());
    }
    let rest = s.strip_prefix(';')?;
    let mut out = Vec::new();
    for piece in split_outside(rest, b';')? {
        let (name, value) = match piece.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (piece.trim(), None),
        };
        if !is_token(name) {
            return None;
        }
        let value = match value {
            Some(v) if v.starts_with('"') => {
                (quoted_end(v, 0)? == v.len()).then_some(())?;
                Some(v.to_string())
            }
            Some(v) if is_token(v) || is_host(v) || v.parse::<std::net::Ipv6Addr>().is_ok() => {
                Some(v.to_string())
            }
            Some(_) => return None,
            None => None,
        };
        out.push((name.to_string(), value));
    }
    Some(out)
}

/// Writes parameters back as `;name=value` with no whitespace.
pub fn write_params(params: &[Param]) -> String {
    let mut out = String::new();
    for (n, v) in params {
        out.push(';');
        out.push_str(n);
        if let Some(v) = v {
            out.push('=');
            out.push_str(v);
        }
    }
    out
}

/// Collapses every run of SP/HT outside quoted strings into one SP and trims the ends.
pub fn collapse_wsp(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let b = s.as_bytes();
    let mut pending_space = false;
    while i < b.len() {
        if is_wsp(b[i]) {
            pending_space = !out.is_empty();
            i += 1;
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        let end = if b[i] == b'"' {
            quoted_end(s, i).unwrap_or(b.len())
        } else {
            // Up to the next whitespace or quote; a char boundary, as both are ASCII.
            b[i + 1..]
                .iter()
                .position(|c| is_wsp(*c) || *c == b'"')
                .map_or(b.len(), |p| i + 1 + p)
        };
        out.push_str(&s[i..end]);
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        let cases: &[(&str, bool, bool)] = &[
            // (text, token, word)
            ("INVITE", true, true),
            ("!interesting-Method0123456789_*+`.%indeed'~", true, true),
            ("a b", false, false),
            ("", false, false),
            ("x@y", false, false),
            ("w`~)(><:\\/\"][?}{", false, true),
            ("caf\u{e9}", false, false),
        ];
        for (s, token, word) in cases {
            assert_eq!(is_token(s), *token, "token {s}");
            assert_eq!(is_word(s), *word, "word {s}");
        }
    }

    #[test]
    fn quoted_strings() {
        let cases: &[(&str, Option<usize>)] = &[
            (r#""abc" x"#, Some(5)),
            (r#""a \"b\" c""#, Some(11)),
            (r#""trailing \\""#, Some(13)),
            (r#""never ends"#, None),
            (r#""escaped end\""#, None),
            ("\"bell \\\u{7} ok\"", Some(12)),
            ("\"bare \u{1} ctl\"", None),
            ("\"utf8 \u{440}\u{430}\"", Some(11)),
            ("x", None),
        ];
        for (s, want) in cases {
            assert_eq!(quoted_end(s, 0), *want, "{s}");
        }
    }

    #[test]
    fn splits_outside_quotes_and_brackets() {
        assert_eq!(
            split_outside(r#""a,b" <sip:x;y,z>, c"#, b','),
            Some(vec![r#""a,b" <sip:x;y,z>"#, " c"])
        );
        assert_eq!(split_outside("<sip:x", b','), None);
        assert_eq!(split_outside("\"open", b','), None);
        assert_eq!(split_outside("", b','), Some(vec![""]));
    }

    #[test]
    fn hosts() {
        type HostPort<'a> = Option<(&'a str, Option<u16>)>;
        let cases: &[(&str, HostPort)] = &[
            ("example.com", Some(("example.com", None))),
            ("example.com.", Some(("example.com.", None))),
            ("h:5060", Some(("h", Some(5060)))),
            ("192.0.2.1:0", Some(("192.0.2.1", Some(0)))),
            ("[2001:db8::1]:5070", Some(("[2001:db8::1]", Some(5070)))),
            ("[2001:db8::1]", Some(("[2001:db8::1]", None))),
            ("999.0.0.1", None),
            ("h:99999", None),
            ("h:", None),
            ("-h.com", None),
            ("a..b", None),
            ("[::1", None),
            ("", None),
        ];
        for (s, want) in cases {
            assert_eq!(host_port(s), *want, "{s}");
        }
    }

    #[test]
    fn params() {
        let p = |n: &str, v: Option<&str>| (n.to_string(), v.map(str::to_string));
        let cases: &[(&str, Option<Vec<Param>>)] = &[
            ("", Some(vec![])),
            (
                " ;   tag    = 1918181833n",
                Some(vec![p("tag", Some("1918181833n"))]),
            ),
            (
                "; newparam = newvalue ; secondparam ; q = 0.33",
                Some(vec![
                    p("newparam", Some("newvalue")),
                    p("secondparam", None),
                    p("q", Some("0.33")),
                ]),
            ),
            (
                ";x=\"r\u{430}b; \\\"q\\\"\";y",
                Some(vec![p("x", Some("\"r\u{430}b; \\\"q\\\"\"")), p("y", None)]),
            ),
            (";;", None),
            (";a=", None),
            (";a b=c", None),
            ("a=b", None),
            (";maddr=[::1]", Some(vec![p("maddr", Some("[::1]"))])),
            (
                ";received=2001:db8::1",
                Some(vec![p("received", Some("2001:db8::1"))]),
            ),
        ];
        for (s, want) in cases {
            assert_eq!(generic_params(s), *want, "{s:?}");
        }
        assert_eq!(write_params(&[p("a", Some("1")), p("lr", None)]), ";a=1;lr");
    }

    #[test]
    fn collapses_whitespace_outside_quotes() {
        let cases = [
            ("  a \t b  ", "a b"),
            ("\"x  y\"   z", "\"x  y\" z"),
            ("", ""),
            ("one", "one"),
        ];
        for (s, want) in cases {
            assert_eq!(collapse_wsp(s), want, "{s:?}");
        }
        assert!(all_escaped("a%41b", |b| b.is_ascii_alphabetic()));
        assert!(!all_escaped("a%4", |b| b.is_ascii_alphabetic()));
        assert!(!all_escaped("a%zz", |_| true));
    }
}
