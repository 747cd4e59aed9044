//! The SDP data model and the queries the B2BUA asks of it.

use std::net::{IpAddr, SocketAddr};

/// A session description (RFC 4566 §5).
///
/// Lines the model does not interpret are kept: unknown attributes in `attributes`, and
/// `i= u= e= p= b= r= z= k=` (plus any `t=` after the first) in `other`, so a parsed body
/// serialises back with nothing lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=`: originator and session version.
    pub origin: Origin,
    /// `s=`: session name (`-` when absent or empty).
    pub session_name: String,
    /// Session-level `c=`, used by media sections without their own.
    pub connection: Option<Connection>,
    /// The first `t=` (`0 0` when absent).
    pub timing: Timing,
    /// Session-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
    /// Other session-level lines, in order.
    pub other: Vec<OtherLine>,
    /// `m=` sections, in order.
    pub media: Vec<MediaDescription>,
}

/// `o=<username> <sess-id> <sess-version> IN <addrtype> <address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// User name (`-` when none).
    pub username: String,
    /// Session id: stays the same for the whole dialog.
    pub session_id: u64,
    /// Session version: goes up when the description changes.
    pub session_version: u64,
    /// Address type of `address`.
    pub address_type: AddressType,
    /// Address or host name of the originator.
    pub address: String,
}

/// `IP4` or `IP6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressType {
    /// `IP4`
    Ip4,
    /// `IP6`
    Ip6,
}

impl AddressType {
    /// The SDP token.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ip4 => "IP4",
            Self::Ip6 => "IP6",
        }
    }

    /// The type of an address.
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Self::Ip4,
            IpAddr::V6(_) => Self::Ip6,
        }
    }
}

/// `c=IN <addrtype> <address>` with a unicast IP address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Connection {
    /// Where media goes; `0.0.0.0` (or `::`) is the RFC 2543 hold form.
    pub address: IpAddr,
}

impl Connection {
    /// Whether this is the old hold form (`0.0.0.0` or `::`).
    pub fn is_hold(&self) -> bool {
        self.address.is_unspecified()
    }
}

/// `t=<start> <stop>` (NTP seconds; `0 0` for an unbounded session).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timing {
    /// Start time.
    pub start: u64,
    /// Stop time.
    pub stop: u64,
}

/// A line kept as it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherLine {
    /// The type letter.
    pub kind: char,
    /// Everything after `=`.
    pub value: String,
}

/// An `m=` section with its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// Media type: `audio`, `video`, `application`, …
    pub media: String,
    /// Transport port; 0 means the stream is rejected or disabled.
    pub port: u16,
    /// The `/<number of ports>` suffix, when present.
    pub port_count: Option<u16>,
    /// Transport protocol, e.g. `RTP/AVP`.
    pub protocol: String,
    /// Formats: RTP payload type numbers for `RTP/*` protocols.
    pub formats: Vec<String>,
    /// Media-level `c=`.
    pub connection: Option<Connection>,
    /// Media-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
    /// Other media-level lines (`i= b= k=`), in order.
    pub other: Vec<OtherLine>,
}

impl MediaDescription {
    /// A section with no lines besides `m=`.
    pub fn new(media: &str, port: u16, protocol: &str, formats: Vec<String>) -> Self {
        Self {
            media: media.to_owned(),
            port,
            port_count: None,
            protocol: protocol.to_owned(),
            formats,
            connection: None,
            attributes: Vec::new(),
            other: Vec::new(),
        }
    }

    /// Whether the protocol is plain `RTP/AVP` (case-insensitive).
    pub fn is_rtp_avp(&self) -> bool {
        self.protocol.eq_ignore_ascii_case("RTP/AVP")
    }

    /// The formats that are RTP payload type numbers, in order.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats
            .iter()
            .filter_map(|f| f.parse::<u8>().ok().filter(|pt| *pt < 128))
    }

    /// The `a=rtpmap` of a payload type.
    pub fn rtpmap(&self, pt: u8) -> Option<&RtpMap> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::RtpMap(m) if m.payload_type == pt => Some(m),
            _ => None,
        })
    }

    /// The `a=fmtp` parameters of a format.
    pub fn fmtp(&self, format: &str) -> Option<&str> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Fmtp(f) if f.format == format => Some(f.params.as_str()),
            _ => None,
        })
    }

    /// `a=ptime`, in milliseconds.
    pub fn ptime(&self) -> Option<u32> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Ptime(p) => Some(*p),
            _ => None,
        })
    }

    /// The media-level direction attribute, if any.
    pub fn direction_attribute(&self) -> Option<Direction> {
        direction_in(&self.attributes)
    }
}

pub(super) fn direction_in(attributes: &[Attribute]) -> Option<Direction> {
    attributes.iter().find_map(|a| match a {
        Attribute::Direction(d) => Some(*d),
        _ => None,
    })
}

