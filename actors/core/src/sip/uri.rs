//! URIs as RFC 3261 writes them (§19.1, §25.1): SIP and SIPS URIs checked part by part,
//! any other scheme as an `absoluteURI`; and the parser's [`Uri`] built from the parts,
//! so that a user part with `;` or `?` in it, or an unknown `transport`, keeps its meaning.

use std::net::IpAddr;

use rsipstack::sip::param::{OtherParam, OtherParamValue};
use rsipstack::sip::{Auth, Domain, Host, HostWithPort, Param, Port, Scheme};

use super::grammar::{all_escaped, host_port, is_reserved, is_unreserved};
use super::Uri;

/// The parts of a `sip:` or `sips:` URI, escapes kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri<'a> {
    /// `sips:`.
    pub secure: bool,
    /// User part (or telephone-subscriber).
    pub user: Option<&'a str>,
    /// Password after the user.
    pub password: Option<&'a str>,
    /// Host, IPv6 references with their brackets.
    pub host: &'a str,
    /// Port.
    pub port: Option<u16>,
    /// `uri-parameters`.
    pub params: Vec<(&'a str, Option<&'a str>)>,
    /// `headers` (`?name=value&...`).
    pub headers: Vec<(&'a str, &'a str)>,
}

/// A URI that follows the grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedUri<'a> {
    /// `sip:` / `sips:`.
    Sip(SipUri<'a>),
    /// Any other scheme (`tel:`, `mailto:`, ...): `absoluteURI`.
    Other {
        /// The scheme as written.
        scheme: &'a str,
        /// What follows the colon.
        rest: &'a str,
    },
}

fn is_scheme(s: &str) -> bool {
    let mut b = s.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic())
        && b.all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c))
}

fn user_char(b: u8) -> bool {
    is_unreserved(b) || b"&=+$,;?/".contains(&b)
}

fn password_char(b: u8) -> bool {
    is_unreserved(b) || b"&=+$,".contains(&b)
}

fn param_char(b: u8) -> bool {
    is_unreserved(b) || b"[]/:&+$".contains(&b)
}

fn header_char(b: u8) -> bool {
    is_unreserved(b) || b"[]/?:+$".contains(&b)
}

/// Parses a URI; `None` when it breaks the grammar (whitespace, brackets, a bad escape,
/// a malformed host or port, an empty parameter...).
pub fn parse(s: &str) -> Option<ParsedUri<'_>> {
    let (scheme, rest) = s.split_once(':')?;
    if !is_scheme(scheme) {
        return None;
    }
    let secure = scheme.eq_ignore_ascii_case("sips");
    if !(secure || scheme.eq_ignore_ascii_case("sip")) {
        let ok = !rest.is_empty() && all_escaped(rest, |b| is_reserved(b) || is_unreserved(b));
        return ok.then_some(ParsedUri::Other { scheme, rest });
    }
    let (userinfo, after) = match rest.split_once('@') {
        Some((u, a)) => (Some(u), a),
        None => (None, rest),
    };
    let (user, password) =
        match userinfo.map(|u| u.split_once(':').map_or((u, None), |(u, p)| (u, Some(p)))) {
            Some((u, p)) => {
                if u.is_empty() || !all_escaped(u, user_char) {
                    return None;
                }
                if p.is_some_and(|p| !all_escaped(p, password_char)) {
                    return None;
                }
                (Some(u), p)
            }
            None => (None, None),
        };
    let (before_headers, headers_text) = match after.split_once('?') {
        Some((a, h)) => (a, Some(h)),
        None => (after, None),
    };
    let mut pieces = before_headers.split(';');
    let (host, port) = host_port(pieces.next()?)?;
    let mut params = Vec::new();
    for p in pieces {
        let (name, value) = p.split_once('=').map_or((p, None), |(n, v)| (n, Some(v)));
        let good = |t: &str| !t.is_empty() && all_escaped(t, param_char);
        if !good(name) || value.is_some_and(|v| !good(v)) {
            return None;
        }
        params.push((name, value));
    }
    let mut headers = Vec::new();
    if let Some(h) = headers_text {
        for kv in h.split('&') {
            let (name, value) = kv.split_once('=')?;
            if name.is_empty()
                || !all_escaped(name, header_char)
                || !all_escaped(value, header_char)
            {
                return None;
            }
            headers.push((name, value));
        }
    }
    Some(ParsedUri::Sip(SipUri {
        secure,
        user,
        password,
        host,
        port,
        params,
        headers,
    }))
}

