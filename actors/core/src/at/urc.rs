//! Unsolicited result codes: lines the modem sends on its own.

use super::codec::FinalResult;
use super::response::{parse_creg_fields, Registration};
use super::{params_after, split_fields, ParseError};

/// `^CEND:<idx>,<duration>,<end_status>[,<cc_cause>]`: a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallEndReport {
    /// Call index.
    pub idx: u8,
    /// Seconds since `^CONN` (0 if never connected).
    pub duration_s: u32,
    /// Huawei end status (104 = network released, see `cc_cause`; 29 = local end; ...).
    pub end_status: u16,
    /// 3GPP 24.008 / Q.850 cause, absent when the network never answered.
    pub cc_cause: Option<u16>,
}

/// An unsolicited result code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Urc {
    /// `^RSSI:<0-31|99>`
    Rssi(u8),
    /// `^BOOT:...`: the periodic handshake; carries no state we use.
    Boot,
    /// `^MODE:<sys_mode>,<submode>`
    Mode {
        /// 0 none, 3 GSM/GPRS, 5 WCDMA.
        sys_mode: u8,
        /// 1 GSM, 2 GPRS, 3 EDGE, 4 WCDMA, 5 HSDPA, 6 HSUPA, 7 HSPA.
        submode: u8,
    },
    /// `^SRVST:<0-4>`: service state (2 = valid service).
    SrvSt(u8),
    /// `^SIMST:<state>[,lock]`: 1 valid, 255 absent, 0 invalid, ...
    SimSt(u8),
    /// `^ORIG:<idx>,<type>`: an outgoing call started.
    Orig {
        /// Call index.
        idx: u8,
        /// 0 voice, 9 emergency.
        call_type: u8,
    },
    /// `^CONF:<idx>`: the network confirmed the call (ringback follows).
    Conf {
        /// Call index.
        idx: u8,
    },
    /// `^CONN:<idx>,<type>`: the call was answered.
    Conn {
        /// Call index.
        idx: u8,
    },
    /// `^CEND:...`: the call ended.
    Cend(CallEndReport),
    /// `RING`
    Ring,
    /// `+CRING: <type>`
    CRing(String),
    /// `+CLIP: "<number>",<type>,...`
    Clip {
        /// Caller number as sent by the network.
        number: String,
    },
    /// `+CCWA: "<number>",<type>,<class>`: a call is waiting.
    Ccwa {
        /// Caller number.
        number: String,
    },
    /// `+CMTI: "<mem>",<index>`: an SMS was stored.
    Cmti {
        /// Storage ("SM", "ME").
        storage: String,
        /// Slot (-1 has been seen in the wild and means nothing).
        index: i32,
    },
    /// `+CDSI: "<mem>",<index>`: an SMS status report was stored.
    Cdsi {
        /// Storage ("SM", "ME").
        storage: String,
        /// Slot.
        index: i32,
    },
    /// `+CUSD: <m>[,"<str>",<dcs>]`: a USSD answer.
    Cusd {
        /// 0 notify, 1 more input, 2 ended by network, 3 other client, 4 unsupported, 5 timeout.
        mode: u8,
        /// Payload as sent (hex or text, depending on `dcs`).
        text: Option<String>,
        /// Data coding scheme.
        dcs: Option<u16>,
    },
    /// `+CREG: <stat>[,"<lac>","<ci>"]`
    Creg(Registration),
    /// `^DSFLOWRPT:...`: data session counters; ignored.
    DsFlowRpt,
    /// `NO CARRIER`, `BUSY`, `NO ANSWER`, `NO DIALTONE` outside a dial: a call ended.
    CallProgress(FinalResult),
    /// A recognised URC without state we use (`^SMMEMFULL`, `+CSSI`, `+CSSU`, `^CVOICE`).
    Other(String),
    /// A recognised URC name whose fields did not parse.
    Malformed(ParseError),
}

fn num<T: std::str::FromStr>(
    fields: &[String],
    i: usize,
    what: &'static str,
    line: &str,
) -> Result<T, ParseError> {
    fields
        .get(i)
        .and_then(|f| f.trim().parse().ok())
        .ok_or_else(|| ParseError::new(what, line))
}

