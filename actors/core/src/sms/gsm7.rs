//! The GSM 7-bit default alphabet and its extension table (3GPP TS 23.038 §6.2.1), and
//! septet packing (TS 23.038 §6.1.2.1.1, with fill bits after a user data header).

/// The default alphabet, by septet.
const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1b}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The escape septet.
pub const ESC: u8 = 0x1b;

/// The extension table: (septet after ESC, character).
const EXTENSION: [(u8, char); 10] = [
    (0x0a, '\u{0c}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2f, '\\'),
    (0x3c, '['),
    (0x3d, '~'),
    (0x3e, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

/// The septets of `c` (one, or ESC and one), `None` when the alphabet lacks it.
pub fn septets_of(c: char) -> Option<([u8; 2], usize)> {
    if c != '\u{1b}' {
        if let Some(i) = BASIC.iter().position(|b| *b == c) {
            return Some(([i as u8, 0], 1));
        }
    }
    EXTENSION
        .iter()
        .find(|(_, e)| *e == c)
        .map(|(s, _)| ([ESC, *s], 2))
}

/// Whether every character of `text` is in the alphabet (else UCS-2 is needed).
pub fn fits(text: &str) -> bool {
    text.chars().all(|c| septets_of(c).is_some())
}

/// `text` as septets; `None` when a character is not in the alphabet.
pub fn encode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        let (s, n) = septets_of(c)?;
        out.extend_from_slice(&s[..n]);
    }
    Some(out)
}

/// Septets back to text; an unknown escape gives the basic character after it (as
/// TS 23.038 says a receiver should), a lone trailing ESC a space.
pub fn decode(septets: &[u8]) -> String {
    let mut out = String::with_capacity(septets.len());
    let mut it = septets.iter().map(|s| s & 0x7f);
    while let Some(s) = it.next() {
        if s == ESC {
            match it.next() {
                Some(e) => out.push(
                    EXTENSION
                        .iter()
                        .find(|(x, _)| *x == e)
                        .map_or(BASIC[usize::from(e)], |(_, c)| *c),
                ),
                None => out.push(' '),
            }
        } else {
            out.push(BASIC[usize::from(s)]);
        }
    }
    out
}

/// Packs septets into octets, least significant bits first, after `fill` zero bits
/// (the fill that aligns the text after a user data header).
pub fn pack(septets: &[u8], fill: usize) -> Vec<u8> {
    let bits = fill + septets.len() * 7;
    let mut out = vec![0u8; bits.div_ceil(8)];
    for (i, s) in septets.iter().enumerate() {
        let at = fill + i * 7;
        let v = u16::from(s & 0x7f) << (at % 8);
        out[at / 8] |= (v & 0xff) as u8;
        if v > 0xff {
            if let Some(o) = out.get_mut(at / 8 + 1) {
                *o |= (v >> 8) as u8;
            }
        }
    }
    out
}

/// Unpacks `count` septets from octets, after `fill` bits.
pub fn unpack(octets: &[u8], count: usize, fill: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let at = fill + i * 7;
        let lo = u16::from(*octets.get(at / 8).unwrap_or(&0));
        let hi = u16::from(*octets.get(at / 8 + 1).unwrap_or(&0));
        out.push((((hi << 8) | lo) >> (at % 8)) as u8 & 0x7f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alphabet_round_trips() {
        let all: String = BASIC
            .iter()
            .filter(|c| **c != '\u{1b}')
            .chain(EXTENSION.iter().map(|(_, c)| c))
            .collect();
        let s = encode(&all).expect("all encodable");
        assert_eq!(s.len(), 127 + 2 * EXTENSION.len());
        assert_eq!(decode(&s), all);
        assert!(fits("Saldo: R$ 10,00 {€}"));
        assert!(
            !fits("Olá ção"),
            "ã and ç lower case are not in the alphabet"
        );
        assert_eq!(encode("€"), Some(vec![ESC, 0x65]));
        assert_eq!(encode("日本"), None);
        assert_eq!(
            decode(&[ESC, 0x41]),
            "A",
            "unknown escape: the basic character"
        );
        assert_eq!(decode(&[0x41, ESC]), "A ");
    }

    #[test]
    fn packing_matches_the_spec_example() {
        // TS 23.038 / the well-known "hellohello": E8 32 9B FD 46 97 D9 EC 37.
        let s = encode("hellohello").expect("encodable");
        let p = pack(&s, 0);
        assert_eq!(hex(&p), "E8329BFD4697D9EC37");
        assert_eq!(decode(&unpack(&p, 10, 0)), "hellohello");
        // 8 septets fill 7 octets exactly; the eighth septet's bits are the last octet's top.
        let p = pack(&encode("12345678").expect("digits"), 0);
        assert_eq!(p.len(), 7);
        assert_eq!(decode(&unpack(&p, 8, 0)), "12345678");
        // With a 6-octet header, one fill bit aligns the text on a septet.
        let p = pack(&encode("Hi").expect("ascii"), 1);
        assert_eq!(decode(&unpack(&p, 2, 1)), "Hi");
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02X}")).collect()
    }
}
