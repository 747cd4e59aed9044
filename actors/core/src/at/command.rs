//! Typed AT commands: their wire form, what their answers look like and how long they may take.

use std::fmt;

use super::codec::Expect;
use crate::domain::DialNumber;

/// How long a command may run before the modem counts as stuck; the durations come from
/// the modem profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutClass {
    /// `AT` ping (1 s on the real device).
    Ping,
    /// Most commands (5 s).
    Normal,
    /// `ATD`: a working modem answers `OK` in well under a second; silence means a wedged
    /// modem (it stops answering commands while its URCs keep flowing), and the call must
    /// move to another modem at once rather than wait out the network-bound timeout.
    Dial,
    /// `ATA`, `AT+CHUP`: network-bound.
    Call,
    /// USSD, SMS, reboot.
    Long,
}

/// A command the session can send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `AT`
    Ping,
    /// `ATZ`: restore the stored profile (echo back on, ...).
    ResetProfile,
    /// `ATE0` / `ATE1`
    Echo(bool),
    /// `AT+CMEE=<n>`: error reporting (1 = numeric `+CME ERROR: n`).
    ErrorMode(u8),
    /// `AT+CGMI`
    Manufacturer,
    /// `AT+CGMM`
    Model,
    /// `AT+CGMR`
    Firmware,
    /// `AT+CGSN`
    Imei,
    /// `AT+CIMI`
    Imsi,
    /// An ICCID query: `AT^ICCID?`, `AT+CCID`, `AT+ICCID` or `AT^SCID` (profile choice).
    Iccid(String),
    /// `AT+CPIN?`
    PinQuery,
    /// `AT+CNUM`
    OwnNumber,
    /// `AT+COPS=3,<format>`: choose how `AT+COPS?` names the operator.
    OperatorFormat(u8),
    /// `AT+COPS?`
    OperatorQuery,
    /// `AT+CREG?`
    RegQuery,
    /// `AT+CSQ`
    SignalQuery,
    /// `AT^CVOICE?`
    VoiceQuery,
    /// `AT+CLCC`
    ListCalls,
    /// `ATD<number>;`
    Dial(DialNumber),
    /// `ATA`
    Answer,
    /// `AT+CHUP`
    Hangup,
    /// `AT^DDSETEX=2`: start PCM on the audio port.
    AudioOn,
    /// `AT^DTMF=<idx>,<digit>`
    Dtmf {
        /// Call index.
        idx: u8,
        /// One of `0-9 * #`.
        digit: char,
    },
    /// `AT+CFUN=1,1`: reboot the modem (it may re-enumerate on USB).
    Reboot,
    /// `AT+CMGS=<tpdu_len>`; after the `> ` prompt the session writes the PDU and Ctrl-Z.
    SmsSend {
        /// Octets after the SMSC field.
        tpdu_len: usize,
        /// The PDU as hex, SMSC field included.
        pdu: String,
    },
    /// `AT+CMGR=<index>`
    SmsRead(u16),
    /// `AT+CMGD=<index>`
    SmsDelete(u16),
    /// `AT+CMGL=4`: every stored message, in PDU mode.
    SmsList,
    /// `AT+CUSD=1,"<payload>",<dcs>`
    Ussd {
        /// The request as the model wants it (packed GSM 7-bit hex, UCS-2 hex).
        payload: String,
        /// Its data coding scheme.
        dcs: u8,
    },
    /// `AT+CUSD=2`: end the USSD session.
    UssdCancel,
    /// Any other command (settings such as `AT+CREG=2`, `AT^U2DIAG=0`); its answer lines
    /// are kept verbatim.
    Raw(String),
}

impl Command {
    /// Maps command text (as written in a profile) to a typed command when it is one the
    /// session interprets, otherwise to [`Command::Raw`].
    pub fn parse(text: &str) -> Self {
        let t = text.trim();
        let upper = t.to_ascii_uppercase();
        match upper.as_str() {
            "AT" => Self::Ping,
            "ATZ" => Self::ResetProfile,
            "ATE0" => Self::Echo(false),
            "ATE1" => Self::Echo(true),
            "AT+CGMI" => Self::Manufacturer,
            "AT+CGMM" => Self::Model,
            "AT+CGMR" => Self::Firmware,
            "AT+CGSN" => Self::Imei,
            "AT+CIMI" => Self::Imsi,
            "AT^ICCID?" | "AT+CCID" | "AT+ICCID" | "AT^SCID" => Self::Iccid(upper.clone()),
            "AT+CPIN?" => Self::PinQuery,
            "AT+CNUM" => Self::OwnNumber,
            "AT+COPS?" => Self::OperatorQuery,
            "AT+CREG?" => Self::RegQuery,
            "AT+CSQ" => Self::SignalQuery,
            "AT^CVOICE?" => Self::VoiceQuery,
            "AT+CLCC" => Self::ListCalls,
            "ATA" => Self::Answer,
            "AT+CHUP" => Self::Hangup,
            "AT^DDSETEX=2" => Self::AudioOn,
            "AT+CFUN=1,1" => Self::Reboot,
            "AT+CMGL=4" => Self::SmsList,
            "AT+CUSD=2" => Self::UssdCancel,
            _ => {
                if let Some(n) = upper.strip_prefix("AT+CMEE=").and_then(|n| n.parse().ok()) {
                    Self::ErrorMode(n)
                } else if let Some(n) = upper
                    .strip_prefix("AT+COPS=3,")
                    .and_then(|n| n.parse().ok())
                {
                    Self::OperatorFormat(n)
                } else {
                    Self::Raw(t.to_string())
                }
            }
        }
    }

