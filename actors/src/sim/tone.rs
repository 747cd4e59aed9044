//! Audio of the simulator, pure: the identifying tone a modem sends, and the measurement of
//! what the host sends (byte counts and the dominant frequency, by a Goertzel scan).
//!
//! PCM is 8 kHz mono signed 16-bit little-endian, 20 ms = 160 samples = 320 bytes
//! (DIALECT.md §1).

use std::f64::consts::TAU;

use serde::Serialize;

/// Samples per second.
pub(crate) const RATE: u32 = 8000;
/// Samples per 20 ms frame.
pub(crate) const FRAME_SAMPLES: usize = 160;
/// Bytes per 20 ms frame.
pub(crate) const FRAME_BYTES: usize = FRAME_SAMPLES * 2;
/// Lowest frequency of the scan, in Hz.
const SCAN_LO: u32 = 100;
/// Highest frequency of the scan, in Hz.
const SCAN_HI: u32 = 3500;
/// Step of the scan, in Hz.
const SCAN_STEP: u32 = 50;
/// Samples kept for the measurement (the last second).
const KEEP: usize = RATE as usize;

/// A continuous sine tone, frame by frame.
#[derive(Debug, Clone)]
pub(crate) struct ToneGen {
    step: f64,
    phase: f64,
    amplitude: f64,
}

impl ToneGen {
    /// A tone of `hz` at `amplitude` (of 32767).
    pub(crate) fn new(hz: u32, amplitude: i16) -> Self {
        Self {
            step: TAU * f64::from(hz) / f64::from(RATE),
            phase: 0.0,
            amplitude: f64::from(amplitude),
        }
    }

    /// The next 20 ms frame, little-endian.
    pub(crate) fn frame(&mut self) -> [u8; FRAME_BYTES] {
        let mut out = [0u8; FRAME_BYTES];
        for pair in out.chunks_exact_mut(2) {
            let s = (self.phase.sin() * self.amplitude).round() as i16;
            pair.copy_from_slice(&s.to_le_bytes());
            self.phase = (self.phase + self.step) % TAU;
        }
        out
    }
}

/// Goertzel power of `freq` in `samples`.
fn goertzel(samples: &[i16], freq: f64) -> f64 {
    let coeff = 2.0 * (TAU * freq / f64::from(RATE)).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// The strongest frequency of `samples` on the 100..=3500 Hz grid (50 Hz steps); `None`
/// for silence or too few samples.
pub(crate) fn dominant_hz(samples: &[i16]) -> Option<u32> {
    if samples.len() < FRAME_SAMPLES || samples.iter().all(|&s| s.unsigned_abs() < 64) {
        return None;
    }
    (SCAN_LO..=SCAN_HI)
        .step_by(SCAN_STEP as usize)
        .map(|f| (f, goertzel(samples, f64::from(f))))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(f, _)| f)
}

/// Decodes little-endian PCM into samples (an odd trailing byte is ignored).
pub(crate) fn samples_le(bytes: &[u8]) -> Vec<i16> {
    bytes
        .chunks_exact(2)
        .map(|p| i16::from_le_bytes([p[0], p[1]]))
        .collect()
}

/// What the host sent on the audio port during one call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct RxReport {
    /// Bytes received.
    pub(crate) rx_bytes: u64,
    /// Whole 320-byte frames received (`rx_bytes / 320`).
    pub(crate) rx_frames: u64,
    /// Dominant frequency of the last second received, in Hz.
    pub(crate) rx_tone_hz: Option<u32>,
}

/// Accumulates host audio of one call.
#[derive(Debug, Clone, Default)]
pub(crate) struct RxMeter {
    bytes: u64,
    odd: Option<u8>,
    recent: Vec<i16>,
}

impl RxMeter {
    /// Adds bytes as they arrived (any split).
    pub(crate) fn push(&mut self, mut data: &[u8]) {
        self.bytes += data.len() as u64;
        if let (Some(lo), Some((&hi, rest))) = (self.odd, data.split_first()) {
            self.recent.push(i16::from_le_bytes([lo, hi]));
            self.odd = None;
            data = rest;
        }
        self.recent.extend(samples_le(data));
        if data.len() % 2 == 1 {
            self.odd = data.last().copied();
        }
        if self.recent.len() > 2 * KEEP {
            self.recent.drain(..self.recent.len() - KEEP);
        }
    }

    /// Counters and the measured tone so far.
    pub(crate) fn report(&self) -> RxReport {
        let tail = &self.recent[self.recent.len().saturating_sub(KEEP)..];
        RxReport {
            rx_bytes: self.bytes,
            rx_frames: self.bytes / FRAME_BYTES as u64,
            rx_tone_hz: dominant_hz(tail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_is_found_by_the_scan() {
        for hz in [400, 500, 1000, 2950, 3300] {
            let mut g = ToneGen::new(hz, 8000);
            let mut bytes = Vec::new();
            for _ in 0..25 {
                bytes.extend_from_slice(&g.frame());
            }
            assert_eq!(dominant_hz(&samples_le(&bytes)), Some(hz), "{hz} Hz");
        }
        assert_eq!(dominant_hz(&[0; 800]), None);
        assert_eq!(dominant_hz(&[1000; 10]), None);
    }

    #[test]
    fn frames_are_continuous_and_bounded() {
        let mut g = ToneGen::new(400, 8000);
        let a = samples_le(&g.frame());
        let b = samples_le(&g.frame());
        assert_eq!(a.len(), FRAME_SAMPLES);
        assert!(a.iter().chain(&b).all(|s| s.unsigned_abs() <= 8000));
        // 400 Hz has a period of 20 samples, so frame 2 repeats frame 1.
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() <= 1));
    }

    #[test]
    fn meter_handles_odd_splits() {
        let mut g = ToneGen::new(700, 8000);
        let mut bytes = Vec::new();
        for _ in 0..50 {
            bytes.extend_from_slice(&g.frame());
        }
        let mut m = RxMeter::default();
        for chunk in bytes.chunks(77) {
            m.push(chunk);
        }
        let r = m.report();
        assert_eq!(r.rx_bytes, 16_000);
        assert_eq!(r.rx_frames, 50);
        assert_eq!(r.rx_tone_hz, Some(700));
    }
}
