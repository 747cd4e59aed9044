//! SMS TPDUs in PDU mode (3GPP TS 23.040 §9.2): SMS-SUBMIT built for `AT+CMGS`
//! (GSM 7-bit or UCS-2, long texts split with an 8-bit concatenation header, optional
//! status report), SMS-DELIVER and SMS-STATUS-REPORT read from `AT+CMGR`.

use super::gsm7;

/// Why a PDU could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PduError {
    /// The number is not 1..=20 digits with an optional `+`.
    #[error("not a number an SMS can go to: {0:?}")]
    BadNumber(String),
    /// Nothing to send.
    #[error("empty text")]
    Empty,
    /// Too long even split in 255 parts.
    #[error("text too long ({0} parts)")]
    TooLong(usize),
    /// The hex or the fields do not add up.
    #[error("malformed PDU: {0}")]
    Malformed(&'static str),
}

/// One part to send: the PDU as hex (with an empty SMSC, `00`) and the TPDU length
/// `AT+CMGS=<n>` wants (octets after the SMSC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitPart {
    /// Hex, upper case.
    pub hex: String,
    /// TPDU octets.
    pub tpdu_len: usize,
}

/// What to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submit<'a> {
    /// The destination: digits, `+` for international.
    pub to: &'a str,
    /// The text.
    pub text: &'a str,
    /// Ask the network for a status report.
    pub status_report: bool,
    /// TP-VP, relative format (169: 3 days; 0xAA: 4 days).
    pub validity: u8,
    /// The concatenation reference of a long text (the same for all its parts).
    pub reference: u8,
}

/// Single-part and per-part limits: (GSM 7-bit septets, UCS-2 code units).
const SINGLE: (usize, usize) = (160, 70);
const PART: (usize, usize) = (153, 67);

fn address(number: &str) -> Result<Vec<u8>, PduError> {
    let (intl, digits) = match number.strip_prefix('+') {
        Some(d) => (true, d),
        None => (false, number),
    };
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PduError::BadNumber(number.to_string()));
    }
    let mut out = vec![digits.len() as u8, if intl { 0x91 } else { 0x81 }];
    for pair in digits.as_bytes().chunks(2) {
        let lo = pair[0] - b'0';
        let hi = pair.get(1).map_or(0xf, |d| d - b'0');
        out.push((hi << 4) | lo);
    }
    Ok(out)
}

/// The text's parts: (payload units, is UCS-2); `force_ucs2` even when GSM 7-bit would
/// do. GSM 7-bit parts never split an escape; UCS-2 parts never split a surrogate pair.
pub(super) fn split(text: &str, force_ucs2: bool) -> (Vec<Vec<u8>>, bool) {
    if let Some(septets) = gsm7::encode(text).filter(|_| !force_ucs2) {
        if septets.len() <= SINGLE.0 {
            return (vec![septets], false);
        }
        let mut parts = Vec::new();
        let mut cur = Vec::new();
        for c in text.chars() {
            if let Some((s, n)) = gsm7::septets_of(c) {
                if cur.len() + n > PART.0 {
                    parts.push(std::mem::take(&mut cur));
                }
                cur.extend_from_slice(&s[..n]);
            }
        }
        parts.push(cur);
        return (parts, false);
    }
    let units: Vec<u16> = text.encode_utf16().collect();
    let to_bytes = |u: &[u16]| u.iter().flat_map(|x| x.to_be_bytes()).collect::<Vec<u8>>();
    if units.len() <= SINGLE.1 {
        return (vec![to_bytes(&units)], true);
    }
    let mut parts = Vec::new();
    let mut cur: Vec<u16> = Vec::new();
    for c in text.chars() {
        let mut buf = [0u16; 2];
        let u = c.encode_utf16(&mut buf);
        if cur.len() + u.len() > PART.1 {
            parts.push(to_bytes(&cur));
            cur.clear();
        }
        cur.extend_from_slice(u);
    }
    parts.push(to_bytes(&cur));
    (parts, true)
}

