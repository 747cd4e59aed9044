//! Header values put in one plain form: LWS around `/`, `;`, `=`, `:` and `,` dropped
//! (RFC 3261 §7.3.1, §25.1 SWS), numbers without leading zeros, and the grammar of each
//! structured header checked. Input is unfolded with whitespace runs already collapsed
//! (see [`super::super::grammar::collapse_wsp`]). `None` means the value is malformed.

use crate::sip::grammar::{
    generic_params, host_port, is_token, is_token_char, is_word, quoted_end, split_outside,
    write_params,
};
use crate::sip::uri;

/// `protocol-name SLASH protocol-version SLASH transport`, with the text after it.
fn sent_protocol(e: &str) -> Option<(String, &str)> {
    let mut parts = Vec::with_capacity(3);
    let mut rest = e;
    for i in 0..3 {
        if i > 0 {
            rest = rest.trim_start().strip_prefix('/')?.trim_start();
        }
        let n = rest.bytes().take_while(|b| is_token_char(*b)).count();
        if n == 0 {
            return None;
        }
        parts.push(&rest[..n]);
        rest = &rest[n..];
    }
    Some((
        format!(
            "{}/{}/{}",
            parts[0].to_ascii_uppercase(),
            parts[1],
            parts[2].to_ascii_uppercase()
        ),
        rest,
    ))
}

/// `host [ COLON port ]` with SWS around the colon.
fn sent_by(s: &str) -> Option<String> {
    let s = s.trim();
    let (host, port) = if s.starts_with('[') {
        let close = s.find(']')?;
        (&s[..=close], s[close + 1..].trim())
    } else {
        match s.find(':') {
            Some(i) => (s[..i].trim_end(), s[i..].trim()),
            None => (s, ""),
        }
    };
    let text = if port.is_empty() {
        host.to_string()
    } else {
        format!("{host}:{}", port.strip_prefix(':')?.trim_start())
    };
    host_port(&text)?;
    Some(text)
}

fn via_parm(e: &str) -> Option<String> {
    let (proto, rest) = sent_protocol(e.trim())?;
    if !rest.starts_with(' ') {
        return None;
    }
    let semi = rest.find(';').unwrap_or(rest.len());
    let by = sent_by(&rest[..semi])?;
    let params = generic_params(&rest[semi..])?;
    if params
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("branch") && v.is_none())
    {
        return None;
    }
    Some(format!("{proto} {by}{}", write_params(&params)))
}

/// `Via`: one or more `via-parm`s separated by commas.
pub(super) fn via(v: &str) -> Option<String> {
    let parms: Option<Vec<String>> = split_outside(v, b',')?.into_iter().map(via_parm).collect();
    Some(parms?.join(", "))
}

/// `name-addr` or `addr-spec`, with header parameters: `From`, `To`, one `Contact`.
pub(super) fn name_addr(v: &str) -> Option<String> {
    let v = v.trim();
    let (display, rest) = if v.starts_with('"') {
        let end = quoted_end(v, 0)?;
        let rest = v[end..].trim_start();
        (Some(&v[..end]), rest)
    } else if let Some(lt) = v.find('<') {
        let d = v[..lt].trim();
        if !d.is_empty() && !d.split(' ').all(is_token) {
            return None;
        }
        (Some(d).filter(|d| !d.is_empty()), &v[lt..])
    } else {
        let end = v.find(';').unwrap_or(v.len());
        let addr = v[..end].trim();
        uri::parse(addr)?;
        let params = generic_params(&v[end..])?;
        return Some(format!("{addr}{}", write_params(&params)));
    };
    let inner = rest.strip_prefix('<')?;
    let gt = inner.find('>')?;
    let addr = &inner[..gt];
    uri::parse(addr)?;
    let params = write_params(&generic_params(&inner[gt + 1..])?);
    Some(match display {
        Some(d) => format!("{d} <{addr}>{params}"),
        None => format!("<{addr}>{params}"),
    })
}

/// A comma list of [`name_addr`]s (`Route`, `Record-Route`).
pub(super) fn name_addr_list(v: &str) -> Option<String> {
    let items: Option<Vec<String>> = split_outside(v, b',')?.into_iter().map(name_addr).collect();
    Some(items?.join(", "))
}

/// `Contact`: `*` or a list of [`name_addr`]s.
pub(super) fn contact(v: &str) -> Option<String> {
    if v.trim() == "*" {
        return Some("*".into());
    }
    name_addr_list(v)
}

