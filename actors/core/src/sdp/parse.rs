//! Text → [`SessionDescription`].

use std::net::IpAddr;

use super::model::{
    AddressType, Attribute, Connection, Direction, Fmtp, MediaDescription, Origin, OtherLine,
    RtpMap, SessionDescription, Timing,
};
use super::{LineError, SdpError, MAX_SDP_LEN};

/// Longest excerpt of a bad line kept in an error.
const EXCERPT: usize = 80;

pub(super) fn parse_bytes(body: &[u8]) -> Result<SessionDescription, SdpError> {
    if body.len() > MAX_SDP_LEN {
        return Err(SdpError::TooLarge(body.len()));
    }
    let text = std::str::from_utf8(body).map_err(|_| SdpError::NotUtf8)?;
    parse(text)
}

pub(super) fn parse(text: &str) -> Result<SessionDescription, SdpError> {
    if text.len() > MAX_SDP_LEN {
        return Err(SdpError::TooLarge(text.len()));
    }
    let mut p = Partial::default();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let line = line.trim_end_matches([' ', '\t']);
        if line.is_empty() {
            continue;
        }
        p.tolerant_line(line).map_err(|kind| SdpError::BadLine {
            line: i + 1,
            text: excerpt(line),
            kind,
        })?;
    }
    p.finish()
}

fn excerpt(line: &str) -> String {
    match line.char_indices().nth(EXCERPT) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line.to_owned(),
    }
}

#[derive(Default)]
struct Partial {
    version: bool,
    origin: Option<Origin>,
    session_name: Option<String>,
    connection: Option<Connection>,
    timing: Option<Timing>,
    attributes: Vec<Attribute>,
    other: Vec<OtherLine>,
    media: Vec<MediaDescription>,
}

impl Partial {
    /// Reads a line, liberally (RFC 3264 §6, RFC 4566 §5): what the gateway does not
    /// rely on never fails the body. Unknown line types, session lines inside a media
    /// section, a second `s=` or `c=`, a malformed `t=` or `c=` (kept as raw lines: a
    /// stream whose connection was malformed is refused when chosen), malformed
    /// attributes (kept as [`Attribute::Other`]), a malformed `m=` line of another media
    /// than audio (kept as a rejected stream) and lines not of the `x=` form (skipped)
    /// are tolerated. `v=`, `o=` and audio `m=` lines must be right.
    fn tolerant_line(&mut self, line: &str) -> Result<(), LineError> {
        let err = match self.line(line) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if !self.version {
            return Err(err);
        }
        let value = line.get(2..).unwrap_or_default();
        let kind = line.chars().next().unwrap_or('?');
        match err {
            LineError::NotTypeValue => Ok(()),
            LineError::UnknownType(_)
            | LineError::SessionOnly(_)
            | LineError::Duplicate('s' | 'c')
            | LineError::Connection
            | LineError::Timing => {
                self.keep_raw(kind, value);
                Ok(())
            }
            LineError::Attribute | LineError::RtpMap | LineError::Fmtp | LineError::Ptime => {
                let (name, v) = match value.split_once(':') {
                    Some((n, v)) => (n, Some(v.to_owned())),
                    None => (value, None),
                };
                let a = Attribute::Other {
                    name: name.to_owned(),
                    value: v,
                };
                match self.media.last_mut() {
                    Some(m) => m.attributes.push(a),
                    None => self.attributes.push(a),
                }
                Ok(())
            }
            LineError::Media => {
                let f: Vec<&str> = value.split_whitespace().collect();
                let media = f.first().copied().unwrap_or("unknown");
                if media.eq_ignore_ascii_case("audio") {
                    return Err(err);
                }
                let protocol = f.get(2).copied().unwrap_or("RTP/AVP");
                let mut formats: Vec<String> = f.iter().skip(3).map(|s| (*s).to_owned()).collect();
                if formats.is_empty() {
                    formats.push("0".to_owned());
                }
                self.media
                    .push(MediaDescription::new(media, 0, protocol, formats));
                Ok(())
            }
            _ => Err(err),
        }
    }