/// An `a=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    /// `a=rtpmap:<pt> <encoding>/<clock>[/<channels>]`
    RtpMap(RtpMap),
    /// `a=fmtp:<format> <parameters>`
    Fmtp(Fmtp),
    /// `a=ptime:<ms>`
    Ptime(u32),
    /// `a=sendrecv`, `a=sendonly`, `a=recvonly`, `a=inactive`
    Direction(Direction),
    /// Any other attribute, kept as read.
    Other {
        /// Name before `:`.
        name: String,
        /// Value after `:`, if there was a `:`.
        value: Option<String>,
    },
}

/// `a=rtpmap:<pt> <encoding>/<clock>[/<channels>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// Payload type.
    pub payload_type: u8,
    /// Encoding name as written (`PCMU`, `telephone-event`, …).
    pub encoding: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Channel count, when given.
    pub channels: Option<u16>,
}

impl RtpMap {
    /// A mapping with no channel count.
    pub fn new(payload_type: u8, encoding: &str, clock_rate: u32) -> Self {
        Self {
            payload_type,
            encoding: encoding.to_owned(),
            clock_rate,
            channels: None,
        }
    }

    /// Whether this is `<name>/8000` mono (name compared case-insensitively).
    pub fn is_8k_mono(&self, name: &str) -> bool {
        self.encoding.eq_ignore_ascii_case(name)
            && self.clock_rate == 8000
            && self.channels.is_none_or(|c| c == 1)
    }
}

/// `a=fmtp:<format> <parameters>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fmtp {
    /// The format (payload type) it applies to.
    pub format: String,
    /// The parameter string, as written.
    pub params: String,
}

/// Media direction (RFC 3264 §5.1), from the point of view of the side that wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Send and receive (the default).
    #[default]
    SendRecv,
    /// Send only (the writer holds the other side).
    SendOnly,
    /// Receive only.
    RecvOnly,
    /// Neither.
    Inactive,
}

impl Direction {
    /// From the two capabilities.
    pub fn from_flags(sends: bool, receives: bool) -> Self {
        match (sends, receives) {
            (true, true) => Self::SendRecv,
            (true, false) => Self::SendOnly,
            (false, true) => Self::RecvOnly,
            (false, false) => Self::Inactive,
        }
    }

    /// Whether the writer sends media.
    pub fn sends(self) -> bool {
        matches!(self, Self::SendRecv | Self::SendOnly)
    }

    /// Whether the writer receives media.
    pub fn receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }

    /// The same stream seen from the other end: sendonly ↔ recvonly.
    pub fn reversed(self) -> Self {
        Self::from_flags(self.receives(), self.sends())
    }

    /// What both allow.
    pub fn intersect(self, other: Self) -> Self {
        Self::from_flags(
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        )
    }

    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    /// Parses an attribute name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sendrecv" => Some(Self::SendRecv),
            "sendonly" => Some(Self::SendOnly),
            "recvonly" => Some(Self::RecvOnly),
            "inactive" => Some(Self::Inactive),
            _ => None,
        }
    }
}

// === impl SessionDescription ===

impl SessionDescription {
    /// The index and section of the first audio stream with a non-zero port.
    pub fn first_audio(&self) -> Option<(usize, &MediaDescription)> {
        self.media
            .iter()
            .enumerate()
            .find(|(_, m)| m.media.eq_ignore_ascii_case("audio") && m.port != 0)
    }

    /// The connection that applies to a media section: its own, else the session's.
    pub fn connection_of(&self, media: &MediaDescription) -> Option<Connection> {
        media.connection.or(self.connection)
    }

    /// The direction declared for a media section: its own attribute, else the
    /// session-level one, else sendrecv. The `c=0.0.0.0` form is not folded in; see
    /// [`effective_direction`](Self::effective_direction).
    pub fn direction_of(&self, media: &MediaDescription) -> Direction {
        media
            .direction_attribute()
            .or_else(|| direction_in(&self.attributes))
            .unwrap_or_default()
    }

    /// The direction a media section really allows: [`direction_of`](Self::direction_of),
    /// minus receiving when the connection address is `0.0.0.0`/`::` (RFC 3264 §8.4).
    pub fn effective_direction(&self, media: &MediaDescription) -> Direction {
        let d = self.direction_of(media);
        let hold = self.connection_of(media).is_some_and(|c| c.is_hold());
        Direction::from_flags(d.sends(), d.receives() && !hold)
    }

    /// Where to send RTP for the first audio stream.
    pub fn audio_rtp_addr(&self) -> Option<SocketAddr> {
        let (_, m) = self.first_audio()?;
        let c = self.connection_of(m)?;
        Some(SocketAddr::new(c.address, m.port))
    }

    /// The declared direction of the first audio stream.
    pub fn audio_direction(&self) -> Option<Direction> {
        self.first_audio().map(|(_, m)| self.direction_of(m))
    }

    /// Whether the first audio stream puts the other side on hold: `sendonly`,
    /// `inactive`, or the `c=0.0.0.0` form. No audio stream counts as not on hold.
    pub fn is_on_hold(&self) -> bool {
        self.first_audio()
            .is_some_and(|(_, m)| !self.effective_direction(m).receives())
    }

    /// This description with another version number, everything else equal.
    pub(super) fn with_version(&self, version: u64) -> Self {
        let mut s = self.clone();
        s.origin.session_version = version;
        s
    }
}
