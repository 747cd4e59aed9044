//! Parsers for the answers of typed commands.

use serde::Serialize;

use super::{params_after, split_fields, ParseError};

/// Received signal strength from `+CSQ` or `^RSSI`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Signal {
    /// Raw 0..=31, or 99 for unknown.
    pub rssi: u8,
    /// Bit error rate class 0..=7, 99 unknown.
    pub ber: u8,
}

impl Signal {
    /// A signal from the raw RSSI value only (as `^RSSI` reports it).
    pub fn from_rssi(rssi: u8) -> Self {
        Self { rssi, ber: 99 }
    }

    /// dBm per 3GPP 27.007: `2 * rssi - 113`; `None` when unknown (99) or out of range.
    pub fn dbm(&self) -> Option<i16> {
        (self.rssi <= 31).then(|| 2 * i16::from(self.rssi) - 113)
    }

    /// Whether there is usable signal (known and above the floor).
    pub fn usable(&self) -> bool {
        matches!(self.rssi, 1..=31)
    }
}

/// `+CSQ: <rssi>,<ber>`
pub fn parse_csq(line: &str) -> Result<Signal, ParseError> {
    let p = params_after(line, "+CSQ:").ok_or_else(|| ParseError::new("+CSQ", line))?;
    let f = split_fields(p);
    let rssi = f
        .first()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ParseError::new("+CSQ", line))?;
    let ber = f.get(1).and_then(|s| s.parse().ok()).unwrap_or(99);
    Ok(Signal { rssi, ber })
}

/// Registration state from `+CREG`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegState {
    /// 0: not registered, not searching.
    NotSearching,
    /// 1: registered, home network.
    Home,
    /// 2: not registered, searching.
    Searching,
    /// 3: registration denied.
    Denied,
    /// 4: unknown.
    Unknown,
    /// 5: registered, roaming.
    Roaming,
}

impl RegState {
    /// From the numeric `<stat>`.
    pub fn from_code(n: u8) -> Option<Self> {
        Some(match n {
            0 => Self::NotSearching,
            1 => Self::Home,
            2 => Self::Searching,
            3 => Self::Denied,
            4 => Self::Unknown,
            5 => Self::Roaming,
            _ => return None,
        })
    }

    /// Registered (home or roaming): calls can be placed.
    pub fn is_registered(self) -> bool {
        matches!(self, Self::Home | Self::Roaming)
    }
}

/// A `+CREG` report: state and, with `AT+CREG=2`, location area and cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registration {
    /// Registration state.
    pub state: RegState,
    /// Location area code (hex), when reported.
    pub lac: Option<String>,
    /// Cell id (hex), when reported.
    pub ci: Option<String>,
}

/// Parses the fields of a `+CREG` line in either form: the query answer
/// `<n>,<stat>[,"lac","ci"]` or the URC `<stat>[,"lac","ci"]`.
pub(crate) fn parse_creg_fields(params: &str, line: &str) -> Result<Registration, ParseError> {
    let f = split_fields(params);
    let err = || ParseError::new("+CREG", line);
    let nums: Vec<Option<u8>> = f.iter().map(|s| s.parse().ok()).collect();
    // The answer form has two leading numbers (n, stat); the URC form one (stat), then
    // the quoted LAC, which may itself look numeric ("0101"), so count by position:
    // answer forms have 2 or 4 fields, URC forms 1 or 3.
    let (stat, rest) = match f.len() {
        1 | 3 => (nums.first().copied().flatten().ok_or_else(err)?, 1),
        2 | 4 | 5 => (nums.get(1).copied().flatten().ok_or_else(err)?, 2),
        _ => return Err(err()),
    };
    let state = RegState::from_code(stat).ok_or_else(err)?;
    let lac = f.get(rest).filter(|s| !s.is_empty()).cloned();
    let ci = f.get(rest + 1).filter(|s| !s.is_empty()).cloned();
    Ok(Registration { state, lac, ci })
}

/// `+CREG: ...` (answer or URC form).
pub fn parse_creg(line: &str) -> Result<Registration, ParseError> {
    let p = params_after(line, "+CREG:").ok_or_else(|| ParseError::new("+CREG", line))?;
    parse_creg_fields(p, line)
}

/// The network operator from `+COPS?`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct OperatorInfo {
    /// Long alphanumeric name (format 0), trimmed of trailing `@` and non-ASCII bytes.
    pub name: Option<String>,
    /// MCC+MNC (format 2), e.g. "72405".
    pub numeric: Option<String>,
    /// Access technology: 0 GSM, 2 UTRAN, 7 E-UTRAN.
    pub act: Option<u8>,
}