    /// Keeps a line as read, in the current media section or at session level.
    fn keep_raw(&mut self, kind: char, value: &str) {
        let other = OtherLine {
            kind,
            value: value.to_owned(),
        };
        match self.media.last_mut() {
            Some(m) => m.other.push(other),
            None => self.other.push(other),
        }
    }

    fn line(&mut self, line: &str) -> Result<(), LineError> {
        let bytes = line.as_bytes();
        // A non-ASCII first byte is followed by a continuation byte, never `=`, so the
        // first byte is ASCII here and index 2 is a character boundary.
        if bytes.len() < 2 || bytes[1] != b'=' {
            return Err(LineError::NotTypeValue);
        }
        let kind = char::from(bytes[0]);
        let value = &line[2..];
        if !self.version {
            if kind != 'v' {
                return Err(LineError::VersionNotFirst);
            }
            if value.trim() != "0" {
                return Err(LineError::Version);
            }
            self.version = true;
            return Ok(());
        }
        let in_media = !self.media.is_empty();
        match kind {
            'v' => Err(LineError::Duplicate('v')),
            'o' | 's' | 't' | 'r' | 'z' | 'u' | 'e' | 'p' if in_media => {
                Err(LineError::SessionOnly(kind))
            }
            'o' => {
                if self.origin.is_some() {
                    return Err(LineError::Duplicate('o'));
                }
                self.origin = Some(parse_origin(value).ok_or(LineError::Origin)?);
                Ok(())
            }
            's' => {
                if self.session_name.is_some() {
                    return Err(LineError::Duplicate('s'));
                }
                let name = value.trim();
                self.session_name = Some(if name.is_empty() { "-" } else { name }.to_owned());
                Ok(())
            }
            't' if self.timing.is_none() => {
                self.timing = Some(parse_timing(value).ok_or(LineError::Timing)?);
                Ok(())
            }
            't' | 'r' | 'z' | 'u' | 'e' | 'p' | 'i' | 'b' | 'k' => {
                self.keep_raw(kind, value);
                Ok(())
            }
            'c' => {
                let c = parse_connection(value).ok_or(LineError::Connection)?;
                let slot = match self.media.last_mut() {
                    Some(m) => &mut m.connection,
                    None => &mut self.connection,
                };
                if slot.is_some() {
                    return Err(LineError::Duplicate('c'));
                }
                *slot = Some(c);
                Ok(())
            }
            'a' => {
                let a = parse_attribute(value)?;
                match self.media.last_mut() {
                    Some(m) => m.attributes.push(a),
                    None => self.attributes.push(a),
                }
                Ok(())
            }
            'm' => {
                self.media.push(parse_media(value).ok_or(LineError::Media)?);
                Ok(())
            }
            other => Err(LineError::UnknownType(other)),
        }
    }

    fn finish(self) -> Result<SessionDescription, SdpError> {
        if !self.version {
            return Err(SdpError::Missing('v'));
        }
        let origin = self.origin.ok_or(SdpError::Missing('o'))?;
        Ok(SessionDescription {
            origin,
            session_name: self.session_name.unwrap_or_else(|| "-".to_owned()),
            connection: self.connection,
            timing: self.timing.unwrap_or_default(),
            attributes: self.attributes,
            other: self.other,
            media: self.media,
        })
    }
}

fn parse_origin(value: &str) -> Option<Origin> {
    let f: Vec<&str> = value.split_whitespace().collect();
    let [username, id, version, net, addr_type, address] = f[..] else {
        return None;
    };
    if net != "IN" {
        return None;
    }
    Some(Origin {
        username: username.to_owned(),
        session_id: parse_digits(id)?,
        session_version: parse_digits(version)?,
        address_type: parse_address_type(addr_type)?,
        address: address.to_owned(),
    })
}

