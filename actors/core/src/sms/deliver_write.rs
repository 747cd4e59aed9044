//! Building SMS-DELIVER and SMS-STATUS-REPORT PDUs (3GPP TS 23.040 §9.2.2.1, §9.2.2.3):
//! what the network hands a modem, written by the modem simulator for `AT+CMGR` and read
//! back by [`super::pdu::parse`]. Long texts are split like [`super::pdu::submit`] splits
//! them: 153 GSM 7-bit septets or 67 UCS-2 units a part, with an 8-bit concatenation
//! header, never cutting an escape or a surrogate pair.

use super::gsm7;
use super::pdu::{hex, split, PduError};
use crate::ports::civil_from_days;

/// A service centre time stamp (TP-SCTS, TP-DT): local time and its offset from UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmscTime {
    /// Year (only the last two digits travel).
    pub year: u16,
    /// Month, 1..=12.
    pub month: u8,
    /// Day, 1..=31.
    pub day: u8,
    /// Hour, 0..=23.
    pub hour: u8,
    /// Minute.
    pub minute: u8,
    /// Second.
    pub second: u8,
    /// Offset of the local time from UTC, in quarters of an hour (-79..=79).
    pub tz_quarters: i8,
}

impl SmscTime {
    /// The local time `tz_quarters` quarter hours off UTC at Unix time `unix_ms`.
    pub fn from_unix_ms(unix_ms: u64, tz_quarters: i8) -> Self {
        let secs = (unix_ms / 1000) as i64 + i64::from(tz_quarters) * 900;
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        Self {
            year: y.clamp(0, 9999) as u16,
            month: m as u8,
            day: d as u8,
            hour: (sod / 3600) as u8,
            minute: (sod / 60 % 60) as u8,
            second: (sod % 60) as u8,
            tz_quarters,
        }
    }

    /// The seven semi-octet-swapped BCD octets; the zone's sign is bit 3 of the last.
    fn octets(&self) -> [u8; 7] {
        let bcd = |v: u8| ((v % 10) << 4) | (v / 10 % 10);
        let mut tz = bcd(self.tz_quarters.unsigned_abs().min(79));
        if self.tz_quarters < 0 {
            tz |= 0x08;
        }
        [
            bcd((self.year % 100) as u8),
            bcd(self.month),
            bcd(self.day),
            bcd(self.hour),
            bcd(self.minute),
            bcd(self.second),
            tz,
        ]
    }
}

/// One PDU built: hex with its SMSC field, and its TPDU length (what `+CMGR` reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenPdu {
    /// Hex, upper case, SMSC field first.
    pub hex: String,
    /// TPDU octets (after the SMSC field).
    pub tpdu_len: usize,
}

/// A message to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeliver<'a> {
    /// The service centre (`+5511...`), or empty for no SMSC field (`00`).
    pub smsc: &'a str,
    /// The sender: digits (`+` for international) or a name of at most 11 GSM characters.
    pub from: &'a str,
    /// The text.
    pub text: &'a str,
    /// The service centre's time stamp.
    pub timestamp: SmscTime,
    /// The concatenation reference of a long text.
    pub reference: u8,
    /// UCS-2 even when the text fits the GSM 7-bit alphabet.
    pub ucs2: bool,
}

/// A status report to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStatusReport<'a> {
    /// The service centre, or empty for no SMSC field.
    pub smsc: &'a str,
    /// The TP-MR of the message it is about (`+CMGS: <mr>`).
    pub reference: u8,
    /// The recipient of that message (digits, `+` for international).
    pub to: &'a str,
    /// When the service centre took the message.
    pub submitted: SmscTime,
    /// When it was delivered (or given up).
    pub discharged: SmscTime,
    /// TP-ST: 0 delivered, 0x20.. still trying, 0x40.. failed.
    pub status: u8,
}

fn bcd_digits(digits: &str) -> Vec<u8> {
    digits
        .as_bytes()
        .chunks(2)
        .map(|p| {
            let lo = p[0] - b'0';
            let hi = p.get(1).map_or(0xf, |d| d - b'0');
            (hi << 4) | lo
        })
        .collect()
}