/// One `+COPS: <mode>[,<format>,"<oper>"[,<act>]]` answer. A bare `+COPS: 0` (no
/// operator) gives an empty [`OperatorInfo`].
pub fn parse_cops(line: &str) -> Result<OperatorInfo, ParseError> {
    let p = params_after(line, "+COPS:").ok_or_else(|| ParseError::new("+COPS", line))?;
    let f = split_fields(p);
    let mut info = OperatorInfo::default();
    if f.len() < 3 {
        return Ok(info);
    }
    let format: u8 = f[1].parse().map_err(|_| ParseError::new("+COPS", line))?;
    let oper: String = f[2]
        .chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .collect::<String>()
        .trim_end_matches('@')
        .trim()
        .to_string();
    match format {
        2 if oper.len() >= 5 && oper.bytes().all(|b| b.is_ascii_digit()) => {
            info.numeric = Some(oper)
        }
        2 => return Err(ParseError::new("+COPS numeric", line)),
        _ if !oper.is_empty() => info.name = Some(oper),
        _ => {}
    }
    info.act = f.get(3).and_then(|s| s.parse().ok());
    Ok(info)
}

/// SIM state from `+CPIN?`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SimPin {
    /// `READY`
    Ready,
    /// Anything else (`SIM PIN`, `SIM PUK`, `PH-NET PIN`, ...): the SIM cannot be used.
    Locked(String),
}

/// `+CPIN: READY` (also the Huawei `^CPIN: READY,,10,3,10,0` form).
pub fn parse_cpin(line: &str) -> Result<SimPin, ParseError> {
    let p = params_after(line, "+CPIN:")
        .or_else(|| params_after(line, "^CPIN:"))
        .ok_or_else(|| ParseError::new("+CPIN", line))?;
    let code = split_fields(p).swap_remove(0);
    if code.eq_ignore_ascii_case("READY") {
        Ok(SimPin::Ready)
    } else if code.is_empty() {
        Err(ParseError::new("+CPIN", line))
    } else {
        Ok(SimPin::Locked(code))
    }
}

/// `+CNUM: "<alpha>","<number>",<type>`: the SIM's own number, when stored.
pub fn parse_cnum(line: &str) -> Result<Option<String>, ParseError> {
    let p = params_after(line, "+CNUM:").ok_or_else(|| ParseError::new("+CNUM", line))?;
    let f = split_fields(p);
    Ok(f.get(1).filter(|s| !s.is_empty()).cloned())
}

/// Voice format from `^CVOICE:<mode>,<rate>,<bits>,<period_ms>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VoiceFormat {
    /// 0 = voice over the USB audio port.
    pub mode: u8,
    /// Sample rate (8000).
    pub rate_hz: u32,
    /// Bits per sample (16).
    pub bits: u8,
    /// Frame period (20 ms).
    pub period_ms: u16,
}

impl VoiceFormat {
    /// Bytes in one frame of mono linear PCM in this format.
    pub fn frame_bytes(&self) -> usize {
        self.rate_hz as usize * usize::from(self.period_ms) / 1000 * usize::from(self.bits / 8)
    }
}

/// `^CVOICE:0,8000,16,20`
pub fn parse_cvoice(line: &str) -> Result<VoiceFormat, ParseError> {
    let err = || ParseError::new("^CVOICE", line);
    let p = params_after(line, "^CVOICE:").ok_or_else(err)?;
    let f = split_fields(p);
    if f.len() < 4 {
        return Err(err());
    }
    Ok(VoiceFormat {
        mode: f[0].parse().map_err(|_| err())?,
        rate_hz: f[1].parse().map_err(|_| err())?,
        bits: f[2].parse().map_err(|_| err())?,
        period_ms: f[3].parse().map_err(|_| err())?,
    })
}

/// Call state in a `+CLCC` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClccState {
    /// 0
    Active,
    /// 1
    Held,
    /// 2
    Dialing,
    /// 3
    Alerting,
    /// 4
    Incoming,
    /// 5
    Waiting,
}

/// One `+CLCC: <idx>,<dir>,<stat>,<mode>,<mpty>,"<number>",<type>` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClccEntry {
    /// Call index.
    pub idx: u8,
    /// Mobile-terminated (incoming).
    pub incoming: bool,
    /// Call state.
    pub state: ClccState,
    /// Voice call (mode 0).
    pub voice: bool,
    /// Number.
    pub number: String,
}

/// Parses one `+CLCC` line; all seven fields are required, as on the real device.
pub fn parse_clcc(line: &str) -> Result<ClccEntry, ParseError> {
    let err = || ParseError::new("+CLCC", line);
    let p = params_after(line, "+CLCC:").ok_or_else(err)?;
    let f = split_fields(p);
    if f.len() < 7 {
        return Err(err());
    }
    let n = |i: usize| f[i].parse::<u8>().map_err(|_| err());
    let state = match n(2)? {
        0 => ClccState::Active,
        1 => ClccState::Held,
        2 => ClccState::Dialing,
        3 => ClccState::Alerting,
        4 => ClccState::Incoming,
        5 => ClccState::Waiting,
        _ => return Err(err()),
    };
    Ok(ClccEntry {
        idx: n(0)?,
        incoming: n(1)? == 1,
        state,
        voice: n(3)? == 0,
        number: f[5].clone(),
    })
}

