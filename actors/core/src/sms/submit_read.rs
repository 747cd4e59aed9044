//! Reading SMS-SUBMIT PDUs (3GPP TS 23.040 §9.2.2.2): what a host hands `AT+CMGS`, read
//! back by the modem simulator (and by tests of what [`super::pdu::submit`] builds).

use super::gsm7;
use super::pdu::{alphabet, unhex, Concat, PduError, Reader};

/// An SMS-SUBMIT as read from its hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitRead {
    /// TP-MR as the host wrote it (a modem answers `+CMGS` with its own counter).
    pub message_reference: u8,
    /// The destination: digits (with `+` when international) or an alphanumeric name.
    pub to: String,
    /// The text of this part.
    pub text: String,
    /// TP-SRR: a status report is asked for.
    pub status_report: bool,
    /// Its place in a long text (8-bit IEI 0x00 or 16-bit IEI 0x08 reference).
    pub concat: Option<Concat>,
    /// TP-DCS.
    pub dcs: u8,
    /// TPDU octets (after the SMSC field): what `AT+CMGS=<n>` must say.
    pub tpdu_len: usize,
}

impl SubmitRead {
    /// Whether the text travels as UCS-2.
    pub fn ucs2(&self) -> bool {
        alphabet(self.dcs) == 2
    }
}

/// The TPDU length of a PDU given in hex with its SMSC field (whose first octet is its
/// length): the octets after that field.
pub fn tpdu_len(pdu_hex: &str) -> Result<usize, PduError> {
    let b = unhex(pdu_hex)?;
    let smsc = usize::from(*b.first().ok_or(PduError::Malformed("SMSC length"))?);
    b.len()
        .checked_sub(1 + smsc)
        .filter(|n| *n > 0)
        .ok_or(PduError::Malformed("SMSC longer than the PDU"))
}

/// The concatenation element of a user data header, if any.
fn concat_of(header: &[u8]) -> Result<Option<Concat>, PduError> {
    let mut concat = None;
    let mut i = 0;
    while i < header.len() {
        let iei = header[i];
        let len = usize::from(
            *header
                .get(i + 1)
                .ok_or(PduError::Malformed("header element"))?,
        );
        let v = header
            .get(i + 2..i + 2 + len)
            .ok_or(PduError::Malformed("header element"))?;
        match (iei, v) {
            (0x00, [r, t, s]) => {
                concat = Some(Concat {
                    reference: u16::from(*r),
                    total: *t,
                    seq: *s,
                })
            }
            (0x08, [r1, r2, t, s]) => {
                concat = Some(Concat {
                    reference: u16::from_be_bytes([*r1, *r2]),
                    total: *t,
                    seq: *s,
                })
            }
            (0x00 | 0x08, _) => return Err(PduError::Malformed("concatenation element")),
            _ => {}
        }
        i += 2 + len;
    }
    if let Some(c) = concat {
        if c.total == 0 || c.seq == 0 || c.seq > c.total {
            return Err(PduError::Malformed("concatenation numbers"));
        }
    }
    Ok(concat)
}

/// Reads an SMS-SUBMIT given in hex with its SMSC field (`00` for none), as `AT+CMGS`
/// receives it: the destination, the text (GSM 7-bit after the header's fill bits, UCS-2
/// or 8-bit), TP-SRR, the concatenation header and TP-MR. User data shorter or longer
/// than TP-UDL says is malformed.
pub fn parse_submit(pdu_hex: &str) -> Result<SubmitRead, PduError> {
    let b = unhex(pdu_hex)?;
    let mut r = Reader { b: &b, at: 0 };
    let smsc = usize::from(r.u8("SMSC length")?);
    r.take(smsc, "SMSC")?;
    let tpdu_len = b.len() - r.at;
    let first = r.u8("first octet")?;
    if first & 0x03 != 0x01 {
        return Err(PduError::Malformed("not an SMS-SUBMIT"));
    }
    let message_reference = r.u8("message reference")?;
    let to = r.address(true)?;
    if to.is_empty() || to == "+" {
        return Err(PduError::Malformed("empty destination"));
    }
    r.u8("PID")?;
    let dcs = r.u8("DCS")?;
    match (first >> 3) & 0x03 {
        0b00 => {}
        0b10 => {
            r.u8("validity period")?;
        }
        _ => {
            r.take(7, "validity period")?;
        }
    }
    let udl = usize::from(r.u8("user data length")?);
    let ud = r.rest();
    let (header_octets, concat) = if first & 0x40 != 0 {
        let udhl = usize::from(*ud.first().ok_or(PduError::Malformed("header length"))?);
        let h = ud.get(1..1 + udhl).ok_or(PduError::Malformed("header"))?;
        (1 + udhl, concat_of(h)?)
    } else {
        (0, None)
    };
    let text = match alphabet(dcs) {
        0 => {
            let fill = (7 - (header_octets * 8) % 7) % 7;
            let header_septets = (header_octets * 8 + fill) / 7;
            let count = udl
                .checked_sub(header_septets)
                .ok_or(PduError::Malformed("user data length inside the header"))?;
            if ud.len() != (udl * 7).div_ceil(8) {
                return Err(PduError::Malformed("user data does not match its length"));
            }
            let body = ud.get(header_octets..).unwrap_or(&[]);
            gsm7::decode(&gsm7::unpack(body, count, fill))
        }
        alpha => {
            if ud.len() != udl || udl < header_octets {
                return Err(PduError::Malformed("user data does not match its length"));
            }
            let body = &ud[header_octets..];
            if alpha == 2 {
                if body.len() % 2 != 0 {
                    return Err(PduError::Malformed("odd UCS-2 length"));
                }
                let units: Vec<u16> = body
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16_lossy(&units)
            } else {
                body.iter().map(|b| char::from(*b)).collect()
            }
        }
    };
    Ok(SubmitRead {
        message_reference,
        to,
        text,
        status_report: first & 0x20 != 0,
        concat,
        dcs,
        tpdu_len,
    })
}