/// Digits with an optional leading `+`: (international, digits).
fn numeric(number: &str) -> Option<(bool, &str)> {
    let (intl, digits) = match number.strip_prefix('+') {
        Some(d) => (true, d),
        None => (false, number),
    };
    (!digits.is_empty() && digits.len() <= 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some((intl, digits))
}

/// A TP address: digits (length in digits) or alphanumeric (TON 101, length in
/// semi-octets of the packed name).
fn address(number: &str, alphanumeric: bool) -> Result<Vec<u8>, PduError> {
    if let Some((intl, digits)) = numeric(number) {
        let mut out = vec![digits.len() as u8, if intl { 0x91 } else { 0x81 }];
        out.extend(bcd_digits(digits));
        return Ok(out);
    }
    let septets = gsm7::encode(number)
        .filter(|s| {
            alphanumeric
                && !s.is_empty()
                && number.chars().count() <= 11
                && !number.starts_with('+')
        })
        .ok_or_else(|| PduError::BadNumber(number.to_string()))?;
    let mut out = vec![(septets.len() * 7).div_ceil(4) as u8, 0xD0];
    out.extend(gsm7::pack(&septets, 0));
    Ok(out)
}

/// The SMSC field: `00`, or its length in octets, the type and the digits.
fn smsc_field(smsc: &str) -> Result<Vec<u8>, PduError> {
    if smsc.is_empty() {
        return Ok(vec![0x00]);
    }
    let (intl, digits) = numeric(smsc).ok_or_else(|| PduError::BadNumber(smsc.to_string()))?;
    let bcd = bcd_digits(digits);
    let mut out = vec![1 + bcd.len() as u8, if intl { 0x91 } else { 0x81 }];
    out.extend(bcd);
    Ok(out)
}

/// The SMS-DELIVER PDUs of a text, one per part, each with its SMSC field.
pub fn deliver(d: &NewDeliver<'_>) -> Result<Vec<WrittenPdu>, PduError> {
    if d.text.is_empty() {
        return Err(PduError::Empty);
    }
    let smsc = smsc_field(d.smsc)?;
    let oa = address(d.from, true)?;
    let (parts, ucs2) = split(d.text, d.ucs2);
    if parts.len() > 255 {
        return Err(PduError::TooLong(parts.len()));
    }
    let total = parts.len() as u8;
    let mut out = Vec::with_capacity(parts.len());
    for (i, payload) in parts.iter().enumerate() {
        let udh = (total > 1).then(|| [0x05, 0x00, 0x03, d.reference, total, i as u8 + 1]);
        // SMS-DELIVER, TP-MMS (no more messages waiting), TP-UDHI with a header.
        let first = if udh.is_some() { 0x44 } else { 0x04 };
        let mut tpdu = vec![first];
        tpdu.extend_from_slice(&oa);
        tpdu.push(0x00); // TP-PID
        tpdu.push(if ucs2 { 0x08 } else { 0x00 });
        tpdu.extend_from_slice(&d.timestamp.octets());
        let udh_len = udh.map_or(0, |h| h.len());
        if ucs2 {
            tpdu.push((udh_len + payload.len()) as u8);
            tpdu.extend(udh.iter().flatten());
            tpdu.extend_from_slice(payload);
        } else {
            // The header takes whole septets; the text starts after the fill bits.
            let fill = (7 - (udh_len * 8) % 7) % 7;
            let header_septets = (udh_len * 8 + fill) / 7;
            tpdu.push((header_septets + payload.len()) as u8);
            tpdu.extend(udh.iter().flatten());
            tpdu.extend(gsm7::pack(payload, fill));
        }
        out.push(WrittenPdu {
            hex: format!("{}{}", hex(&smsc), hex(&tpdu)),
            tpdu_len: tpdu.len(),
        });
    }
    Ok(out)
}

/// The SMS-STATUS-REPORT PDU about message `reference` to `to`, with its SMSC field.
pub fn status_report(r: &NewStatusReport<'_>) -> Result<WrittenPdu, PduError> {
    let smsc = smsc_field(r.smsc)?;
    // SMS-STATUS-REPORT, TP-MMS; the report of a SUBMIT (TP-SRQ 0).
    let mut tpdu = vec![0x06, r.reference];
    tpdu.extend(address(r.to, false)?);
    tpdu.extend_from_slice(&r.submitted.octets());
    tpdu.extend_from_slice(&r.discharged.octets());
    tpdu.push(r.status);
    Ok(WrittenPdu {
        hex: format!("{}{}", hex(&smsc), hex(&tpdu)),
        tpdu_len: tpdu.len(),
    })
}

#[cfg(test)]
mod tests;