/// Digits only, at most `max`; written without leading zeros.
pub(super) fn number(v: &str, max: u64) -> Option<String> {
    let v = v.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = v.trim_start_matches('0');
    if digits.len() > 19 {
        return None;
    }
    let n: u64 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    (n <= max).then(|| n.to_string())
}

/// `CSeq: 1*DIGIT LWS Method`, the number below 2^31 (§8.1.1.5).
pub(super) fn cseq(v: &str) -> Option<String> {
    let (n, m) = v.trim().split_once(' ')?;
    let n = number(n, (1 << 31) - 1)?;
    is_token(m.trim()).then(|| format!("{n} {}", m.trim()))
}

/// `Call-ID: word [ "@" word ]`.
pub(super) fn call_id(v: &str) -> Option<String> {
    let v = v.trim();
    let ok = match v.split_once('@') {
        Some((a, b)) => is_word(a) && is_word(b),
        None => is_word(v),
    };
    ok.then(|| v.to_string())
}

/// `m-type SLASH m-subtype *( SEMI m-parameter )` (`Content-Type`, one `Accept` range).
pub(super) fn media_type(v: &str) -> Option<String> {
    let v = v.trim();
    let semi = v.find(';').unwrap_or(v.len());
    let (t, s) = v[..semi].split_once('/')?;
    let (t, s) = (t.trim(), s.trim());
    if !is_token(t) || !is_token(s) {
        return None;
    }
    let params = generic_params(&v[semi..])?;
    Some(format!("{t}/{s}{}", write_params(&params)))
}

/// `Accept`: a possibly empty list of media ranges.
pub(super) fn media_list(v: &str) -> Option<String> {
    if v.trim().is_empty() {
        return Some(String::new());
    }
    let items: Option<Vec<String>> = split_outside(v, b',')?
        .into_iter()
        .map(media_type)
        .collect();
    Some(items?.join(", "))
}

