//! ITU-T G.711 μ-law (PCMU, RTP payload type 0) and A-law (PCMA, payload type 8).
//!
//! Encoding follows the ITU-T G.191 reference (the classic `g711.c`): μ-law works on the
//! 14 most significant bits with a bias of 33 and clips at 8159, A-law works on the 13
//! most significant bits and inverts the even bits (XOR `0x55`). Encoding is a few integer
//! operations per sample; decoding is a 256-entry table built at compile time.
//!
//! The frame helpers take and give the modem's byte layout (signed 16-bit little-endian),
//! so a 320-byte modem frame becomes a 160-byte RTP payload and back. The `_into` forms
//! append to a caller-owned buffer so the 20 ms path allocates nothing.

/// μ-law byte of digital silence (decodes to 0).
pub const ULAW_SILENCE: u8 = 0xFF;

/// A-law byte closest to silence (decodes to +8).
pub const ALAW_SILENCE: u8 = 0xD5;

/// One of the two G.711 companding laws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Law {
    /// μ-law, PCMU, RTP payload type 0.
    Ulaw,
    /// A-law, PCMA, RTP payload type 8.
    Alaw,
}

impl Law {
    /// The static RTP payload type of this law.
    pub fn payload_type(self) -> u8 {
        match self {
            Self::Ulaw => 0,
            Self::Alaw => 8,
        }
    }

    /// The law of a static RTP payload type (0 or 8).
    pub fn from_payload_type(pt: u8) -> Option<Self> {
        match pt {
            0 => Some(Self::Ulaw),
            8 => Some(Self::Alaw),
            _ => None,
        }
    }

    /// The SDP encoding name (`PCMU` or `PCMA`).
    pub fn encoding_name(self) -> &'static str {
        match self {
            Self::Ulaw => "PCMU",
            Self::Alaw => "PCMA",
        }
    }

    /// The byte that stands for silence in this law.
    pub fn silence(self) -> u8 {
        match self {
            Self::Ulaw => ULAW_SILENCE,
            Self::Alaw => ALAW_SILENCE,
        }
    }

    /// Encodes one sample.
    pub fn encode(self, sample: i16) -> u8 {
        match self {
            Self::Ulaw => encode_ulaw(sample),
            Self::Alaw => encode_alaw(sample),
        }
    }

    /// Decodes one byte.
    pub fn decode(self, byte: u8) -> i16 {
        match self {
            Self::Ulaw => decode_ulaw(byte),
            Self::Alaw => decode_alaw(byte),
        }
    }

    /// Encodes modem PCM (signed 16-bit little-endian) to G.711 bytes, appending to `out`.
    /// A trailing odd byte is ignored.
    pub fn encode_le_into(self, pcm: &[u8], out: &mut Vec<u8>) {
        out.reserve(pcm.len() / 2);
        match self {
            Self::Ulaw => out.extend(
                pcm.chunks_exact(2)
                    .map(|b| encode_ulaw(i16::from_le_bytes([b[0], b[1]]))),
            ),
            Self::Alaw => out.extend(
                pcm.chunks_exact(2)
                    .map(|b| encode_alaw(i16::from_le_bytes([b[0], b[1]]))),
            ),
        }
    }

    /// Decodes G.711 bytes to modem PCM (signed 16-bit little-endian), appending to `out`.
    pub fn decode_le_into(self, payload: &[u8], out: &mut Vec<u8>) {
        let table = match self {
            Self::Ulaw => &ULAW_DECODE,
            Self::Alaw => &ALAW_DECODE,
        };
        out.reserve(payload.len() * 2);
        for &b in payload {
            out.extend_from_slice(&table[usize::from(b)].to_le_bytes());
        }
    }

    /// Encodes modem PCM (signed 16-bit little-endian) to a new G.711 buffer.
    pub fn encode_le(self, pcm: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(pcm.len() / 2);
        self.encode_le_into(pcm, &mut out);
        out
    }

    /// Decodes G.711 bytes to a new modem PCM buffer (signed 16-bit little-endian).
    pub fn decode_le(self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(payload.len() * 2);
        self.decode_le_into(payload, &mut out);
        out
    }
}

