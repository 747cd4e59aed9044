//! Reading the headers e173gw needs, from the untyped values the parser keeps.

use super::{Header, Headers};

/// Values of every header of one variant, e.g. `values!(h, Via)`.
macro_rules! values {
    ($headers:expr, $variant:ident) => {
        $headers.iter().filter_map(|h| match h {
            Header::$variant(x) => Some(x.value()),
            _ => None,
        })
    };
}

/// `Call-ID`.
pub fn call_id(h: &Headers) -> Option<&str> {
    values!(h, CallId).next().map(str::trim)
}

/// A parsed `CSeq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// Sequence number (< 2^31).
    pub seq: u32,
    /// Method, as written.
    pub method: String,
}

/// `CSeq: <n> <METHOD>`.
pub fn cseq(h: &Headers) -> Option<CSeq> {
    let v = values!(h, CSeq).next()?;
    let mut parts = v.split_whitespace();
    let seq: u32 = parts.next()?.parse().ok()?;
    let method = parts.next()?.to_string();
    (seq < (1 << 31) && parts.next().is_none()).then_some(CSeq { seq, method })
}

/// A parsed `Via` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// `UDP`, `TCP`, ...
    pub transport: String,
    /// sent-by host (IPv6 without brackets).
    pub host: String,
    /// sent-by port.
    pub port: Option<u16>,
    /// `branch` parameter.
    pub branch: Option<String>,
    /// `received` parameter.
    pub received: Option<String>,
    /// `rport` parameter: `Some(None)` when present without a value.
    pub rport: Option<Option<u16>>,
}

/// Splits one `Via` header value into its comma-separated entries.
pub fn via_entries(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// Parses one Via entry: `SIP/2.0/UDP host:port;branch=...;rport`.
pub fn parse_via(entry: &str) -> Option<Via> {
    let mut parts = entry.split(';');
    let head = parts.next()?.trim();
    let (proto, sent_by) = head.split_once(char::is_whitespace)?;
    let transport = proto.trim().rsplit('/').next()?.to_ascii_uppercase();
    if !proto.trim().to_ascii_uppercase().starts_with("SIP/2.0/") {
        return None;
    }
    let (host, port) = split_host_port(sent_by.trim())?;
    let mut via = Via {
        transport,
        host,
        port,
        branch: None,
        received: None,
        rport: None,
    };
    for p in parts {
        let (k, v) = p
            .split_once('=')
            .map_or((p.trim(), None), |(k, v)| (k.trim(), Some(v.trim())));
        match k.to_ascii_lowercase().as_str() {
            "branch" => via.branch = v.map(str::to_string),
            "received" => via.received = v.map(str::to_string),
            "rport" => via.rport = Some(v.and_then(|v| v.parse().ok())),
            _ => {}
        }
    }
    Some(via)
}

/// `host:port`, `[v6]:port`, `host` → (host, port).
pub fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Some((h.to_string(), Some(p.parse().ok()?))),
        _ if !s.is_empty() => Some((s.to_string(), None)),
        _ => None,
    }
}

/// The first (topmost) Via entry.
pub fn top_via(h: &Headers) -> Option<Via> {
    values!(h, Via)
        .next()
        .and_then(|v| via_entries(v).next())
        .and_then(parse_via)
}

/// Every Via entry, top first.
pub fn all_vias(h: &Headers) -> Vec<&str> {
    values!(h, Via).flat_map(via_entries).collect()
}

/// The header parameters of a name-addr value (after `>`, or after the URI when there are
/// no angle brackets); a quoted display name may hold `<`, `>` or `;`.
fn header_params(value: &str) -> &str {
    let rest = match value
        .trim_start()
        .starts_with('"')
        .then(|| {
            let v = value.trim_start();
            super::grammar::quoted_end(v, 0).map(|e| &v[e..])
        })
        .flatten()
    {
        Some(r) => r,
        None => value,
    };
    match rest.find('<') {
        Some(a) => rest[a..].find('>').map_or("", |b| &rest[a + b + 1..]),
        None => rest.find(';').map_or("", |i| &rest[i..]),
    }
}

/// A parameter of a name-addr header (`tag`, `expires`, ...).
pub fn header_param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    header_params(value).split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The `tag` of `From`.
pub fn from_tag(h: &Headers) -> Option<&str> {
    values!(h, From).next().and_then(|v| header_param(v, "tag"))
}

/// The `tag` of `To`.
pub fn to_tag(h: &Headers) -> Option<&str> {
    values!(h, To).next().and_then(|v| header_param(v, "tag"))
}