#[cfg(test)]
mod tests {
    use super::super::pdu::{submit, Submit};
    use super::*;

    fn sub<'a>(to: &'a str, text: &'a str, srr: bool, reference: u8) -> Submit<'a> {
        Submit {
            to,
            text,
            status_report: srr,
            validity: 169,
            reference,
        }
    }

    #[test]
    fn reads_the_known_pdu() {
        let r = parse_submit("0011000B916407281553F80000AA0AE8329BFD4697D9EC37").expect("reads");
        assert_eq!(r.to, "+46708251358");
        assert_eq!(r.text, "hellohello");
        assert_eq!((r.status_report, r.concat, r.tpdu_len), (false, None, 23));
        assert_eq!(
            tpdu_len("0011000B916407281553F80000AA0AE8329BFD4697D9EC37"),
            Ok(23)
        );
        // With an SMSC field, no validity period, and a TP-MR of 0x2A.
        let r = parse_submit("07915521181109F0012A0B811189674523F1000002CF34").expect("reads");
        assert_eq!((r.to.as_str(), r.text.as_str()), ("11987654321", "Oi"));
        assert_eq!((r.message_reference, r.tpdu_len), (0x2A, 15));
    }

    #[test]
    fn round_trips_what_submit_builds() {
        let cases: [(&str, String, bool); 5] = [
            ("+5511987650000", "Saldo R$ 10,00 {ok} €".into(), false),
            ("11987654321", "Olá, ação 😀".into(), true),
            (
                "+5511987650000",
                "x".repeat(152) + "€" + &"y".repeat(47),
                true,
            ),
            ("+5511987650000", "ação ".repeat(30), false),
            ("123", "1234567".into(), false),
        ];
        for (to, text, srr) in cases {
            let parts = submit(&sub(to, &text, srr, 42)).expect("encodes");
            let mut back = String::new();
            for (i, p) in parts.iter().enumerate() {
                let r = parse_submit(&p.hex).unwrap_or_else(|e| panic!("{text}: {e}"));
                assert_eq!(r.to, to);
                assert_eq!(r.status_report, srr);
                assert_eq!(r.tpdu_len, p.tpdu_len);
                assert_eq!(tpdu_len(&p.hex), Ok(p.tpdu_len));
                assert_eq!(r.ucs2(), !gsm7::fits(&text));
                match r.concat {
                    None => assert_eq!(parts.len(), 1),
                    Some(c) => {
                        assert_eq!((c.reference, c.total), (42, parts.len() as u8));
                        assert_eq!(usize::from(c.seq), i + 1);
                    }
                }
                back.push_str(&r.text);
            }
            assert_eq!(back, text);
        }
    }

    #[test]
    fn reads_a_16_bit_reference_and_absolute_validity() {
        // SUBMIT with VPF 11 (7 octets), UDHI, IEI 08 (ref 0x1234, 3 parts, part 2), UCS-2 "Hi".
        let mut b = vec![0x00, 0x59, 0x07, 0x04, 0x81, 0x21, 0x43, 0x00, 0x08];
        b.extend_from_slice(&[0x62, 0x21, 0x30, 0x21, 0x43, 0x65, 0x00]);
        b.extend_from_slice(&[11, 6, 0x08, 0x04, 0x12, 0x34, 3, 2, 0x00, b'H', 0x00, b'i']);
        let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
        let r = parse_submit(&hex).expect("reads");
        assert_eq!((r.to.as_str(), r.text.as_str()), ("1234", "Hi"));
        assert_eq!(
            r.concat,
            Some(Concat {
                reference: 0x1234,
                total: 3,
                seq: 2
            })
        );
        assert_eq!(r.message_reference, 0x07);
    }

    #[test]
    fn refuses_malformed_pdus() {
        let good = "0011000B916407281553F80000AA0AE8329BFD4697D9EC37";
        for bad in [
            "",
            "0",
            "ZZ",
            "00",
            "01",
            "0004",
            // A DELIVER, not a SUBMIT.
            "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37",
            // One octet short and one too many.
            &good[..good.len() - 2],
            &format!("{good}00"),
            // UDL says 11 septets.
            "0011000B916407281553F80000AA0BE8329BFD4697D9EC37",
        ] {
            assert!(parse_submit(bad).is_err(), "{bad:?}");
        }
        for n in (0..good.len()).step_by(2) {
            assert!(parse_submit(&good[..n]).is_err(), "prefix {n}");
        }
        assert!(tpdu_len("05000000").is_err());
        assert!(tpdu_len("00").is_err());
    }

    #[test]
    fn garbage_never_panics() {
        let mut x: u32 = 0x8765_4321;
        for _ in 0..5_000 {
            let mut b = vec![0x00, 0x51];
            for _ in 0..(x % 60) {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                b.push((x >> 24) as u8);
            }
            let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
            let _ = parse_submit(&hex);
            b[1] = 0x41 | ((x >> 3) as u8 & 0x18);
            let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
            let _ = parse_submit(&hex);
        }
    }
}
