//! RFC 4733 telephone events (DTMF over RTP).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     event     |E|R| volume    |          duration             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Events 0–15 are the DTMF keys `0`–`9`, `*`, `#`, `A`–`D`. One key press is sent as a
//! run of packets that share one RTP timestamp (the start of the event): updates with a
//! growing duration, then the final packet with the E bit, usually three times.
//! [`DtmfReceiver`] turns such a run into exactly one [`ReceivedDigit`], as soon as its
//! first packet arrives, whichever it is. [`digit_packets`] produces the run for one
//! digit; the call actor sends one packet per 20 ms tick, all with the RTP timestamp of
//! the first tick, through [`RtpSender::event`](super::rtp::RtpSender::event).

use thiserror::Error;

use super::FRAME_SAMPLES;

/// Volume of generated events: −10 dBm0, as most phones send.
pub const DEFAULT_VOLUME: u8 = 10;

/// Duration of generated events, in 8 kHz samples: 100 ms.
pub const DEFAULT_DURATION: u16 = 800;

/// How many times the final (E bit) packet is sent (RFC 4733 §2.5.1.4).
pub const END_REPEATS: usize = 3;

/// The 16 DTMF keys in event-code order.
const DIGITS: [char; 16] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D',
];

/// A malformed event payload or an unsendable digit.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DtmfError {
    /// The payload is shorter than the 4-byte event.
    #[error("telephone-event payload of {len} bytes, expected 4")]
    TooShort {
        /// Payload length.
        len: usize,
    },
    /// The character is not one of `0-9 * # A-D`.
    #[error("{0:?} is not a DTMF digit")]
    NotADigit(char),
    /// The volume does not fit in 6 bits.
    #[error("volume {0} is out of range 0-63")]
    VolumeOutOfRange(u8),
    /// An event must last at least one sample.
    #[error("event duration must not be zero")]
    ZeroDuration,
}

/// The DTMF key of an event code (0–15).
pub fn event_to_digit(event: u8) -> Option<char> {
    DIGITS.get(usize::from(event)).copied()
}

/// The event code of a DTMF key (`0-9 * # A-D`, letters in either case).
pub fn digit_to_event(digit: char) -> Option<u8> {
    let d = digit.to_ascii_uppercase();
    DIGITS.iter().position(|&c| c == d).map(|i| i as u8)
}

/// One telephone-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (0–15 for DTMF; other codes are valid RFC 4733 events).
    pub event: u8,
    /// E bit: the event has ended.
    pub end: bool,
    /// Power level as −dBm0, 0–63.
    pub volume: u8,
    /// Duration so far, in RTP timestamp units (8 kHz samples).
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses the first four bytes of a payload (extra bytes are ignored).
    pub fn parse(payload: &[u8]) -> Result<Self, DtmfError> {
        let [event, flags, d0, d1, ..] = *payload else {
            return Err(DtmfError::TooShort { len: payload.len() });
        };
        Ok(Self {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3F,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    /// The 4-byte payload (volume masked to 6 bits, R bit clear).
    pub fn to_bytes(&self) -> [u8; 4] {
        let [d0, d1] = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3F),
            d0,
            d1,
        ]
    }

    /// The DTMF key, for events 0–15.
    pub fn digit(&self) -> Option<char> {
        event_to_digit(self.event)
    }
}

/// A key press, reported once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedDigit {
    /// The key.
    pub digit: char,
    /// Its event code.
    pub event: u8,
    /// RTP timestamp shared by the packets of this press.
    pub timestamp: u32,
}

/// Remembers the timestamps of recent events so every press is reported once.
///
/// Eight timestamps are kept, so a stray packet of an earlier press that arrives after
/// the next press started is still recognised.
#[derive(Debug, Clone, Default)]
pub struct DtmfReceiver {
    recent: [Option<u32>; 8],
    next: usize,
}

impl DtmfReceiver {
    /// A receiver that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Handles one telephone-event RTP packet: returns the digit on the first packet of a
    /// press, `None` for repeats, updates, end packets and non-DTMF events.
    pub fn on_packet(
        &mut self,
        timestamp: u32,
        payload: &[u8],
    ) -> Result<Option<ReceivedDigit>, DtmfError> {
        let event = TelephoneEvent::parse(payload)?;
        Ok(self.on_event(timestamp, &event))
    }

    /// Like [`on_packet`](Self::on_packet), for an already parsed event.
    pub fn on_event(&mut self, timestamp: u32, event: &TelephoneEvent) -> Option<ReceivedDigit> {
        if self.recent.contains(&Some(timestamp)) {
            return None;
        }
        self.recent[self.next] = Some(timestamp);
        self.next = (self.next + 1) % self.recent.len();
        let digit = event.digit()?;
        Some(ReceivedDigit {
            digit,
            event: event.event,
            timestamp,
        })
    }
}

/// One packet of a generated key press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    /// RTP marker bit: set on the first packet of the press only.
    pub marker: bool,
    /// The event to send.
    pub event: TelephoneEvent,
}

impl EventPacket {
    /// The RTP payload.
    pub fn payload(&self) -> [u8; 4] {
        self.event.to_bytes()
    }
}

/// The packets of one key press, one per 20 ms tick: updates every 160 samples up to
/// `duration`, then [`END_REPEATS`] end packets carrying the full duration. All of them
/// go out with the same RTP timestamp, the one of the first tick.
pub fn digit_packets(
    digit: char,
    duration: u16,
    volume: u8,
) -> Result<Vec<EventPacket>, DtmfError> {
    let event = digit_to_event(digit).ok_or(DtmfError::NotADigit(digit))?;
    if volume > 0x3F {
        return Err(DtmfError::VolumeOutOfRange(volume));
    }
    if duration == 0 {
        return Err(DtmfError::ZeroDuration);
    }
    let step = FRAME_SAMPLES as u16;
    let mut updates: Vec<u16> = (1u16..)
        .map_while(|k| k.checked_mul(step))
        .take_while(|&d| d < duration)
        .collect();
    if updates.is_empty() {
        updates.push(duration);
    }
    let ends = std::iter::repeat_n(duration, END_REPEATS);
    let packets = updates
        .iter()
        .map(|&d| (false, d))
        .chain(ends.map(|d| (true, d)))
        .enumerate()
        .map(|(i, (end, d))| EventPacket {
            marker: i == 0,
            event: TelephoneEvent {
                event,
                end,
                volume,
                duration: d,
            },
        })
        .collect();
    Ok(packets)
}

#[cfg(test)]
mod tests;