/// `From` value.
pub fn from(h: &Headers) -> Option<&str> {
    values!(h, From).next()
}

/// `To` value.
pub fn to(h: &Headers) -> Option<&str> {
    values!(h, To).next()
}

/// The URI of a name-addr (`"Bob" <sip:bob@h>;tag=1` → `sip:bob@h`); a quoted display
/// name may hold `<`, `>` or `;`.
pub fn name_addr_uri(value: &str) -> &str {
    let value = value.trim();
    let rest = match value
        .starts_with('"')
        .then(|| super::grammar::quoted_end(value, 0))
        .flatten()
    {
        Some(end) => &value[end..],
        None => value,
    };
    if let Some(a) = rest.find('<') {
        if let Some(b) = rest[a..].find('>') {
            return rest[a + 1..a + b].trim();
        }
    }
    rest.split(';').next().unwrap_or(rest).trim()
}

/// The user part of a `sip:`/`sips:` URI, percent-decoded; the number of a `tel:` URI.
pub fn uri_user(uri: &str) -> Option<String> {
    let uri = uri.trim();
    let lower = uri
        .get(..5)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let rest = if lower.starts_with("sips:") {
        &uri[5..]
    } else if lower.starts_with("sip:") {
        &uri[4..]
    } else if lower.starts_with("tel:") {
        let n = &uri[4..];
        return Some(n.split(';').next().unwrap_or(n).to_string());
    } else {
        return None;
    };
    let user = rest.split_once('@')?.0;
    let user = user
        .split(';')
        .next()
        .unwrap_or(user)
        .split(':')
        .next()
        .unwrap_or(user);
    unescape(user)
}

/// Undoes `%XX` escapes (RFC 3261 §19.1.2); `None` when an escape is malformed or the
/// result is not UTF-8. An escaped control character (`%00`, `%0A`, `%7F`...) stays
/// escaped, so the result never holds one.
pub fn unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            let byte = u8::from_str_radix(hex, 16).ok()?;
            if byte < 0x20 || byte == 0x7f {
                out.extend_from_slice(&b[i..i + 3]);
            } else {
                out.push(byte);
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The address a `sip:` URI with a literal IP host points at (default port 5060); `None`
/// for names (e173gw resolves no DNS on the call path).
pub fn uri_target(uri: &str) -> Option<std::net::SocketAddr> {
    let lower = uri.trim().to_ascii_lowercase();
    let rest = lower.strip_prefix("sip:")?;
    let host_part = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host_part = host_part.split([';', '?', '>']).next()?;
    let (host, port) = split_host_port(host_part)?;
    let ip: std::net::IpAddr = host.parse().ok()?;
    Some(std::net::SocketAddr::new(ip, port.unwrap_or(5060)))
}

/// `Max-Forwards`, when present and numeric.
pub fn max_forwards(h: &Headers) -> Option<u32> {
    values!(h, MaxForwards)
        .next()
        .and_then(|v| v.trim().parse().ok())
}

/// `Content-Type` (without parameters, lower-case).
pub fn content_type(h: &Headers) -> Option<String> {
    values!(h, ContentType)
        .next()
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_ascii_lowercase())
}

/// The URI of the first `Contact`.
pub fn contact_uri(h: &Headers) -> Option<&str> {
    values!(h, Contact)
        .next()
        .map(|v| name_addr_uri(v.split(',').next().unwrap_or(v)))
}