fn opt_num<T: std::str::FromStr>(fields: &[String], i: usize) -> Option<T> {
    fields.get(i).and_then(|f| f.trim().parse().ok())
}

type Parser = fn(&str, &str) -> Result<Urc, ParseError>;

/// Known URC prefixes and their parsers. Order matters only where one prefix is a prefix
/// of another (none today).
const TABLE: &[(&str, Parser)] = &[
    ("^RSSI:", |p, l| {
        Ok(Urc::Rssi(num(&split_fields(p), 0, "^RSSI", l)?))
    }),
    ("^BOOT:", |_, _| Ok(Urc::Boot)),
    ("^MODE:", |p, l| {
        let f = split_fields(p);
        Ok(Urc::Mode {
            sys_mode: num(&f, 0, "^MODE", l)?,
            submode: opt_num(&f, 1).unwrap_or(0),
        })
    }),
    ("^SRVST:", |p, l| {
        Ok(Urc::SrvSt(num(&split_fields(p), 0, "^SRVST", l)?))
    }),
    ("^SIMST:", |p, l| {
        Ok(Urc::SimSt(num(&split_fields(p), 0, "^SIMST", l)?))
    }),
    ("^ORIG:", |p, l| {
        let f = split_fields(p);
        Ok(Urc::Orig {
            idx: num(&f, 0, "^ORIG", l)?,
            call_type: opt_num(&f, 1).unwrap_or(0),
        })
    }),
    ("^CONF:", |p, l| {
        Ok(Urc::Conf {
            idx: num(&split_fields(p), 0, "^CONF", l)?,
        })
    }),
    ("^CONN:", |p, l| {
        Ok(Urc::Conn {
            idx: num(&split_fields(p), 0, "^CONN", l)?,
        })
    }),
    ("^CEND:", |p, l| {
        let f = split_fields(p);
        Ok(Urc::Cend(CallEndReport {
            idx: num(&f, 0, "^CEND", l)?,
            duration_s: num(&f, 1, "^CEND", l)?,
            end_status: num(&f, 2, "^CEND", l)?,
            cc_cause: opt_num(&f, 3),
        }))
    }),
    ("+CRING:", |p, _| Ok(Urc::CRing(p.trim().to_string()))),
    ("+CLIP:", |p, _| {
        Ok(Urc::Clip {
            number: split_fields(p).swap_remove(0),
        })
    }),
    ("+CCWA:", |p, _| {
        Ok(Urc::Ccwa {
            number: split_fields(p).swap_remove(0),
        })
    }),
    ("+CMTI:", |p, l| {
        let f = split_fields(p);
        Ok(Urc::Cmti {
            storage: f[0].clone(),
            index: num(&f, 1, "+CMTI", l)?,
        })
    }),
    ("+CDSI:", |p, l| {
        let f = split_fields(p);
        Ok(Urc::Cdsi {
            storage: f[0].clone(),
            index: num(&f, 1, "+CDSI", l)?,
        })
    }),
    ("+CUSD:", |p, l| {
        let f = split_fields(p);
        Ok(Urc::Cusd {
            mode: num(&f, 0, "+CUSD", l)?,
            text: f.get(1).filter(|s| !s.is_empty()).cloned(),
            dcs: opt_num(&f, 2),
        })
    }),
    ("+CREG:", |p, l| Ok(Urc::Creg(parse_creg_fields(p, l)?))),
    ("^DSFLOWRPT:", |_, _| Ok(Urc::DsFlowRpt)),
    ("^SMMEMFULL", |_, l| Ok(Urc::Other(l.to_string()))),
    ("+CSSI:", |_, l| Ok(Urc::Other(l.to_string()))),
    ("+CSSU:", |_, l| Ok(Urc::Other(l.to_string()))),
    ("^CVOICE:", |_, l| Ok(Urc::Other(l.to_string()))),
    ("^HCSQ:", |_, l| Ok(Urc::Other(l.to_string()))),
    ("^CSNR:", |_, l| Ok(Urc::Other(l.to_string()))),
];