/// Encodes one 16-bit linear sample to μ-law.
pub fn encode_ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84 >> 2;
    const CLIP: i32 = 8159;
    let v = i32::from(sample) >> 2;
    let (mag, mask) = if v < 0 { (-v, 0x7F) } else { (v, 0xFF) };
    // 33..=8192: the highest set bit gives the segment.
    let mag = mag.min(CLIP) + BIAS;
    let seg = (31 - mag.leading_zeros()).saturating_sub(5);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    // `seg` < 8 and the masked value < 16, so both fit in a byte.
    let uval = (seg << 4) as u8 | ((mag >> (seg + 1)) & 0x0F) as u8;
    uval ^ mask
}

/// Encodes one 16-bit linear sample to A-law.
pub fn encode_alaw(sample: i16) -> u8 {
    let v = i32::from(sample) >> 3;
    let (mag, mask) = if v >= 0 { (v, 0xD5) } else { (-v - 1, 0x55) };
    // 0..=4095: segment 0 below 32, then one segment per bit.
    let seg = if mag < 32 {
        0
    } else {
        31 - mag.leading_zeros() - 4
    };
    let quant = if seg < 2 { mag >> 1 } else { mag >> seg } & 0x0F;
    // `seg` ≤ 7 and `quant` < 16.
    let aval = (seg << 4) as u8 | quant as u8;
    aval ^ mask
}

/// Decodes one μ-law byte to a 16-bit linear sample.
pub fn decode_ulaw(byte: u8) -> i16 {
    ULAW_DECODE[usize::from(byte)]
}

/// Decodes one A-law byte to a 16-bit linear sample.
pub fn decode_alaw(byte: u8) -> i16 {
    ALAW_DECODE[usize::from(byte)]
}

/// Encodes a modem PCM frame (signed 16-bit little-endian) to μ-law.
pub fn pcm_le_to_ulaw(pcm: &[u8]) -> Vec<u8> {
    Law::Ulaw.encode_le(pcm)
}

/// Decodes a μ-law payload to a modem PCM frame (signed 16-bit little-endian).
pub fn ulaw_to_pcm_le(payload: &[u8]) -> Vec<u8> {
    Law::Ulaw.decode_le(payload)
}

/// Encodes a modem PCM frame (signed 16-bit little-endian) to A-law.
pub fn pcm_le_to_alaw(pcm: &[u8]) -> Vec<u8> {
    Law::Alaw.encode_le(pcm)
}

/// Decodes an A-law payload to a modem PCM frame (signed 16-bit little-endian).
pub fn alaw_to_pcm_le(payload: &[u8]) -> Vec<u8> {
    Law::Alaw.decode_le(payload)
}

const fn ulaw_to_linear(byte: u8) -> i16 {
    const BIAS: i16 = 0x84;
    let u = !byte;
    let mut t = (((u & 0x0F) as i16) << 3) + BIAS;
    t <<= (u & 0x70) >> 4;
    if u & 0x80 != 0 {
        BIAS - t
    } else {
        t - BIAS
    }
}

const fn alaw_to_linear(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let mut t = ((a & 0x0F) as i16) << 4;
    let seg = (a & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    if a & 0x80 != 0 {
        t
    } else {
        -t
    }
}

static ULAW_DECODE: [i16; 256] = build_ulaw();
static ALAW_DECODE: [i16; 256] = build_alaw();

const fn build_ulaw() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = ulaw_to_linear(i as u8);
        i += 1;
    }
    table
}

const fn build_alaw() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = alaw_to_linear(i as u8);
        i += 1;
    }
    table
}

#[cfg(test)]
mod tests;
