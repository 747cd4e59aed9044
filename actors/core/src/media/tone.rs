//! Sine tones and their measurement, to prove that audio crosses the media path.
//!
//! [`ToneGenerator`] produces 20 ms frames of a sine with continuous phase, so frames
//! joined end to end form one clean tone. [`goertzel_power`] measures the power of one
//! frequency in a block of samples, on the same scale as [`mean_power`] (a pure tone of
//! amplitude A measures A²/2 in both), so `goertzel_power / mean_power` near 1 means the
//! signal is that tone. [`dominant_hz`] sweeps a range and returns the strongest
//! frequency.
//!
//! Frequency resolution is about 8000 / N Hz for N samples: use several frames (≥ 800
//! samples, 100 ms) to tell tones 10 Hz apart.

use std::f64::consts::TAU;

use super::{FRAME_SAMPLES, SAMPLE_RATE_HZ};

/// Generates a sine tone at 8 kHz, frame after frame, with continuous phase.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    /// Phase advance per sample, in radians.
    step: f64,
    amplitude: f64,
    phase: f64,
}

impl ToneGenerator {
    /// A tone of `freq_hz` with peak `amplitude` (its absolute value is used). A frequency
    /// that is not finite gives silence.
    pub fn new(freq_hz: f64, amplitude: i16) -> Self {
        let step = if freq_hz.is_finite() {
            TAU * freq_hz / f64::from(SAMPLE_RATE_HZ)
        } else {
            0.0
        };
        Self {
            step,
            amplitude: f64::from(amplitude).abs(),
            phase: 0.0,
        }
    }

    /// Fills `out` with the next samples.
    pub fn fill(&mut self, out: &mut [i16]) {
        for s in out {
            let v = (self.amplitude * self.phase.sin()).round();
            // Within ±32768 by construction; the clamp guards the one edge value.
            *s = v.clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16;
            self.phase = (self.phase + self.step) % TAU;
        }
    }

    /// The next 20 ms frame as samples.
    pub fn next_frame(&mut self) -> [i16; FRAME_SAMPLES] {
        let mut frame = [0; FRAME_SAMPLES];
        self.fill(&mut frame);
        frame
    }

    /// The next 20 ms frame as modem PCM (320 bytes, signed 16-bit little-endian).
    pub fn next_frame_le(&mut self) -> Vec<u8> {
        super::samples_to_le(&self.next_frame())
    }
}

/// Mean square of the samples (0 for an empty slice).
pub fn mean_power(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    sum / samples.len() as f64
}

/// Power of `freq_hz` in the samples (Goertzel), scaled so that a pure tone of amplitude
/// A at that frequency measures A²/2, like [`mean_power`]. 0 for an empty slice.
pub fn goertzel_power(samples: &[i16], freq_hz: f64) -> f64 {
    if samples.is_empty() || !freq_hz.is_finite() {
        return 0.0;
    }
    let coeff = 2.0 * (TAU * freq_hz / f64::from(SAMPLE_RATE_HZ)).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let mag2 = (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0);
    let n = samples.len() as f64;
    2.0 * mag2 / (n * n)
}