impl ParsedUri<'_> {
    /// The scheme, lower-case.
    pub fn scheme(&self) -> String {
        match self {
            Self::Sip(u) if u.secure => "sips".into(),
            Self::Sip(_) => "sip".into(),
            Self::Other { scheme, .. } => scheme.to_ascii_lowercase(),
        }
    }

    /// The parser's [`Uri`] with the same meaning (escapes kept as written). Other schemes
    /// keep their text after the colon as the host, so they print back unchanged.
    pub fn to_uri(&self) -> Uri {
        match self {
            Self::Other { scheme, rest } => Uri {
                scheme: Some(Scheme::Other((*scheme).to_string())),
                auth: None,
                host_with_port: Domain::from(*rest).into(),
                params: Vec::new(),
                headers: Vec::new(),
            },
            Self::Sip(u) => {
                let host = match u.host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
                    Some(v6) => v6
                        .parse::<IpAddr>()
                        .map_or_else(|_| Host::Domain(Domain::from(v6)), Host::IpAddr),
                    None => u
                        .host
                        .parse::<IpAddr>()
                        .map_or_else(|_| Host::Domain(Domain::from(u.host)), Host::IpAddr),
                };
                Uri {
                    scheme: Some(if u.secure { Scheme::Sips } else { Scheme::Sip }),
                    auth: u.user.map(|user| Auth {
                        user: user.to_string(),
                        password: u.password.map(str::to_string),
                    }),
                    host_with_port: HostWithPort {
                        host,
                        port: u.port.map(Port),
                    },
                    params: u
                        .params
                        .iter()
                        .map(|(n, v)| {
                            Param::try_from((*n, *v)).unwrap_or_else(|_| {
                                Param::Other(OtherParam::new(*n), v.map(OtherParamValue::new))
                            })
                        })
                        .collect(),
                    headers: u
                        .headers
                        .iter()
                        .map(|(n, v)| ((*n).to_string(), (*v).to_string()))
                        .collect(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        let cases: &[(&str, Option<&str>)] = &[
            // (uri, scheme when valid)
            ("sip:100@gw.example", Some("sip")),
            ("SIP:100@GW", Some("sip")),
            ("sips:alice:secret@h:5061;transport=tls", Some("sips")),
            ("sip:gw", Some("sip")),
            ("sip:[2001:db8::1]:5070;lr", Some("sip")),
            ("sip:user;par=u%40example.net@example.com", Some("sip")),
            ("sip:sips%3Auser%40example.com@example.net", Some("sip")),
            ("sip:null-%00-null@example.com", Some("sip")),
            ("sip:c%6Cer@h;%6C%72;n%61me=v%61lue%25%34%31", Some("sip")),
            (
                "sip:1_odd.User~(yes!)&it's+$/x?,/;;*:&pw+=1,!*$~_.(p)@example.com",
                Some("sip"),
            ),
            ("sip:u@h?Route=%3Csip:example.com%3E&Subject=x", Some("sip")),
            ("sip:u@h;transport=foo", Some("sip")),
            ("tel:+5511999990000;phone-context=x", Some("tel")),
            ("nobodyKnowsThis:totallyopaque", Some("nobodyknowsthis")),
            ("soap.beep://192.0.2.103:3002", Some("soap.beep")),
            ("isbn:2983792873", Some("isbn")),
            ("sip:user@example.com; lr", None),
            ("<sip:user@example.com>", None),
            ("sip:", None),
            ("sip:@h", None),
            ("sip:u@", None),
            ("sip:u@h;;x", None),
            ("sip:u@h;x=", None),
            ("sip:u%4@h", None),
            ("sip:u@h:port", None),
            ("sip:u@h:70000", None),
            ("sip:u@h?novalue", None),
            ("sip:a b@h", None),
            ("1sip:x", None),
            ("tel:", None),
            ("mailto:a b", None),
            ("nocolon", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse(s).map(|u| u.scheme()).as_deref(), *want, "{s}");
        }
    }

    #[test]
    fn builds_the_parsers_uri() {
        let u = parse("sip:user;par=u%40x@example.com:5070;transport=foo;lr?h=v")
            .expect("valid")
            .to_uri();
        assert_eq!(u.user(), Some("user;par=u%40x"));
        assert_eq!(u.host_with_port.to_string(), "example.com:5070");
        assert_eq!(u.params.len(), 2);
        assert_eq!(u.headers, vec![("h".to_string(), "v".to_string())]);
        let v6 = parse("sip:[::1]").expect("valid").to_uri();
        assert_eq!(v6.to_string(), "sip:[::1]");
        let tel = parse("tel:+1-555;phone-context=x").expect("valid").to_uri();
        assert_eq!(tel.to_string(), "tel:+1-555;phone-context=x");
    }
}
