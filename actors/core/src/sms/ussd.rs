//! USSD strings for `AT+CUSD` (DIALECT.md §4): requests encoded as the model wants
//! (GSM 7-bit packed hex, or UCS-2 hex), replies decoded by their DCS, and the plain
//! text that modems left in text mode send.

use super::gsm7;

/// How a model wants the request string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UssdEncoding {
    /// GSM 7-bit packed, as hex (E173 and most Huawei sticks), DCS 15.
    Gsm7Hex,
    /// UCS-2 as hex, DCS 72.
    Ucs2Hex,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// The `AT+CUSD=1,"<string>",<dcs>` arguments for `code`; `None` when `code` has a
/// character the encoding cannot carry.
pub fn request(code: &str, enc: UssdEncoding) -> Option<(String, u8)> {
    match enc {
        UssdEncoding::Gsm7Hex => {
            let mut s = gsm7::encode(code)?;
            // 8n+7 septets would leave 7 zero bits, read as '@': pad with CR (TS 23.038).
            if s.len() % 8 == 7 {
                s.push(b'\r');
            }
            Some((hex(&gsm7::pack(&s, 0)), 15))
        }
        UssdEncoding::Ucs2Hex => Some((
            code.encode_utf16()
                .flat_map(u16::to_be_bytes)
                .map(|b| format!("{b:02X}"))
                .collect(),
            72,
        )),
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || s.len() % 2 != 0 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// A `+CUSD` reply's text. A DCS without bit 0x40 (15, say) is packed GSM 7-bit hex;
/// else bits 3..2 say: 1 8-bit, 2 UCS-2 hex, 0 or 3 GSM 7-bit. A string that is not hex
/// is plain text (a modem in text mode).
pub fn reply(text: &str, dcs: Option<u16>) -> String {
    let Some(bytes) = unhex(text) else {
        return text.to_string();
    };
    let dcs = dcs.unwrap_or(15);
    let kind = if dcs & 0x40 == 0 { 0 } else { (dcs >> 2) & 3 };
    match kind {
        2 => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        1 => bytes.iter().map(|b| char::from(*b)).collect(),
        _ => {
            let n = bytes.len() * 8 / 7;
            let mut s = gsm7::unpack(&bytes, n, 0);
            if s.len() % 8 == 0 && s.last() == Some(&b'\r') {
                s.pop();
            }
            gsm7::decode(&s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        assert_eq!(
            request("*100#", UssdEncoding::Gsm7Hex),
            Some(("AA180C3602".into(), 15))
        );
        assert_eq!(
            request("*100#", UssdEncoding::Ucs2Hex),
            Some(("002A0031003000300023".into(), 72))
        );
        // Seven septets: padded with CR so the reader does not see a trailing '@'.
        let (h, _) = request("*123*1#", UssdEncoding::Gsm7Hex).expect("gsm");
        assert_eq!(reply(&h, Some(15)), "*123*1#");
        assert_eq!(request("日本", UssdEncoding::Gsm7Hex), None);
    }

    #[test]
    fn replies_by_dcs() {
        let (h, _) = request("Saldo R$ 12,50 ate 31/12", UssdEncoding::Gsm7Hex).expect("gsm");
        assert_eq!(reply(&h, Some(15)), "Saldo R$ 12,50 ate 31/12");
        assert_eq!(reply(&h, None), "Saldo R$ 12,50 ate 31/12");
        let (u, _) = request("Saldo: R$ 3,20 até 05/01", UssdEncoding::Ucs2Hex).expect("ucs2");
        assert_eq!(reply(&u, Some(72)), "Saldo: R$ 3,20 até 05/01");
        assert_eq!(reply("4F4B", Some(68)), "OK", "8-bit");
        assert_eq!(
            reply("Balance 10", Some(15)),
            "Balance 10",
            "text mode: as is"
        );
        assert_eq!(reply("", Some(15)), "");
    }
}