/// A decimal number of digits only (no sign, no spaces).
fn parse_digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_address_type(s: &str) -> Option<AddressType> {
    match s {
        "IP4" => Some(AddressType::Ip4),
        "IP6" => Some(AddressType::Ip6),
        _ => None,
    }
}

fn parse_connection(value: &str) -> Option<Connection> {
    let f: Vec<&str> = value.split_whitespace().collect();
    let ["IN", addr_type, address] = f[..] else {
        return None;
    };
    let addr_type = parse_address_type(addr_type)?;
    let address: IpAddr = address.parse().ok()?;
    (AddressType::of(address) == addr_type).then_some(Connection { address })
}

fn parse_timing(value: &str) -> Option<Timing> {
    let f: Vec<&str> = value.split_whitespace().collect();
    let [start, stop] = f[..] else {
        return None;
    };
    Some(Timing {
        start: parse_digits(start)?,
        stop: parse_digits(stop)?,
    })
}

fn parse_media(value: &str) -> Option<MediaDescription> {
    let mut f = value.split_whitespace();
    let media = f.next()?;
    let port_field = f.next()?;
    let protocol = f.next()?;
    let formats: Vec<String> = f.map(str::to_owned).collect();
    if formats.is_empty() {
        return None;
    }
    let (port, port_count) = match port_field.split_once('/') {
        Some((p, n)) => (parse_digits(p)?, Some(parse_digits(n)?)),
        None => (parse_digits(port_field)?, None),
    };
    let rtp = protocol
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("RTP/"));
    if rtp
        && !formats
            .iter()
            .all(|f| parse_digits::<u8>(f).is_some_and(|pt| pt < 128))
    {
        return None;
    }
    let mut m = MediaDescription::new(media, port, protocol, formats);
    m.port_count = port_count;
    Some(m)
}

fn parse_attribute(value: &str) -> Result<Attribute, LineError> {
    let (name, val) = match value.split_once(':') {
        Some((n, v)) => (n, Some(v)),
        None => (value, None),
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(LineError::Attribute);
    }
    match (name, val) {
        ("rtpmap", Some(v)) => parse_rtpmap(v)
            .map(Attribute::RtpMap)
            .ok_or(LineError::RtpMap),
        ("rtpmap", None) => Err(LineError::RtpMap),
        ("fmtp", Some(v)) => parse_fmtp(v).map(Attribute::Fmtp).ok_or(LineError::Fmtp),
        ("fmtp", None) => Err(LineError::Fmtp),
        ("ptime", v) => v
            .and_then(|v| parse_digits(v.trim()))
            .map(Attribute::Ptime)
            .ok_or(LineError::Ptime),
        (n, v) => Ok(match (Direction::from_name(n), v) {
            (Some(d), None) => Attribute::Direction(d),
            _ => Attribute::Other {
                name: n.to_owned(),
                value: v.map(str::to_owned),
            },
        }),
    }
}

fn parse_rtpmap(v: &str) -> Option<RtpMap> {
    let (pt, rest) = v.trim().split_once(char::is_whitespace)?;
    let payload_type: u8 = parse_digits(pt).filter(|pt| *pt < 128)?;
    let mut parts = rest.trim().split('/');
    let encoding = parts.next().filter(|e| !e.is_empty() && !e.contains(' '))?;
    let clock_rate: u32 = parse_digits(parts.next()?).filter(|c| *c > 0)?;
    let channels = match parts.next() {
        Some(c) => Some(parse_digits(c).filter(|c| *c > 0)?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(RtpMap {
        payload_type,
        encoding: encoding.to_owned(),
        clock_rate,
        channels,
    })
}

fn parse_fmtp(v: &str) -> Option<Fmtp> {
    let v = v.trim_start();
    let (format, params) = v.split_once(char::is_whitespace).unwrap_or((v, ""));
    if format.is_empty() {
        return None;
    }
    Some(Fmtp {
        format: format.to_owned(),
        params: params.trim().to_owned(),
    })
}
