//! USSD (DIALECT.md §4): `AT+CUSD=1,"<str>",<dcs>` answered by the configured replies
//! (`[[sim.ussd]]`) after their delay, menus that wait for a choice (`+CUSD: 1`), the
//! session cancelled with `AT+CUSD=2`, and the balance a reply quotes.
//!
//! Requests may come as packed GSM 7-bit hex (DCS 15), UCS-2 hex (DCS 72) or plain text
//! (a host in text mode); all are decoded. Replies are GSM 7-bit hex with DCS 15, UCS-2
//! hex with DCS 72, or plain text with DCS 15, as the entry says.

use e173gw_core::config::sim::{SimUssd, UssdReplyEncoding};
use e173gw_core::sms::ussd::{self as codec, UssdEncoding};
use serde::Serialize;

use super::commands::{After, Answer, Fail};
use super::{Device, Timer};

/// The balance quoted before control `balance` sets one.
const DEFAULT_BALANCE: &str = "10,00";

/// The USSD side of a device.
#[derive(Debug)]
pub(super) struct UssdState {
    /// Configured replies.
    pub(super) replies: Vec<SimUssd>,
    /// What `{balance}` becomes.
    pub(super) balance: String,
    /// The menu path a `+CUSD: 1` reply left open.
    pub(super) session: Option<String>,
}

impl Default for UssdState {
    fn default() -> Self {
        Self {
            replies: Vec::new(),
            balance: DEFAULT_BALANCE.into(),
            session: None,
        }
    }
}

/// USSD state for `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct UssdStatus {
    /// What replies quote as `{balance}`.
    pub(crate) balance: String,
    /// The open menu path, if a reply waits for a choice.
    pub(crate) session: Option<String>,
    /// A reply is on its way.
    pub(crate) pending: bool,
}

/// The request's text: UCS-2 hex for a DCS naming UCS-2, else packed GSM 7-bit hex when
/// it reads as printable ASCII, else the string as written (text mode).
fn decode_request(raw: &str, dcs: Option<u16>) -> String {
    let printable = |s: &str| !s.is_empty() && s.bytes().all(|b| (0x20..0x7f).contains(&b));
    let ucs2 = dcs.is_some_and(|d| d & 0x40 != 0 && (d >> 2) & 3 == 2);
    let decoded = codec::reply(raw, Some(if ucs2 { 72 } else { 15 }));
    if printable(&decoded) || (ucs2 && !decoded.is_empty() && !decoded.contains('\u{fffd}')) {
        decoded
    } else {
        raw.to_string()
    }
}

/// The `"<str>",<dcs>` of a reply.
fn encode_reply(text: &str, enc: UssdReplyEncoding) -> (String, u8) {
    let ucs2 = || codec::request(text, UssdEncoding::Ucs2Hex).unwrap_or_default();
    match enc {
        // A balance or number the alphabet lacks cannot happen; UCS-2 if it did.
        UssdReplyEncoding::Gsm7 => codec::request(text, UssdEncoding::Gsm7Hex).unwrap_or_else(ucs2),
        UssdReplyEncoding::Ucs2 => ucs2(),
        UssdReplyEncoding::Text => (text.replace('"', "'"), 15),
    }
}

/// The mode, the quoted string and the DCS of `AT+CUSD=<m>[,"<str>"[,<dcs>]]`; `orig`
/// keeps the string's case.
fn cusd_args(orig: &str) -> (String, Option<String>, Option<u16>) {
    let v = orig.split_once('=').map_or("", |(_, v)| v);
    let mode = v.split([',', '"']).next().unwrap_or("").trim().to_string();
    let mut quoted = v.splitn(3, '"');
    quoted.next();
    let text = quoted.next().map(str::to_string);
    let dcs = quoted
        .next()
        .and_then(|rest| rest.trim().strip_prefix(','))
        .and_then(|d| d.trim().parse().ok());
    (mode, text, dcs)
}