/// `Record-Route` entries in order.
pub fn record_route(h: &Headers) -> Vec<String> {
    values!(h, RecordRoute)
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Option tags of every `Require` header, as written.
pub fn require(h: &Headers) -> Vec<String> {
    values!(h, Require)
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Whether the `Accept` headers allow an SDP body (no `Accept` at all does; an empty one
/// accepts nothing, RFC 3261 §20.1).
pub fn accepts_sdp(h: &Headers) -> bool {
    let mut ranges = values!(h, Accept)
        .flat_map(|v| v.split(','))
        .map(|r| r.split(';').next().unwrap_or(r).trim().to_ascii_lowercase())
        .filter(|r| !r.is_empty())
        .peekable();
    if values!(h, Accept).next().is_none() {
        return true;
    }
    ranges.peek().is_some()
        && ranges.any(|r| matches!(r.as_str(), "application/sdp" | "application/*" | "*/*"))
}

/// A header the parser keeps as "other", by name (case-insensitive).
pub fn other<'a>(h: &'a Headers, name: &str) -> Option<&'a str> {
    h.iter().find_map(|x| match x {
        Header::Other(n, v) if n.eq_ignore_ascii_case(name) => Some(v.as_str()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_forms() {
        let cases = [
            (
                "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport",
                Some(("UDP", "10.0.0.1", Some(5060), Some("z9hG4bK1"), Some(None))),
            ),
            (
                "SIP/2.0/TCP host.example;branch=z9hG4bKx;received=1.2.3.4;rport=5062",
                Some((
                    "TCP",
                    "host.example",
                    None,
                    Some("z9hG4bKx"),
                    Some(Some(5062)),
                )),
            ),
            (
                "SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bK2",
                Some(("UDP", "2001:db8::1", Some(5070), Some("z9hG4bK2"), None)),
            ),
            ("SIP/2.0/UDP", None),
            ("HTTP/1.1 host", None),
            ("SIP/2.0/UDP host:notaport", None),
        ];
        for (entry, want) in cases {
            let got = parse_via(entry);
            let got = got.as_ref().map(|v| {
                (
                    v.transport.as_str(),
                    v.host.as_str(),
                    v.port,
                    v.branch.as_deref(),
                    v.rport,
                )
            });
            assert_eq!(got, want, "{entry}");
        }
        assert_eq!(
            via_entries("SIP/2.0/UDP a;branch=1, SIP/2.0/UDP b;branch=2").count(),
            2
        );
    }

    #[test]
    fn name_addrs_tags_and_users() {
        assert_eq!(
            name_addr_uri("\"Bob\" <sip:bob@h;transport=tcp>;tag=1"),
            "sip:bob@h;transport=tcp"
        );
        assert_eq!(name_addr_uri("sip:bob@h;tag=1"), "sip:bob@h");
        assert_eq!(
            header_param("<sip:bob@h;tag=uri>;tag=hdr", "tag"),
            Some("hdr")
        );
        assert_eq!(header_param("sip:bob@h;tag=x", "tag"), Some("x"));
        assert_eq!(header_param("<sip:bob@h;tag=uri>", "tag"), None);
        assert_eq!(name_addr_uri("\"a <x> ;b\" <sip:y@h>;tag=2"), "sip:y@h");
        assert_eq!(
            header_param("\"a>;tag=no\" <sip:y@h>;tag=2", "tag"),
            Some("2")
        );
        assert_eq!(header_param("\"a;tag=no\" sip:y@h", "tag"), None);
        let accept = |v: &[&str]| {
            let mut h = Headers::default();
            for x in v {
                h.push(super::super::build::header("Accept", *x));
            }
            accepts_sdp(&h)
        };
        assert!(accept(&[]));
        assert!(accept(&["application/sdp"]));
        assert!(accept(&["text/plain, application/*;q=0.5"]));
        assert!(accept(&["*/*"]));
        assert!(!accept(&["text/nobodyKnowsThis"]));
        assert!(!accept(&[""]));
        let users = [
            ("sip:+5511999990000@gw.example", Some("+5511999990000")),
            ("sip:%2B5511@gw;user=phone", Some("+5511")),
            ("sips:alice:secret@h", Some("alice")),
            ("tel:+15555551234;phone-context=x", Some("+15555551234")),
            ("sip:gw.example", None),
            ("http://x", None),
            ("sip:%zz@h", None),
            ("sip:null-%00-null@h", Some("null-%00-null")),
            ("sip:%00%0a%7F%41@h", Some("%00%0a%7FA")),
        ];
        for (uri, want) in users {
            assert_eq!(uri_user(uri).as_deref(), want, "{uri}");
        }
    }

    #[test]
    fn uri_targets() {
        assert_eq!(
            uri_target("sip:agent@127.0.0.1:5070"),
            Some("127.0.0.1:5070".parse().unwrap())
        );
        assert_eq!(uri_target("sip:[::1]"), Some("[::1]:5060".parse().unwrap()));
        assert_eq!(
            uri_target("sip:10.0.0.1;transport=udp"),
            Some("10.0.0.1:5060".parse().unwrap())
        );
        assert_eq!(uri_target("sip:agent@example.com"), None);
        assert_eq!(uri_target("tel:+1"), None);
    }

    #[test]
    fn host_port() {
        assert_eq!(split_host_port("h:5060"), Some(("h".into(), Some(5060))));
        assert_eq!(split_host_port("[::1]"), Some(("::1".into(), None)));
        assert_eq!(split_host_port("[::1]x"), None);
        assert_eq!(split_host_port(""), None);
    }
}
