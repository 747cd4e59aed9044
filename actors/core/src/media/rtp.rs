//! RTP packets (RFC 3550 §5.1): parse any byte string without panicking, build the plain
//! packets the gateway sends, and keep the sending state of one stream.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//! |                           timestamp                           |
//! |           synchronization source (SSRC) identifier            |
//! |            contributing source (CSRC) identifiers  (CC×)      |
//! |  [extension: profile(16) length(16) length×32 bits]           |
//! |  payload ...                 [padding ... pad count(8)]       |
//! ```
//!
//! [`RtpPacket::parse`] borrows the payload from the datagram. [`RtpSender`] builds the
//! outgoing stream: one sequence number per packet, the timestamp advancing 160 per 20 ms
//! frame, and the marker bit on the first packet of a talkspurt.

use thiserror::Error;

use super::FRAME_SAMPLES;

/// The only RTP version there is.
pub const RTP_VERSION: u8 = 2;

/// Length of the fixed header (no CSRC, no extension).
pub const HEADER_LEN: usize = 12;

/// Why a datagram is not a valid RTP packet.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RtpError {
    /// Shorter than the 12-byte fixed header.
    #[error("packet of {len} bytes is shorter than the RTP header")]
    TooShort {
        /// Length of the datagram.
        len: usize,
    },
    /// The version field is not 2.
    #[error("RTP version {0}, expected 2")]
    BadVersion(u8),
    /// The CSRC count points past the end of the packet.
    #[error("{count} CSRC identifiers do not fit in the packet")]
    TruncatedCsrc {
        /// The CSRC count from the header.
        count: u8,
    },
    /// The header extension points past the end of the packet.
    #[error("header extension does not fit in the packet")]
    TruncatedExtension,
    /// The padding count is zero or larger than what follows the header.
    #[error("padding count {pad} is invalid for {available} bytes after the header")]
    BadPadding {
        /// The last byte of the packet.
        pad: u8,
        /// Bytes after the header and extension.
        available: usize,
    },
    /// A payload type does not fit in 7 bits.
    #[error("payload type {0} is out of range 0-127")]
    PayloadTypeOutOfRange(u8),
}

/// The header fields the gateway reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// Marker bit: for audio, the first packet of a talkspurt.
    pub marker: bool,
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// Sequence number, +1 per packet, wrapping.
    pub sequence: u16,
    /// Sampling instant of the first payload octet, in 8 kHz units for G.711.
    pub timestamp: u32,
    /// Synchronisation source of the stream.
    pub ssrc: u32,
}

impl RtpHeader {
    /// Appends a packet with this header (no CSRC, extension or padding) and `payload` to
    /// `out`. The payload type is masked to 7 bits.
    pub fn write(&self, payload: &[u8], out: &mut Vec<u8>) {
        out.reserve(HEADER_LEN + payload.len());
        out.push(RTP_VERSION << 6);
        out.push((u8::from(self.marker) << 7) | (self.payload_type & 0x7F));
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(payload);
    }

    /// A new packet with this header and `payload`.
    pub fn to_packet(&self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        self.write(payload, &mut out);
        out
    }
}

/// A header extension (RFC 3550 §5.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpExtension<'a> {
    /// The profile-defined 16-bit identifier.
    pub profile: u16,
    /// The extension body (a multiple of 4 bytes).
    pub data: &'a [u8],
}

/// A parsed RTP packet borrowing from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// The fixed header fields.
    pub header: RtpHeader,
    /// Number of padding bytes removed from the end (0 when the P bit is clear).
    pub padding: u8,
    /// The header extension, when the X bit is set.
    pub extension: Option<RtpExtension<'a>>,
    /// The payload, without padding.
    pub payload: &'a [u8],
    csrc: &'a [u8],
}

impl<'a> RtpPacket<'a> {
    /// Parses a datagram. Never panics; every malformed input is an [`RtpError`].
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        if buf.len() < HEADER_LEN {
            return Err(RtpError::TooShort { len: buf.len() });
        }
        let b0 = buf[0];
        let version = b0 >> 6;
        if version != RTP_VERSION {
            return Err(RtpError::BadVersion(version));
        }
        let has_padding = b0 & 0x20 != 0;
        let has_extension = b0 & 0x10 != 0;
        let cc = b0 & 0x0F;
        let header = RtpHeader {
            marker: buf[1] & 0x80 != 0,
            payload_type: buf[1] & 0x7F,
            sequence: u16::from_be_bytes([buf[2], buf[3]]),
            timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
            ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
        };
        let rest = &buf[HEADER_LEN..];
        let csrc_len = usize::from(cc) * 4;
        let (csrc, rest) = split(rest, csrc_len).ok_or(RtpError::TruncatedCsrc { count: cc })?;
        let (extension, rest) = if has_extension {
            let (ext_head, rest) = split(rest, 4).ok_or(RtpError::TruncatedExtension)?;
            let profile = u16::from_be_bytes([ext_head[0], ext_head[1]]);
            let words = usize::from(u16::from_be_bytes([ext_head[2], ext_head[3]]));
            let (data, rest) = split(rest, words * 4).ok_or(RtpError::TruncatedExtension)?;
            (Some(RtpExtension { profile, data }), rest)
        } else {
            (None, rest)
        };
        let (payload, padding) = if has_padding {
            let pad = rest.last().copied().unwrap_or(0);
            if pad == 0 || usize::from(pad) > rest.len() {
                return Err(RtpError::BadPadding {
                    pad,
                    available: rest.len(),
                });
            }
            (&rest[..rest.len() - usize::from(pad)], pad)
        } else {
            (rest, 0)
        };
        Ok(Self {
            header,
            padding,
            extension,
            payload,
            csrc,
        })
    }

    /// Number of contributing sources.
    pub fn csrc_count(&self) -> usize {
        self.csrc.len() / 4
    }

    /// The contributing source identifiers.
    pub fn csrcs(&self) -> impl Iterator<Item = u32> + 'a {
        self.csrc
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }
}