/// A comma list of tokens (`Require`, `Supported`, `Allow`, ...); empty only when
/// `allow_empty`.
pub(super) fn token_list(v: &str, allow_empty: bool) -> Option<String> {
    if v.trim().is_empty() {
        return allow_empty.then(String::new);
    }
    let items: Vec<&str> = v.split(',').map(str::trim).collect();
    items.iter().all(|t| is_token(t)).then(|| items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    type Case = (&'static str, Option<&'static str>);

    fn run(f: fn(&str) -> Option<String>, cases: &[Case]) {
        for (input, want) in cases {
            assert_eq!(f(input).as_deref(), *want, "{input:?}");
        }
    }

    #[test]
    fn vias() {
        run(
            via,
            &[
                ("SIP/2.0/UDP h;branch=z9hG4bK1", Some("SIP/2.0/UDP h;branch=z9hG4bK1")),
                ("SIP / 2.0 / UDP 192.0.2.2;branch=390skdjuw", Some("SIP/2.0/UDP 192.0.2.2;branch=390skdjuw")),
                (
                    "SIP / 2.0 / TCP spindle.example ; branch = z9hG4bK9i , SIP / 2.0 / UDP 192.168.255.111 ; branch= z9hG4bK3",
                    Some("SIP/2.0/TCP spindle.example;branch=z9hG4bK9i, SIP/2.0/UDP 192.168.255.111;branch=z9hG4bK3"),
                ),
                ("sip/2.0/sctp h : 5070 ;rport", Some("SIP/2.0/SCTP h:5070;rport")),
                ("SIP/2.0/WSS [2001:db8::1]:443;received=2001:db8::2", Some("SIP/2.0/WSS [2001:db8::1]:443;received=2001:db8::2")),
                ("SIP/2.0/FOO t4.example;branch=z9hG4bKx", Some("SIP/2.0/FOO t4.example;branch=z9hG4bKx")),
                ("SIP/7.0/UDP h", Some("SIP/7.0/UDP h")),
                ("SIP/2.0/UDP 192.0.2.15;;,;,,", None),
                ("SIP/2.0/UDP h,", None),
                ("SIP/2.0/UDP h;branch", None),
                ("SIP/2.0/UDP h;branch=", None),
                ("SIP/2.0/UDP", None),
                ("SIP/2.0/UDPh", None),
                ("SIP/2.0 h", None),
                ("SIP/2.0/UDP h h2", None),
                ("SIP/2.0/UDP h:port", None),
            ],
        );
    }

    #[test]
    fn name_addrs() {
        run(
            name_addr,
            &[
                ("<sip:a@h>;tag=1", Some("<sip:a@h>;tag=1")),
                ("\"Alice\"<sip:a@h>", Some("\"Alice\" <sip:a@h>")),
                ("caller<sip:caller@example.com>;tag=323", Some("caller <sip:caller@example.com>;tag=323")),
                ("\"J R \\\\\\\"\" <sip:j@h> ; tag = 98a", Some("\"J R \\\\\\\"\" <sip:j@h>;tag=98a")),
                ("sip:v@h.example ; tag = 19n", Some("sip:v@h.example;tag=19n")),
                ("sip:%75se%72@example.com", Some("sip:%75se%72@example.com")),
                ("tok1~` tok2'+_ tok3*%!.- <sip:m@h>;p''~+*_!.-%=\"\u{440}\u{430}\";tag=_t~1'+`*%!-.", Some("tok1~` tok2'+_ tok3*%!.- <sip:m@h>;p''~+*_!.-%=\"\u{440}\u{430}\";tag=_t~1'+`*%!-.")),
                ("\"a<b>\" <sip:x@h>", Some("\"a<b>\" <sip:x@h>")),
                ("isbn:2983792873", Some("isbn:2983792873")),
                ("<http://www.example.com>;tag=3", Some("<http://www.example.com>;tag=3")),
                ("\"Mr. J. User <sip:j.user@example.com>", None),
                ("Bell, Alexander <sip:a.g.bell@example.com>;tag=43", None),
                ("\"Watson, Thomas\" < sip:t.watson@example.org >", None),
                ("\"Joe\" <sip:joe@example.org>;;;;", None),
                ("<sip:a@h", None),
                ("\"x\" sip:a@h", None),
                ("", None),
                ("sip:a@h;tag", Some("sip:a@h;tag")),
            ],
        );
        run(
            contact,
            &[
                ("*", Some("*")),
                (
                    "<sip:a@h>, \"B, C\" <sip:b@h>;q=0.5",
                    Some("<sip:a@h>, \"B, C\" <sip:b@h>;q=0.5"),
                ),
                (
                    "sip:+1972@gw.example;unknownparam",
                    Some("sip:+1972@gw.example;unknownparam"),
                ),
                (
                    "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
                    Some("sip:user@example.com?Route=%3Csip:sip.example.com%3E"),
                ),
                ("<sip:a@h>,", None),
            ],
        );
    }

    #[test]
    fn scalars() {
        run(
            cseq,
            &[
                ("0009 INVITE", Some("9 INVITE")),
                ("2147483647 OPTIONS", Some("2147483647 OPTIONS")),
                ("2147483648 OPTIONS", None),
                ("36893488147419103232 REGISTER", None),
                ("-1 INVITE", None),
                ("1", None),
                ("1 IN VITE", None),
                ("x INVITE", None),
            ],
        );
        let mf = |v: &str| number(v, 255);
        run(
            mf,
            &[
                ("0068", Some("68")),
                ("0", Some("0")),
                ("255", Some("255")),
                ("300", None),
                ("-1", None),
                ("", None),
                ("1e3", None),
            ],
        );
        run(
            call_id,
            &[
                ("abc@192.0.2.1", Some("abc@192.0.2.1")),
                (
                    "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{",
                    Some("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"),
                ),
                ("a b", None),
                ("a@b@c", None),
                ("", None),
            ],
        );
        run(
            media_type,
            &[
                ("application/sdp", Some("application/sdp")),
                (
                    "multipart/mixed ; boundary = \"x y\"",
                    Some("multipart/mixed;boundary=\"x y\""),
                ),
                ("application / sdp", Some("application/sdp")),
                ("application", None),
                ("text/", None),
            ],
        );
        run(
            media_list,
            &[
                ("", Some("")),
                ("*/*", Some("*/*")),
                (
                    "application/sdp , text/plain;q=0.1",
                    Some("application/sdp, text/plain;q=0.1"),
                ),
            ],
        );
        let req = |v: &str| token_list(v, false);
        run(
            req,
            &[
                (
                    "nothingSupportsThis , nothingSupportsThisEither",
                    Some("nothingSupportsThis, nothingSupportsThisEither"),
                ),
                ("", None),
                ("a b", None),
            ],
        );
        let sup = |v: &str| token_list(v, true);
        run(
            sup,
            &[("", Some("")), ("timer,100rel", Some("timer, 100rel"))],
        );
    }
}