impl Urc {
    /// Parses a line as a URC. `None` means the line is not a URC at all; a known URC
    /// whose fields are bad comes back as [`Urc::Malformed`].
    pub fn parse(line: &str) -> Option<Self> {
        let line = line.trim();
        if line.eq_ignore_ascii_case("RING") {
            return Some(Self::Ring);
        }
        for (prefix, parser) in TABLE {
            if let Some(params) = params_after(line, prefix) {
                return Some(parser(params, line).unwrap_or_else(Urc::Malformed));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::at::response::RegState;

    #[test]
    fn parses_the_dialect_table() {
        let cases: Vec<(&str, Urc)> = vec![
            ("^RSSI:17", Urc::Rssi(17)),
            ("^RSSI: 99", Urc::Rssi(99)),
            ("^BOOT:20952548,0,0,0,72", Urc::Boot),
            ("^MODE:5,4", Urc::Mode { sys_mode: 5, submode: 4 }),
            ("^SRVST:2", Urc::SrvSt(2)),
            ("^SIMST:255", Urc::SimSt(255)),
            ("^SIMST:1,0", Urc::SimSt(1)),
            ("^ORIG:1,0", Urc::Orig { idx: 1, call_type: 0 }),
            ("^CONF:1", Urc::Conf { idx: 1 }),
            ("^CONN:1,0", Urc::Conn { idx: 1 }),
            (
                "^CEND:1,6,104,16",
                Urc::Cend(CallEndReport { idx: 1, duration_s: 6, end_status: 104, cc_cause: Some(16) }),
            ),
            (
                "^CEND:1,0,106",
                Urc::Cend(CallEndReport { idx: 1, duration_s: 0, end_status: 106, cc_cause: None }),
            ),
            ("RING", Urc::Ring),
            ("+CRING: VOICE", Urc::CRing("VOICE".into())),
            ("+CLIP: \"+79131234567\",145,,,,0", Urc::Clip { number: "+79131234567".into() }),
            ("+CCWA: \"+79131234567\",145,1", Urc::Ccwa { number: "+79131234567".into() }),
            ("+CMTI: \"SM\",3", Urc::Cmti { storage: "SM".into(), index: 3 }),
            ("+CMTI: \"SM\",-1", Urc::Cmti { storage: "SM".into(), index: -1 }),
            ("+CDSI: \"SM\",7", Urc::Cdsi { storage: "SM".into(), index: 7 }),
            ("+CUSD: 0,\"Balance 10\",15", Urc::Cusd { mode: 0, text: Some("Balance 10".into()), dcs: Some(15) }),
            ("+CUSD: 4", Urc::Cusd { mode: 4, text: None, dcs: None }),
            (
                "+CREG: 1,\"00B3\",\"926A\"",
                Urc::Creg(Registration { state: RegState::Home, lac: Some("00B3".into()), ci: Some("926A".into()) }),
            ),
            ("+CREG: 2", Urc::Creg(Registration { state: RegState::Searching, lac: None, ci: None })),
            ("^DSFLOWRPT:00000002,00000000,00000000,0000000000000000,0000000000000000,0003E800,0003E800", Urc::DsFlowRpt),
            ("^SMMEMFULL: \"SM\"", Urc::Other("^SMMEMFULL: \"SM\"".into())),
        ];
        for (line, want) in cases {
            assert_eq!(Urc::parse(line), Some(want), "line {line}");
        }
    }

    #[test]
    fn malformed_known_urcs_are_reported_not_dropped() {
        for line in ["^ORIG:x,0", "^CEND:1", "^RSSI:", "^CONN:"] {
            assert!(
                matches!(Urc::parse(line), Some(Urc::Malformed(_))),
                "line {line}"
            );
        }
    }

    #[test]
    fn non_urcs_are_none() {
        for line in [
            "huawei",
            "E173",
            "11.126.85.00.209",
            "+CSQ: 17,99",
            "OK",
            "353143041234567",
        ] {
            assert_eq!(Urc::parse(line), None, "line {line}");
        }
    }
}