/// Whether a datagram on a multiplexed RTP/RTCP port is RTCP (RFC 5761 §4: the second
/// byte, RTCP's packet type, is 192–223; as RTP that would be payload types 64–95 with the
/// marker bit, which no profile assigns).
pub fn is_rtcp(buf: &[u8]) -> bool {
    buf.len() >= 2 && buf[0] >> 6 == RTP_VERSION && (192..=223).contains(&buf[1])
}

fn split(buf: &[u8], n: usize) -> Option<(&[u8], &[u8])> {
    (buf.len() >= n).then(|| buf.split_at(n))
}

/// Sending state of one outgoing RTP stream.
///
/// The caller picks the random SSRC, first sequence number and first timestamp (RFC 3550
/// §5.1) and calls one method per 20 ms tick: [`audio`](Self::audio) to send a frame,
/// [`skip`](Self::skip) when nothing is sent (silence suppression, or a tick used for a
/// telephone event). The audio timestamp advances 160 per tick either way; the marker bit
/// is set on the first audio packet of the stream and after every skipped tick.
#[derive(Debug, Clone)]
pub struct RtpSender {
    ssrc: u32,
    payload_type: u8,
    sequence: u16,
    timestamp: u32,
    marker_next: bool,
    sent: u64,
}

impl RtpSender {
    /// A new stream. `payload_type` is the audio payload type (0 or 8 for G.711).
    pub fn new(
        ssrc: u32,
        payload_type: u8,
        first_sequence: u16,
        first_timestamp: u32,
    ) -> Result<Self, RtpError> {
        if payload_type > 0x7F {
            return Err(RtpError::PayloadTypeOutOfRange(payload_type));
        }
        Ok(Self {
            ssrc,
            payload_type,
            sequence: first_sequence,
            timestamp: first_timestamp,
            marker_next: true,
            sent: 0,
        })
    }

    /// The stream's SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Sequence number of the next packet.
    pub fn next_sequence(&self) -> u16 {
        self.sequence
    }

    /// Timestamp of the next audio frame (the current tick).
    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }

    /// Packets built so far.
    pub fn packets_sent(&self) -> u64 {
        self.sent
    }

    /// Builds the audio packet of this tick into `out` (which is cleared first) and
    /// advances: sequence +1, timestamp +160. Returns the header used.
    pub fn audio(&mut self, payload: &[u8], out: &mut Vec<u8>) -> RtpHeader {
        let header = RtpHeader {
            marker: self.marker_next,
            payload_type: self.payload_type,
            sequence: self.sequence,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
        };
        out.clear();
        header.write(payload, out);
        self.marker_next = false;
        self.sequence = self.sequence.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(FRAME_SAMPLES as u32);
        self.sent += 1;
        header
    }

    /// A tick without an audio packet: the timestamp advances 160 and the next audio
    /// packet carries the marker bit.
    pub fn skip(&mut self) {
        self.timestamp = self.timestamp.wrapping_add(FRAME_SAMPLES as u32);
        self.marker_next = true;
    }

    /// Marks the next audio packet as the start of a talkspurt.
    pub fn mark_talkspurt(&mut self) {
        self.marker_next = true;
    }

    /// Builds a non-audio packet in the same stream (an RFC 4733 telephone event) into
    /// `out` (cleared first): it takes the next sequence number but leaves the audio
    /// timestamp alone. Call [`skip`](Self::skip) too if it replaces this tick's audio.
    pub fn event(
        &mut self,
        payload_type: u8,
        marker: bool,
        timestamp: u32,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<RtpHeader, RtpError> {
        if payload_type > 0x7F {
            return Err(RtpError::PayloadTypeOutOfRange(payload_type));
        }
        let header = RtpHeader {
            marker,
            payload_type,
            sequence: self.sequence,
            timestamp,
            ssrc: self.ssrc,
        };
        out.clear();
        header.write(payload, out);
        self.sequence = self.sequence.wrapping_add(1);
        self.sent += 1;
        Ok(header)
    }
}

#[cfg(test)]
mod tests;
