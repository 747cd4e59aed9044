//! The mutation engine: structure-aware enough to get past the first line, random enough
//! to reach the corners.

use crate::test_util::Lcg;

/// Bytes that mean something to the SIP, SDP and AT grammars.
const SPECIAL: &[u8] = b"\r\n\0\xff \t:;,=<>\"\\%/@?&+-0123456789";
/// Pieces worth splicing in.
const PIECES: &[&[u8]] = &[
    b"\r\n",
    b"\r\n\r\n",
    b"\r\n ",
    b"%00",
    b"%",
    b"\"",
    b"\\\"",
    b";",
    b";;",
    b"=",
    b"<>",
    b"99999999999999999999999",
    b"-1",
    b"4294967296",
    b"Content-Length: 999999\r\n",
    b"Content-Length: 0\r\n",
    b"v: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx\r\n",
    b"Via: SIP / 2.0 / SCTP a.b;branch=z9hG4bK1 , SIP/2.0/TLS c\r\n",
    b"Require: foo\r\n",
    b"Content-Type: multipart/mixed;boundary=x\r\n",
    b"Max-Forwards: 0\r\n",
    b"\xc3\xa9\xe2\x82\xac",
    b"a=rtpmap:96\r\n",
    b"m=audio 0 RTP/AVP\r\n",
    b"+CLCC: 1,0,2,0,0,\"123\",129\r\n",
    b"^CEND:1,0,104,16\r\n",
    b"\r\nOK\r\n",
    b"\r\n+CME ERROR: 10\r\n",
];

impl Lcg {
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One seed, mutated 1 to 8 times (now and then spliced with another).
pub(super) fn mutate(rng: &mut Lcg, seeds: &[&[u8]]) -> Vec<u8> {
    let mut b = seeds[rng.below(seeds.len())].to_vec();
    for _ in 0..=rng.below(8) {
        step(rng, &mut b, seeds);
    }
    b
}

fn step(rng: &mut Lcg, b: &mut Vec<u8>, seeds: &[&[u8]]) {
    let at = rng.below(b.len() + 1);
    match rng.below(10) {
        0 if !b.is_empty() => {
            let i = rng.below(b.len());
            b[i] ^= 1 << rng.below(8);
        }
        1 => b.insert(at, SPECIAL[rng.below(SPECIAL.len())]),
        2 if at < b.len() => {
            let end = (at + 1 + rng.below(16)).min(b.len());
            b.drain(at..end);
        }
        3 if at < b.len() => {
            // Repeat a run (a header line, a parameter) a few or many times.
            let end = (at + 1 + rng.below(64)).min(b.len());
            let run = b[at..end].to_vec();
            let most = if rng.below(8) == 0 { 400 } else { 4 };
            for _ in 0..1 + rng.below(most) {
                b.splice(at..at, run.iter().copied());
            }
        }
        4 => {
            let p = PIECES[rng.below(PIECES.len())];
            b.splice(at..at, p.iter().copied());
        }
        5 => {
            // Splice in a part of another seed.
            let other = seeds[rng.below(seeds.len())];
            let from = rng.below(other.len());
            let to = (from + rng.below(200)).min(other.len());
            b.splice(at..at, other[from..to].iter().copied());
        }
        6 if at < b.len() => b.truncate(at),
        7 if at < b.len() => {
            // Replace a run of digits by another number.
            let end = b[at..]
                .iter()
                .position(|c| !c.is_ascii_digit())
                .map_or(b.len(), |p| at + p);
            let n = [0u64, 1, 65_535, 65_536, u32::MAX as u64 + 1, u64::MAX][rng.below(6)];
            b.splice(at..end, n.to_string().bytes());
        }
        8 if !b.is_empty() => {
            // Lower or upper case a stretch (header names are case-insensitive).
            let end = (at + rng.below(32)).min(b.len());
            for c in &mut b[at..end] {
                *c = if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                };
            }
        }
        _ => {
            let i = rng.below(b.len() + 1);
            b.insert(i, rng.next() as u8);
        }
    }
}