pub(super) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// The SMS-SUBMIT PDUs of a text, one per part.
pub fn submit(s: &Submit<'_>) -> Result<Vec<SubmitPart>, PduError> {
    if s.text.is_empty() {
        return Err(PduError::Empty);
    }
    let da = address(s.to)?;
    let (parts, ucs2) = split(s.text, false);
    if parts.len() > 255 {
        return Err(PduError::TooLong(parts.len()));
    }
    let total = parts.len() as u8;
    let mut out = Vec::with_capacity(parts.len());
    for (i, payload) in parts.iter().enumerate() {
        let udh = (total > 1).then(|| [0x05, 0x00, 0x03, s.reference, total, i as u8 + 1]);
        let mut first = 0x01 | 0x10; // SMS-SUBMIT, relative validity
        if s.status_report {
            first |= 0x20;
        }
        if udh.is_some() {
            first |= 0x40;
        }
        let mut tpdu = vec![first, 0x00];
        tpdu.extend_from_slice(&da);
        tpdu.push(0x00); // TP-PID
        tpdu.push(if ucs2 { 0x08 } else { 0x00 });
        tpdu.push(s.validity);
        let udh_len = udh.map_or(0, |h| h.len());
        if ucs2 {
            tpdu.push((udh_len + payload.len()) as u8);
            if let Some(h) = udh {
                tpdu.extend_from_slice(&h);
            }
            tpdu.extend_from_slice(payload);
        } else {
            // The header takes whole septets: 6 octets are 48 bits, 7 septets less 1 fill bit.
            let fill = (7 - (udh_len * 8) % 7) % 7;
            let header_septets = (udh_len * 8 + fill) / 7;
            tpdu.push((header_septets + payload.len()) as u8);
            let packed = gsm7::pack(payload, fill);
            match udh {
                Some(h) => {
                    tpdu.extend_from_slice(&h);
                    // The packed text's first octet holds the fill bits: they share the
                    // octet after the header.
                    tpdu.extend_from_slice(&packed);
                }
                None => tpdu.extend_from_slice(&packed),
            }
        }
        out.push(SubmitPart {
            hex: format!("00{}", hex(&tpdu)),
            tpdu_len: tpdu.len(),
        });
    }
    Ok(out)
}

/// Where a message is in a long text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concat {
    /// Reference shared by the parts.
    pub reference: u16,
    /// Parts in all.
    pub total: u8,
    /// This part, from 1.
    pub seq: u8,
}

/// A received SMS (SMS-DELIVER).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deliver {
    /// The sender: digits (with `+` when international) or an alphanumeric name.
    pub from: String,
    /// The service centre's time stamp, as written (`YY-MM-DD hh:mm:ss±zz`, zz in
    /// quarters of an hour).
    pub timestamp: String,
    /// The text of this part.
    pub text: String,
    /// Its place in a long text.
    pub concat: Option<Concat>,
}

/// A status report (SMS-STATUS-REPORT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// The TP-MR of the message it is about (`+CMGS: <mr>`).
    pub reference: u8,
    /// The recipient.
    pub to: String,
    /// TP-ST: 0x00..=0x1F delivered, 0x20..=0x3F still trying, 0x40.. failed.
    pub status: u8,
}

impl StatusReport {
    /// Delivered (TP-ST 0x00..=0x1F).
    pub fn delivered(&self) -> bool {
        self.status < 0x20
    }

    /// Failed for good (TP-ST 0x40 and above).
    pub fn failed(&self) -> bool {
        self.status >= 0x40
    }
}

/// What `AT+CMGR` returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A message.
    Deliver(Deliver),
    /// A status report.
    Status(StatusReport),
}

/// Reads a PDU front to back, each field named for the error when it is missing.
pub(super) struct Reader<'a> {
    pub(super) b: &'a [u8],
    pub(super) at: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn u8(&mut self, what: &'static str) -> Result<u8, PduError> {
        let v = *self.b.get(self.at).ok_or(PduError::Malformed(what))?;
        self.at += 1;
        Ok(v)
    }

    pub(super) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], PduError> {
        let s = self
            .b
            .get(self.at..self.at + n)
            .ok_or(PduError::Malformed(what))?;
        self.at += n;
        Ok(s)
    }

    pub(super) fn rest(&self) -> &'a [u8] {
        self.b.get(self.at..).unwrap_or(&[])
    }

    /// An address: digits (with `+` when international) or an alphanumeric name. A
    /// semi-octet that is no digit is skipped, or with `strict` an error.
    pub(super) fn address(&mut self, strict: bool) -> Result<String, PduError> {
        let digits = usize::from(self.u8("address length")?);
        let toa = self.u8("address type")?;
        let raw = self.take(digits.div_ceil(2), "address")?;
        if toa & 0x70 == 0x50 {
            // Alphanumeric (TON 101): GSM 7-bit packed, `digits` counts semi-octets.
            return Ok(gsm7::decode(&gsm7::unpack(raw, digits * 4 / 7, 0)));
        }
        let mut s = String::with_capacity(digits + 1);
        if toa & 0x70 == 0x10 {
            s.push('+');
        }
        for i in 0..digits {
            let o = raw[i / 2];
            let d = if i % 2 == 0 { o & 0x0f } else { o >> 4 };
            match d {
                0..=9 => s.push(char::from(b'0' + d)),
                0x0a => s.push('*'),
                0x0b => s.push('#'),
                _ if strict => return Err(PduError::Malformed("address digit")),
                _ => {}
            }
        }
        Ok(s)
    }

    fn timestamp(&mut self) -> Result<String, PduError> {
        let t = self.take(7, "time stamp")?;
        let d = |o: u8| (o & 0x0f) * 10 + (o >> 4);
        let tz = d(t[6] & 0xf7);
        let sign = if t[6] & 0x08 != 0 { '-' } else { '+' };
        Ok(format!(
            "{:02}-{:02}-{:02} {:02}:{:02}:{:02}{sign}{tz:02}",
            d(t[0]),
            d(t[1]),
            d(t[2]),
            d(t[3]),
            d(t[4]),
            d(t[5])
        ))
    }
}