/// The frequency in `lo..=hi` (stepping by `step` Hz) with the most power, or `None` when
/// the range is empty, `step` is 0, or the samples are silent.
pub fn dominant_hz(samples: &[i16], lo: u32, hi: u32, step: u32) -> Option<u32> {
    if step == 0 || lo > hi {
        return None;
    }
    let mut best: Option<(u32, f64)> = None;
    let mut f = lo;
    loop {
        let p = goertzel_power(samples, f64::from(f));
        if p > best.map_or(0.0, |(_, bp)| bp) {
            best = Some((f, p));
        }
        match f.checked_add(step) {
            Some(next) if next <= hi => f = next,
            _ => break,
        }
    }
    best.map(|(f, _)| f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::g711::Law;
    use crate::media::samples_from_le;

    fn tone(freq: f64, amplitude: i16, frames: usize) -> Vec<i16> {
        let mut g = ToneGenerator::new(freq, amplitude);
        (0..frames).flat_map(|_| g.next_frame()).collect()
    }

    #[test]
    fn phase_is_continuous_across_frames() {
        let mut g = ToneGenerator::new(1000.0, 8000);
        let joined: Vec<i16> = (0..5).flat_map(|_| g.next_frame()).collect();
        let mut one = vec![0; 5 * FRAME_SAMPLES];
        ToneGenerator::new(1000.0, 8000).fill(&mut one);
        assert_eq!(joined, one);
        // 1000 Hz at 8 kHz: period of 8 samples, starting at 0.
        assert_eq!(&joined[..8], &[0, 5657, 8000, 5657, 0, -5657, -8000, -5657]);
    }

    #[test]
    fn le_frames_are_320_bytes() {
        let mut g = ToneGenerator::new(440.0, 1000);
        let f = g.next_frame_le();
        assert_eq!(f.len(), crate::media::FRAME_BYTES);
        assert_eq!(samples_from_le(&f).len(), FRAME_SAMPLES);
    }

    #[test]
    fn goertzel_matches_mean_power_for_pure_tones() {
        // (freq, amplitude, frames)
        let cases = [
            (1000.0, 10000, 1),
            (440.0, 16000, 5),
            (697.0, 3000, 10),
            (3400.0, 20000, 5),
        ];
        for (f, a, frames) in cases {
            let s = tone(f, a, frames);
            let ratio = goertzel_power(&s, f) / mean_power(&s);
            assert!((0.95..1.05).contains(&ratio), "{f} Hz: ratio {ratio}");
            let off = goertzel_power(&s, f + 500.0) / mean_power(&s);
            assert!(off < 0.05, "{f} Hz: off-frequency ratio {off}");
        }
    }

    #[test]
    fn dominant_frequency() {
        // (tone, frames, lo, hi, step, expected)
        let cases = [
            (1000.0, 5, 300, 3400, 10, Some(1000)),
            (697.0, 10, 600, 800, 1, Some(697)),
            (1633.0, 10, 1500, 1700, 1, Some(1633)),
            (450.0, 1, 300, 3400, 50, Some(450)),
            (1000.0, 5, 2000, 3000, 0, None),
            (1000.0, 5, 3000, 2000, 10, None),
        ];
        for (f, frames, lo, hi, step, expect) in cases {
            let s = tone(f, 12000, frames);
            assert_eq!(dominant_hz(&s, lo, hi, step), expect, "{f} Hz");
        }
        assert_eq!(dominant_hz(&[0; 800], 300, 3400, 10), None, "silence");
        assert_eq!(dominant_hz(&[], 300, 3400, 10), None, "empty");
        assert_eq!(
            dominant_hz(&[1, 2, 3], u32::MAX - 1, u32::MAX, 5),
            Some(u32::MAX - 1)
        );
    }

    #[test]
    fn tone_survives_g711() {
        for law in [Law::Ulaw, Law::Alaw] {
            let mut g = ToneGenerator::new(1004.0, 8000);
            let mut out = Vec::new();
            for _ in 0..10 {
                let pcm = g.next_frame_le();
                let payload = law.encode_le(&pcm);
                law.decode_le_into(&payload, &mut out);
            }
            let s = samples_from_le(&out);
            assert_eq!(dominant_hz(&s, 300, 3400, 2), Some(1004), "{law:?}");
            let ratio = goertzel_power(&s, 1004.0) / mean_power(&s);
            assert!(ratio > 0.95, "{law:?}: {ratio}");
        }
    }

    #[test]
    fn edge_inputs() {
        assert_eq!(mean_power(&[]), 0.0);
        assert_eq!(goertzel_power(&[], 1000.0), 0.0);
        assert_eq!(goertzel_power(&[100; 10], f64::NAN), 0.0);
        let mut g = ToneGenerator::new(f64::INFINITY, 1000);
        assert_eq!(g.next_frame(), [0; FRAME_SAMPLES]);
        let s = tone(1000.0, i16::MIN, 2);
        assert_eq!(
            s.iter().max(),
            Some(&i16::MAX),
            "peak clamps instead of wrapping"
        );
    }
}
