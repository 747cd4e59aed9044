//! [`SessionDescription`] → text, `\r\n` line ends, RFC 4566 field order.
//!
//! Session level: `v o s i u e p c b t r z k`, lines kept as read, `a`; then each media
//! section as `m i c b k`, lines kept as read, `a`. Lines of the same type keep their
//! order. Writing what was parsed and parsing it again gives the same text.

use std::fmt::{self, Display, Formatter};

use super::model::{
    Attribute, Connection, MediaDescription, Origin, OtherLine, SessionDescription,
};

impl Display for SessionDescription {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "v=0\r\n{}\r\ns={}\r\n", self.origin, self.session_name)?;
        write_other(f, &self.other, "iuep")?;
        if let Some(c) = &self.connection {
            write!(f, "{c}\r\n")?;
        }
        write_other(f, &self.other, "b")?;
        write!(f, "t={} {}\r\n", self.timing.start, self.timing.stop)?;
        write_other(f, &self.other, "trz")?;
        write_other(f, &self.other, "k")?;
        write_rest(f, &self.other, "iuepbtrzk")?;
        for a in &self.attributes {
            write!(f, "{a}\r\n")?;
        }
        for m in &self.media {
            write!(f, "{m}")?;
        }
        Ok(())
    }
}

fn write_other(f: &mut Formatter<'_>, lines: &[OtherLine], kinds: &str) -> fmt::Result {
    for l in lines.iter().filter(|l| kinds.contains(l.kind)) {
        write!(f, "{}={}\r\n", l.kind, l.value)?;
    }
    Ok(())
}

/// The lines kept as read that none of `written` covers (unknown types, malformed `c=`,
/// session lines found in a media section), in their order.
fn write_rest(f: &mut Formatter<'_>, lines: &[OtherLine], written: &str) -> fmt::Result {
    for l in lines.iter().filter(|l| !written.contains(l.kind)) {
        write!(f, "{}={}\r\n", l.kind, l.value)?;
    }
    Ok(())
}

impl Display for Origin {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "o={} {} {} IN {} {}",
            self.username,
            self.session_id,
            self.session_version,
            self.address_type.as_str(),
            self.address
        )
    }
}

impl Display for Connection {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let t = super::AddressType::of(self.address);
        write!(f, "c=IN {} {}", t.as_str(), self.address)
    }
}

/// Writes the `m=` line and the section's lines, each ending in `\r\n`.
impl Display for MediaDescription {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.media, self.port)?;
        if let Some(n) = self.port_count {
            write!(f, "/{n}")?;
        }
        write!(f, " {}", self.protocol)?;
        for fmt in &self.formats {
            write!(f, " {fmt}")?;
        }
        f.write_str("\r\n")?;
        write_other(f, &self.other, "i")?;
        if let Some(c) = &self.connection {
            write!(f, "{c}\r\n")?;
        }
        write_other(f, &self.other, "bk")?;
        write_rest(f, &self.other, "ibk")?;
        for a in &self.attributes {
            write!(f, "{a}\r\n")?;
        }
        Ok(())
    }
}

/// Writes the whole `a=` line, without the line end.
impl Display for Attribute {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::RtpMap(m) => {
                write!(
                    f,
                    "a=rtpmap:{} {}/{}",
                    m.payload_type, m.encoding, m.clock_rate
                )?;
                if let Some(c) = m.channels {
                    write!(f, "/{c}")?;
                }
                Ok(())
            }
            Self::Fmtp(p) if p.params.is_empty() => write!(f, "a=fmtp:{}", p.format),
            Self::Fmtp(p) => write!(f, "a=fmtp:{} {}", p.format, p.params),
            Self::Ptime(ms) => write!(f, "a=ptime:{ms}"),
            Self::Direction(d) => write!(f, "a={}", d.as_str()),
            Self::Other { name, value: None } => write!(f, "a={name}"),
            Self::Other {
                name,
                value: Some(v),
            } => write!(f, "a={name}:{v}"),
        }
    }
}