impl Device {
    /// `AT+CUSD=...`: `0`/`1` alone set the presentation, `1,"<str>"[,<dcs>]` asks, `2`
    /// ends the session (`+CUSD: 2` after OK when one was open or a reply was coming).
    pub(super) fn ussd(&mut self, now: u64, orig: &str, after: &mut After) -> Answer {
        let (mode, text, dcs) = cusd_args(orig);
        match (mode.as_str(), text) {
            ("0" | "1", None) => Ok(Vec::new()),
            ("2", _) => {
                let pending = self
                    .timers
                    .iter()
                    .any(|(_, _, t)| matches!(t, Timer::Cusd { .. }));
                if self.ussd.session.take().is_some() || pending {
                    self.cancel(|t| matches!(t, Timer::Cusd { .. }));
                    *after = After::Urc("+CUSD: 2".into());
                }
                Ok(Vec::new())
            }
            ("1", Some(raw)) => {
                if !self.sim {
                    return Err(Fail::Cme(10));
                }
                if !self.registered() {
                    return Err(Fail::Cme(30));
                }
                self.counters.ussd_requests += 1;
                let input = decode_request(&raw, dcs);
                self.ussd_request(now, &input);
                Ok(Vec::new())
            }
            _ => Err(Fail::Cme(50)),
        }
    }

    /// Schedules the reply to `input`: the entry for the open menu's `<path>><input>`,
    /// else for `input` as a code, else the fixed balance text.
    fn ussd_request(&mut self, now: u64, input: &str) {
        let find = |code: &str| self.ussd.replies.iter().find(|u| u.code == code);
        let entry = self
            .ussd
            .session
            .as_ref()
            .and_then(|s| find(&format!("{s}>{input}")))
            .or_else(|| find(input))
            .cloned();
        let (line, session, delay) = match entry {
            Some(e) => {
                let text = e.render(&self.ussd.balance, &self.id.number);
                let (payload, dcs) = encode_reply(&text, e.encoding);
                let session = (e.mode == 1).then(|| e.code.clone());
                let line = format!("+CUSD: {},\"{payload}\",{dcs}", e.mode);
                (line, session, e.delay_ms.unwrap_or(self.timing.cusd_ms))
            }
            None => {
                let text = format!(
                    "{input}: Saldo R {}. Numero {}",
                    self.ussd.balance, self.id.number
                );
                let (payload, dcs) = encode_reply(&text, UssdReplyEncoding::Gsm7);
                let line = format!("+CUSD: 0,\"{payload}\",{dcs}");
                (line, None, self.timing.cusd_ms)
            }
        };
        self.cancel(|t| matches!(t, Timer::Cusd { .. }));
        self.schedule(now + delay, Timer::Cusd { line, session });
    }

    /// Control `balance`: what replies quote as `{balance}`.
    pub(crate) fn set_balance(&mut self, balance: &str) {
        self.ussd.balance = balance.to_string();
    }

    pub(super) fn ussd_status(&self) -> UssdStatus {
        UssdStatus {
            balance: self.ussd.balance.clone(),
            session: self.ussd.session.clone(),
            pending: self
                .timers
                .iter()
                .any(|(_, _, t)| matches!(t, Timer::Cusd { .. })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_in_every_form() {
        let (gsm, _) = codec::request("*100#", UssdEncoding::Gsm7Hex).expect("gsm");
        let (ucs, _) = codec::request("*100#", UssdEncoding::Ucs2Hex).expect("ucs2");
        for (raw, dcs, want) in [
            (gsm.as_str(), Some(15), "*100#"),
            (gsm.as_str(), None, "*100#"),
            (ucs.as_str(), Some(72), "*100#"),
            ("*100#", Some(15), "*100#"),
            ("1", Some(15), "1"),
            ("12", Some(15), "12"),
            ("31", Some(15), "1"),
        ] {
            assert_eq!(decode_request(raw, dcs), want, "{raw} {dcs:?}");
        }
        assert_eq!(
            cusd_args("+CUSD=1,\"AA180C3602\",15"),
            ("1".into(), Some("AA180C3602".into()), Some(15))
        );
        assert_eq!(
            cusd_args("+cusd=1,\"1,2\""),
            ("1".into(), Some("1,2".into()), None)
        );
        assert_eq!(cusd_args("+CUSD=2"), ("2".into(), None, None));
        assert_eq!(
            encode_reply("Saldo \"x\"", UssdReplyEncoding::Text),
            ("Saldo 'x'".into(), 15)
        );
        assert_eq!(
            encode_reply("日", UssdReplyEncoding::Gsm7),
            ("65E5".into(), 72)
        );
    }
}
