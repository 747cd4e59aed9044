//! Media path of a modem call: RTP from the SIP side, 16-bit linear PCM on the modem's
//! audio port, and everything pure in between.
//!
//! The call actor bridges the two sides on a 20 ms clock. Every tick it
//!
//! 1. reads one 320-byte PCM frame from the modem, encodes it with [`g711`] and sends it
//!    with an [`rtp::RtpSender`] (or, while a digit is being sent, the packets of
//!    [`dtmf::digit_packets`]);
//! 2. pops one frame from the [`jitter::JitterBuffer`] that incoming RTP packets were
//!    pushed into, decodes it with [`g711`] and writes it to the modem (silence on a gap).
//!
//! Incoming `telephone-event` packets go to a [`dtmf::DtmfReceiver`] instead, which turns
//! the repeated packets of one key press into exactly one digit for `AT^DTMF`.
//!
//! Nothing here reads a clock or touches a socket: the pacer owns time and calls in on its
//! tick. [`tone`] generates and measures sine tones so tests can prove that audio crosses
//! the whole path.
//!
//! # Layout
//!
//! - [`g711`]: μ-law and A-law sample and frame conversion.
//! - [`rtp`]: RFC 3550 packet parse and build, the sending state.
//! - [`jitter`]: reordering and playout of received audio frames.
//! - [`dtmf`]: RFC 4733 telephone events, receive de-duplication and send sequences.
//! - [`tone`]: sine generator, Goertzel power, dominant frequency.

pub mod dtmf;
pub mod g711;
pub mod jitter;
pub mod quality;
pub mod rtcp;
pub mod rtp;
pub mod tone;

/// Sample rate of the modem audio port and of G.711, in Hz.
pub const SAMPLE_RATE_HZ: u32 = 8000;

/// Length of one audio frame (one pacer tick, one RTP packet), in milliseconds.
pub const FRAME_MS: u32 = 20;

/// Samples in one frame: 8000 Hz × 20 ms.
pub const FRAME_SAMPLES: usize = (SAMPLE_RATE_HZ * FRAME_MS / 1000) as usize;

/// Bytes in one frame of modem PCM (signed 16-bit little-endian, mono).
pub const FRAME_BYTES: usize = FRAME_SAMPLES * 2;

/// Bytes in one frame of G.711 (one byte per sample): the RTP payload size at 20 ms.
pub const G711_FRAME_BYTES: usize = FRAME_SAMPLES;

/// Converts modem PCM bytes (signed 16-bit little-endian) to samples.
///
/// A trailing odd byte (a short read cut inside a sample) is ignored.
pub fn samples_from_le(pcm: &[u8]) -> Vec<i16> {
    pcm.chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// Converts samples to modem PCM bytes (signed 16-bit little-endian).
pub fn samples_to_le(samples: &[i16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(samples.len() * 2);
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// One frame of digital silence in modem PCM.
pub const SILENCE_FRAME: [u8; FRAME_BYTES] = [0; FRAME_BYTES];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_constants_match_the_modem_dialect() {
        assert_eq!(SAMPLE_RATE_HZ, 8000);
        assert_eq!(FRAME_MS, 20);
        assert_eq!(FRAME_SAMPLES, 160);
        assert_eq!(FRAME_BYTES, 320);
        assert_eq!(G711_FRAME_BYTES, 160);
    }

    #[test]
    fn le_conversion() {
        let cases: &[(&[u8], &[i16])] = &[
            (&[], &[]),
            (&[0x01, 0x00], &[1]),
            (&[0xff, 0xff], &[-1]),
            (&[0x00, 0x80, 0xff, 0x7f], &[i16::MIN, i16::MAX]),
            (&[0x34, 0x12, 0x99], &[0x1234]),
        ];
        for (bytes, samples) in cases {
            assert_eq!(samples_from_le(bytes), *samples, "{bytes:?}");
            let even = &bytes[..bytes.len() & !1];
            assert_eq!(samples_to_le(samples), even, "{samples:?}");
        }
    }
}