/// The ICCID answer: `^ICCID: <iccid>`, `+CCID: <iccid>`, `+ICCID: <iccid>` or bare digits.
pub fn parse_iccid_line(line: &str) -> Option<&str> {
    ["^ICCID:", "+CCID:", "+ICCID:", "^SCID:"]
        .iter()
        .find_map(|p| params_after(line, p))
        .or(Some(line))
        .map(|s| s.trim().trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csq_to_dbm() {
        let cases = [
            ("+CSQ: 17,99", Some(17), Some(-79)),
            ("+CSQ: 0,0", Some(0), Some(-113)),
            ("+CSQ: 31,99", Some(31), Some(-51)),
            ("+CSQ: 99,99", Some(99), None),
            ("+CSQ:16", Some(16), Some(-81)),
            ("+CSQ: x,99", None, None),
        ];
        for (line, rssi, dbm) in cases {
            let got = parse_csq(line).ok();
            assert_eq!(got.map(|s| s.rssi), rssi, "{line}");
            assert_eq!(got.and_then(|s| s.dbm()), dbm, "{line}");
        }
    }

    #[test]
    fn creg_both_forms() {
        let cases = [
            (
                "+CREG: 2,1,\"00B3\",\"926A\"",
                Some((RegState::Home, Some("00B3"))),
            ),
            ("+CREG: 0,5", Some((RegState::Roaming, None))),
            (
                "+CREG: 1,\"0101\",\"926A\"",
                Some((RegState::Home, Some("0101"))),
            ),
            ("+CREG: 3", Some((RegState::Denied, None))),
            ("+CREG: 2,9", None),
            ("+CREG: ", None),
        ];
        for (line, want) in cases {
            let got = parse_creg(line).ok().map(|r| (r.state, r.lac));
            let want = want.map(|(s, l)| (s, l.map(String::from)));
            assert_eq!(got, want, "{line}");
        }
    }

    #[test]
    fn cops_forms() {
        let name = parse_cops("+COPS: 0,0,\"Telenor@\",2").unwrap();
        assert_eq!(name.name.as_deref(), Some("Telenor"));
        assert_eq!(name.act, Some(2));
        let num = parse_cops("+COPS: 0,2,\"72405\",0").unwrap();
        assert_eq!(num.numeric.as_deref(), Some("72405"));
        assert_eq!(parse_cops("+COPS: 0").unwrap(), OperatorInfo::default());
        assert!(parse_cops("+COPS: 0,2,\"TIM\",0").is_err());
        assert!(parse_cops("+COPS: 0,x,\"TIM\"").is_err());
    }

    #[test]
    fn cpin_states() {
        assert_eq!(parse_cpin("+CPIN: READY").unwrap(), SimPin::Ready);
        assert_eq!(
            parse_cpin("^CPIN: READY,,10,3,10,0").unwrap(),
            SimPin::Ready
        );
        assert_eq!(
            parse_cpin("+CPIN: SIM PIN").unwrap(),
            SimPin::Locked("SIM PIN".into())
        );
        assert!(parse_cpin("+CPIN:").is_err());
    }

    #[test]
    fn cnum_cvoice_clcc() {
        assert_eq!(
            parse_cnum("+CNUM: \"\",\"+79131234567\",145")
                .unwrap()
                .as_deref(),
            Some("+79131234567")
        );
        assert_eq!(parse_cnum("+CNUM: \"Me\",\"\",129").unwrap(), None);
        let v = parse_cvoice("^CVOICE:0,8000,16,20").unwrap();
        assert_eq!(v.frame_bytes(), 320);
        assert!(parse_cvoice("^CVOICE:0,8000").is_err());
        let c = parse_clcc("+CLCC: 1,0,3,0,0,\"0791234567\",129").unwrap();
        assert_eq!(
            (c.idx, c.incoming, c.state, c.voice),
            (1, false, ClccState::Alerting, true)
        );
        assert_eq!(c.number, "0791234567");
        assert!(parse_clcc("+CLCC: 1,0,3,0,0").is_err());
        assert!(parse_clcc("+CLCC: 1,0,9,0,0,\"1\",129").is_err());
    }

    #[test]
    fn iccid_lines() {
        assert_eq!(
            parse_iccid_line("^ICCID: \"98071021436587092143\""),
            Some("98071021436587092143")
        );
        assert_eq!(
            parse_iccid_line("8970101234567890123"),
            Some("8970101234567890123")
        );
    }
}