/// The alphabet a TP-DCS names: 0 GSM 7-bit, 1 8-bit, 2 UCS-2 (TS 23.038 §4).
pub fn alphabet(dcs: u8) -> u8 {
    match dcs >> 4 {
        0x0..=0x7 => (dcs >> 2) & 0x03,
        0xe => 2,
        0xf => u8::from(dcs & 0x04 != 0),
        _ => 0,
    }
}

pub(super) fn unhex(s: &str) -> Result<Vec<u8>, PduError> {
    let s = s.trim();
    if s.len() % 2 != 0 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(PduError::Malformed("not hex"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| PduError::Malformed("not hex")))
        .collect()
}

/// Reads the PDU line of `+CMGR` (with its SMSC part).
pub fn parse(pdu_hex: &str) -> Result<Received, PduError> {
    let b = unhex(pdu_hex)?;
    let mut r = Reader { b: &b, at: 0 };
    let smsc = usize::from(r.u8("SMSC length")?);
    r.take(smsc, "SMSC")?;
    let first = r.u8("first octet")?;
    match first & 0x03 {
        0x00 => deliver(&mut r, first).map(Received::Deliver),
        0x02 => {
            let reference = r.u8("message reference")?;
            let to = r.address(false)?;
            r.timestamp()?;
            r.timestamp()?;
            let status = r.u8("status")?;
            Ok(Received::Status(StatusReport {
                reference,
                to,
                status,
            }))
        }
        _ => Err(PduError::Malformed("not a DELIVER or STATUS-REPORT")),
    }
}

fn deliver(r: &mut Reader<'_>, first: u8) -> Result<Deliver, PduError> {
    let from = r.address(false)?;
    r.u8("PID")?;
    let dcs = r.u8("DCS")?;
    let timestamp = r.timestamp()?;
    let udl = usize::from(r.u8("user data length")?);
    let ud = r.rest();
    let mut concat = None;
    let mut header_octets = 0;
    if first & 0x40 != 0 {
        let udhl = usize::from(*ud.first().ok_or(PduError::Malformed("header length"))?);
        let h = ud.get(1..1 + udhl).ok_or(PduError::Malformed("header"))?;
        header_octets = 1 + udhl;
        let mut i = 0;
        while i + 1 < h.len() {
            let (iei, len) = (h[i], usize::from(h[i + 1]));
            let v = h
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
                _ => {}
            }
            i += 2 + len;
        }
    }
    let text = match alphabet(dcs) {
        0 => {
            let fill = (7 - (header_octets * 8) % 7) % 7;
            let header_septets = (header_octets * 8 + fill) / 7;
            let count = udl.saturating_sub(header_septets);
            if (header_septets + count) * 7 > ud.len() * 8 + 7 {
                return Err(PduError::Malformed("user data shorter than its length"));
            }
            let body = ud.get(header_octets..).unwrap_or(&[]);
            gsm7::decode(&gsm7::unpack(body, count, fill))
        }
        2 => {
            let body = ud
                .get(header_octets..udl.min(ud.len()))
                .ok_or(PduError::Malformed("user data"))?;
            let units: Vec<u16> = body
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => {
            let body = ud
                .get(header_octets..udl.min(ud.len()))
                .ok_or(PduError::Malformed("user data"))?;
            body.iter().map(|b| char::from(*b)).collect()
        }
    };
    Ok(Deliver {
        from,
        timestamp,
        text,
        concat,
    })
}

#[cfg(test)]
mod tests;
