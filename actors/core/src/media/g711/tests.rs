use super::*;

/// The G.191 reference encoders, written as in `g711.c` (segment search over end-points),
/// to check the bit-twiddling versions on every input.
mod reference {
    const SEG_AEND: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];
    const SEG_UEND: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];

    fn search(val: i32, table: &[i32; 8]) -> i32 {
        table.iter().position(|&end| val <= end).unwrap_or(8) as i32
    }

    pub(super) fn linear2alaw(pcm: i16) -> u8 {
        let mut v = i32::from(pcm) >> 3;
        let mask = if v >= 0 {
            0xD5
        } else {
            v = -v - 1;
            0x55
        };
        let seg = search(v, &SEG_AEND);
        if seg >= 8 {
            return (0x7F ^ mask) as u8;
        }
        let mut aval = seg << 4;
        aval |= if seg < 2 {
            (v >> 1) & 0xF
        } else {
            (v >> seg) & 0xF
        };
        (aval ^ mask) as u8
    }

    pub(super) fn linear2ulaw(pcm: i16) -> u8 {
        let mut v = i32::from(pcm) >> 2;
        let mask = if v < 0 {
            v = -v;
            0x7F
        } else {
            0xFF
        };
        v = v.min(8159) + (0x84 >> 2);
        let seg = search(v, &SEG_UEND);
        if seg >= 8 {
            return (0x7F ^ mask) as u8;
        }
        (((seg << 4) | ((v >> (seg + 1)) & 0xF)) ^ mask) as u8
    }
}

#[test]
fn encoders_match_the_reference_on_every_sample() {
    for s in i16::MIN..=i16::MAX {
        assert_eq!(encode_ulaw(s), reference::linear2ulaw(s), "ulaw {s}");
        assert_eq!(encode_alaw(s), reference::linear2alaw(s), "alaw {s}");
    }
}

#[test]
fn known_values() {
    // (law, linear, encoded byte, decoded value of that byte)
    let cases: &[(Law, i16, u8, i16)] = &[
        (Law::Ulaw, 0, 0xFF, 0),
        (Law::Ulaw, -1, 0x7E, -8),
        (Law::Ulaw, 8, 0xFE, 8),
        (Law::Ulaw, i16::MAX, 0x80, 32124),
        (Law::Ulaw, i16::MIN, 0x00, -32124),
        (Law::Ulaw, 1000, 0xCE, 988),
        (Law::Ulaw, -1000, 0x4E, -988),
        (Law::Alaw, 0, 0xD5, 8),
        (Law::Alaw, -1, 0x55, -8),
        (Law::Alaw, i16::MAX, 0xAA, 32256),
        (Law::Alaw, i16::MIN, 0x2A, -32256),
        (Law::Alaw, 1000, 0xFA, 1008),
        (Law::Alaw, -1000, 0x7A, -1008),
    ];
    for &(law, linear, byte, decoded) in cases {
        assert_eq!(law.encode(linear), byte, "{law:?} encode {linear}");
        assert_eq!(law.decode(byte), decoded, "{law:?} decode {byte:#04x}");
    }
}

#[test]
fn silence_bytes_decode_to_near_zero() {
    assert_eq!(decode_ulaw(ULAW_SILENCE), 0);
    assert_eq!(decode_ulaw(0x7F), 0, "μ-law negative zero");
    assert_eq!(decode_alaw(ALAW_SILENCE), 8);
    assert_eq!(Law::Ulaw.silence(), Law::Ulaw.encode(0));
    assert_eq!(Law::Alaw.silence(), Law::Alaw.encode(0));
}

#[test]
fn every_byte_round_trips() {
    for b in 0..=255u8 {
        // μ-law has two zeros; 0x7F (negative zero) re-encodes as 0xFF.
        let expect_u = if b == 0x7F { 0xFF } else { b };
        assert_eq!(encode_ulaw(decode_ulaw(b)), expect_u, "ulaw {b:#04x}");
        assert_eq!(encode_alaw(decode_alaw(b)), b, "alaw {b:#04x}");
    }
}

#[test]
fn encoding_is_monotonic_and_error_is_bounded() {
    for law in [Law::Ulaw, Law::Alaw] {
        let mut prev = i16::MIN;
        for s in (i16::MIN..=i16::MAX).step_by(7) {
            let d = law.decode(law.encode(s));
            assert!(d >= prev, "{law:?} not monotonic at {s}");
            prev = d;
            // The quantisation step doubles per segment; the error stays under ~7 %
            // of the magnitude or under the smallest step near zero.
            let err = (i32::from(d) - i32::from(s)).abs();
            let bound = (i32::from(s).abs() / 14).max(16);
            assert!(err <= bound, "{law:?} {s} -> {d} (err {err})");
        }
    }
}

#[test]
fn payload_types_and_names() {
    let cases = [(Law::Ulaw, 0, "PCMU"), (Law::Alaw, 8, "PCMA")];
    for (law, pt, name) in cases {
        assert_eq!(law.payload_type(), pt);
        assert_eq!(Law::from_payload_type(pt), Some(law));
        assert_eq!(law.encoding_name(), name);
    }
    assert_eq!(Law::from_payload_type(18), None);
}

#[test]
fn frame_helpers_convert_modem_frames() {
    use crate::media::{samples_from_le, samples_to_le, FRAME_BYTES, FRAME_SAMPLES};
    let samples: Vec<i16> = (0..FRAME_SAMPLES as i32)
        .map(|i| ((i * 397) % 20000 - 10000) as i16)
        .collect();
    let pcm = samples_to_le(&samples);
    assert_eq!(pcm.len(), FRAME_BYTES);
    type Pair = (fn(&[u8]) -> Vec<u8>, fn(&[u8]) -> Vec<u8>, Law);
    let pairs: [Pair; 2] = [
        (pcm_le_to_ulaw, ulaw_to_pcm_le, Law::Ulaw),
        (pcm_le_to_alaw, alaw_to_pcm_le, Law::Alaw),
    ];
    for (enc, dec, law) in pairs {
        let payload = enc(&pcm);
        assert_eq!(payload.len(), FRAME_SAMPLES);
        for (i, s) in samples.iter().enumerate() {
            assert_eq!(payload[i], law.encode(*s));
        }
        let back = dec(&payload);
        assert_eq!(back.len(), FRAME_BYTES);
        let back = samples_from_le(&back);
        for (a, b) in samples.iter().zip(&back) {
            assert_eq!(*b, law.decode(law.encode(*a)));
        }
    }
}

#[test]
fn into_variants_append_and_ignore_odd_byte() {
    let mut out = vec![0xAB];
    Law::Ulaw.encode_le_into(&[0, 0, 0xFF], &mut out);
    assert_eq!(out, [0xAB, 0xFF]);
    let mut pcm = Vec::new();
    Law::Alaw.decode_le_into(&[0xD5, 0x55], &mut pcm);
    assert_eq!(pcm, [8, 0, 0xF8, 0xFF]);
}

#[test]
fn sine_survives_with_good_snr() {
    for law in [Law::Ulaw, Law::Alaw] {
        let (mut sig, mut noise) = (0f64, 0f64);
        for n in 0..8000 {
            let x = (10000.0 * (2.0 * std::f64::consts::PI * 1000.0 * n as f64 / 8000.0).sin())
                .round() as i16;
            let y = law.decode(law.encode(x));
            sig += f64::from(x).powi(2);
            noise += (f64::from(y) - f64::from(x)).powi(2);
        }
        let snr = 10.0 * (sig / noise).log10();
        assert!(snr > 35.0, "{law:?} SNR {snr:.1} dB");
    }
}