    /// The bytes to write, without the terminating CR.
    pub fn wire(&self) -> String {
        match self {
            Self::Ping => "AT".into(),
            Self::ResetProfile => "ATZ".into(),
            Self::Echo(on) => format!("ATE{}", u8::from(*on)),
            Self::ErrorMode(n) => format!("AT+CMEE={n}"),
            Self::Manufacturer => "AT+CGMI".into(),
            Self::Model => "AT+CGMM".into(),
            Self::Firmware => "AT+CGMR".into(),
            Self::Imei => "AT+CGSN".into(),
            Self::Imsi => "AT+CIMI".into(),
            Self::Iccid(q) => q.clone(),
            Self::PinQuery => "AT+CPIN?".into(),
            Self::OwnNumber => "AT+CNUM".into(),
            Self::OperatorFormat(f) => format!("AT+COPS=3,{f}"),
            Self::OperatorQuery => "AT+COPS?".into(),
            Self::RegQuery => "AT+CREG?".into(),
            Self::SignalQuery => "AT+CSQ".into(),
            Self::VoiceQuery => "AT^CVOICE?".into(),
            Self::ListCalls => "AT+CLCC".into(),
            Self::Dial(n) => format!("ATD{n};"),
            Self::Answer => "ATA".into(),
            Self::Hangup => "AT+CHUP".into(),
            Self::AudioOn => "AT^DDSETEX=2".into(),
            Self::Dtmf { idx, digit } => format!("AT^DTMF={idx},{digit}"),
            Self::Reboot => "AT+CFUN=1,1".into(),
            Self::SmsSend { tpdu_len, .. } => format!("AT+CMGS={tpdu_len}"),
            Self::SmsRead(i) => format!("AT+CMGR={i}"),
            Self::SmsDelete(i) => format!("AT+CMGD={i}"),
            Self::SmsList => "AT+CMGL=4".into(),
            Self::Ussd { payload, dcs } => format!("AT+CUSD=1,\"{payload}\",{dcs}"),
            Self::UssdCancel => "AT+CUSD=2".into(),
            Self::Raw(s) => s.clone(),
        }
    }

    /// What the answer looks like, for the decoder.
    pub fn expect(&self) -> Expect {
        let prefix = |p: &str| Expect {
            prefixes: vec![p.to_string()],
            ..Expect::default()
        };
        match self {
            Self::Manufacturer | Self::Model | Self::Firmware | Self::Imei | Self::Imsi => Expect {
                unprefixed: true,
                ..Expect::default()
            },
            Self::Iccid(_) => Expect {
                prefixes: vec![
                    "^ICCID:".into(),
                    "+CCID:".into(),
                    "+ICCID:".into(),
                    "^SCID:".into(),
                ],
                unprefixed: true,
                ..Expect::default()
            },
            Self::PinQuery => Expect {
                prefixes: vec!["+CPIN:".into(), "^CPIN:".into()],
                ..Expect::default()
            },
            Self::OwnNumber => prefix("+CNUM:"),
            Self::OperatorQuery => prefix("+COPS:"),
            Self::RegQuery => prefix("+CREG:"),
            Self::SignalQuery => prefix("+CSQ:"),
            Self::VoiceQuery => prefix("^CVOICE:"),
            Self::ListCalls => prefix("+CLCC:"),
            Self::Dial(_) | Self::Answer => Expect {
                dialing: true,
                ..Expect::default()
            },
            Self::SmsSend { .. } => Expect {
                prefixes: vec!["+CMGS:".into()],
                prompt: true,
                ..Expect::default()
            },
            // The PDU line has no prefix; URCs are still told apart (they come first).
            Self::SmsRead(_) => Expect {
                prefixes: vec!["+CMGR:".into()],
                unprefixed: true,
                ..Expect::default()
            },
            Self::SmsList => Expect {
                prefixes: vec!["+CMGL:".into()],
                unprefixed: true,
                ..Expect::default()
            },
            Self::Raw(text) => Expect {
                prefixes: raw_prefix(text).into_iter().collect(),
                unprefixed: true,
                ..Expect::default()
            },
            _ => Expect::default(),
        }
    }

