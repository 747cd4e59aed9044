//! SDP (RFC 4566) and offer/answer (RFC 3264) for the gateway's modem leg.
//!
//! [`SessionDescription::parse`] reads a body strictly enough to trust what the gateway
//! uses (origin, connection, media lines, `rtpmap`, `fmtp`, `ptime`, direction) and keeps
//! everything else, so [`Display`](std::fmt::Display) writes it back with nothing lost,
//! `\r\n`-terminated and in RFC 4566 field order. Input may end lines with `\n` or
//! `\r\n`; blank lines are skipped. `s=` and `t=` may be missing (they default to `-` and
//! `0 0`); `v=0` must come first and `o=` must be present. Any other problem is an
//! [`SdpError`] naming the line; no input makes the parser panic.
//!
//! [`answer`] accepts a remote offer for the modem leg: one audio stream over `RTP/AVP`,
//! PCMU or PCMA (whichever the offer lists first) and `telephone-event` if offered, with
//! the direction mirrored per RFC 3264 (hold forms included). [`offer`] and
//! [`accept_answer`] are the same exchange the other way round. [`LocalSdp`] keeps our
//! `o=` version right across re-INVITEs.
//!
//! # Layout
//!
//! - `model`: the types and the B2BUA's queries ([`SessionDescription::audio_rtp_addr`],
//!   [`SessionDescription::audio_direction`], [`SessionDescription::is_on_hold`]).
//! - `parse`, `write`: text in and out.
//! - `negotiate`: offer/answer and versioning.

use std::str::FromStr;

use thiserror::Error;

mod model;
mod negotiate;
mod parse;
mod write;

pub use model::{
    AddressType, Attribute, Connection, Direction, Fmtp, MediaDescription, Origin, OtherLine,
    RtpMap, SessionDescription, Timing,
};
pub use negotiate::{
    accept_answer, answer, offer, Answer, LocalEndpoint, LocalSdp, Negotiated, NegotiationError,
    DEFAULT_EVENTS,
};

/// Largest SDP body accepted, in bytes.
pub const MAX_SDP_LEN: usize = 64 * 1024;

/// Why a body is not acceptable SDP.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SdpError {
    /// The body is not UTF-8.
    #[error("SDP body is not UTF-8")]
    NotUtf8,
    /// The body is larger than [`MAX_SDP_LEN`].
    #[error("SDP body of {0} bytes is too large")]
    TooLarge(usize),
    /// A required line is missing.
    #[error("SDP has no {0}= line")]
    Missing(char),
    /// A line is malformed or out of place.
    #[error("SDP line {line} {text:?}: {kind}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// The line (at most 80 characters of it).
        text: String,
        /// What is wrong with it.
        kind: LineError,
    },
}

/// What is wrong with one SDP line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum LineError {
    /// Not `<letter>=<value>`.
    #[error("not of the form <type>=<value>")]
    NotTypeValue,
    /// The first line is not `v=`.
    #[error("the first line must be v=0")]
    VersionNotFirst,
    /// `v=` is not 0.
    #[error("unsupported SDP version")]
    Version,
    /// A line type that RFC 4566 does not define.
    #[error("unknown line type {0:?}")]
    UnknownType(char),
    /// A second line of a type allowed once (per level for `c=`).
    #[error("second {0}= line")]
    Duplicate(char),
    /// A session-level line inside a media section.
    #[error("{0}= is not allowed after m=")]
    SessionOnly(char),
    /// Malformed `o=`.
    #[error("malformed origin")]
    Origin,
    /// Malformed `c=`, or not a unicast IP address of the stated type.
    #[error("malformed connection (IN IP4|IP6 <unicast address>)")]
    Connection,
    /// Malformed `t=`.
    #[error("malformed timing")]
    Timing,
    /// Malformed `m=` (port, formats, payload type numbers for RTP).
    #[error("malformed media line")]
    Media,
    /// Malformed attribute name.
    #[error("malformed attribute")]
    Attribute,
    /// Malformed `a=rtpmap`.
    #[error("malformed rtpmap")]
    RtpMap,
    /// Malformed `a=fmtp`.
    #[error("malformed fmtp")]
    Fmtp,
    /// Malformed `a=ptime`.
    #[error("malformed ptime")]
    Ptime,
}

impl SessionDescription {
    /// Parses an SDP body.
    pub fn parse(text: &str) -> Result<Self, SdpError> {
        parse::parse(text)
    }

    /// Parses an SDP body given as bytes (as found in a SIP message).
    pub fn parse_bytes(body: &[u8]) -> Result<Self, SdpError> {
        parse::parse_bytes(body)
    }
}

impl FromStr for SessionDescription {
    type Err = SdpError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