    /// Which timeout applies.
    pub fn timeout_class(&self) -> TimeoutClass {
        match self {
            Self::Ping => TimeoutClass::Ping,
            Self::Dial(_) => TimeoutClass::Dial,
            Self::Answer | Self::Hangup => TimeoutClass::Call,
            Self::Reboot | Self::SmsSend { .. } | Self::Ussd { .. } => TimeoutClass::Long,
            Self::Raw(t) if t.to_ascii_uppercase().starts_with("AT+CUSD") => TimeoutClass::Long,
            _ => TimeoutClass::Normal,
        }
    }
}

/// `AT+CREG=2` -> `+CREG:`; `AT^SYSCFG?` -> `^SYSCFG:`.
fn raw_prefix(text: &str) -> Option<String> {
    let rest = text.get(2..)?;
    let first = rest.chars().next()?;
    if first != '+' && first != '^' {
        return None;
    }
    let name: String = rest
        .chars()
        .take_while(|c| *c != '=' && *c != '?')
        .collect();
    (name.len() > 1).then(|| format!("{}:", name.to_ascii_uppercase()))
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.wire())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_wire_round_trip() {
        let typed = [
            "AT",
            "ATZ",
            "ATE0",
            "ATE1",
            "AT+CMEE=1",
            "AT+CGMI",
            "AT+CGMM",
            "AT+CGMR",
            "AT+CGSN",
            "AT+CIMI",
            "AT^ICCID?",
            "AT+CPIN?",
            "AT+CNUM",
            "AT+COPS=3,2",
            "AT+COPS?",
            "AT+CREG?",
            "AT+CSQ",
            "AT^CVOICE?",
            "AT+CLCC",
            "ATA",
            "AT+CHUP",
            "AT^DDSETEX=2",
            "AT+CFUN=1,1",
            "AT+CMGL=4",
            "AT+CUSD=2",
        ];
        for text in typed {
            let c = Command::parse(text);
            assert!(!matches!(c, Command::Raw(_)), "{text} should be typed");
            assert_eq!(c.wire(), text);
        }
        assert_eq!(Command::parse("at+csq"), Command::SignalQuery);
        assert_eq!(
            Command::parse("AT+CREG=2"),
            Command::Raw("AT+CREG=2".into())
        );
    }

    #[test]
    fn dial_and_dtmf_wire() {
        let n = DialNumber::parse("+5511987654321").unwrap();
        assert_eq!(Command::Dial(n).wire(), "ATD+5511987654321;");
        assert_eq!(Command::Dtmf { idx: 1, digit: '#' }.wire(), "AT^DTMF=1,#");
    }

    #[test]
    fn sms_and_ussd_wire() {
        let send = Command::SmsSend {
            tpdu_len: 17,
            pdu: "0011000B915121551532F40000AA0548656C6C6F".into(),
        };
        assert_eq!(send.wire(), "AT+CMGS=17");
        assert!(send.expect().prompt);
        assert_eq!(send.timeout_class(), TimeoutClass::Long);
        assert_eq!(Command::SmsRead(3).wire(), "AT+CMGR=3");
        assert!(Command::SmsRead(3).expect().unprefixed);
        assert_eq!(Command::SmsDelete(3).wire(), "AT+CMGD=3");
        let ussd = Command::Ussd {
            payload: "AA180C3602".into(),
            dcs: 15,
        };
        assert_eq!(ussd.wire(), "AT+CUSD=1,\"AA180C3602\",15");
        assert_eq!(ussd.timeout_class(), TimeoutClass::Long);
    }

    #[test]
    fn expectations() {
        assert!(Command::Imei.expect().unprefixed);
        assert!(
            Command::Dial(DialNumber::parse("1").unwrap())
                .expect()
                .dialing
        );
        assert_eq!(
            Command::SignalQuery.expect().prefixes,
            vec!["+CSQ:".to_string()]
        );
        assert_eq!(
            Command::Raw("AT^SYSCFG?".into()).expect().prefixes,
            vec!["^SYSCFG:".to_string()]
        );
        assert!(Command::Raw("ATI".into()).expect().prefixes.is_empty());
        assert_eq!(Command::Ping.timeout_class(), TimeoutClass::Ping);
        assert_eq!(
            Command::Raw("AT+CUSD=1,\"AA\",15".into()).timeout_class(),
            TimeoutClass::Long
        );
    }
}
