//! `[[sim.ussd]]`: what the simulated network answers to USSD codes and menu choices, and
//! the balance a reply can quote.

use serde::{Deserialize, Serialize};

use crate::config::Problem;
use crate::sms::gsm7;

/// Longest USSD reply text (TS 23.038: 182 GSM 7-bit characters in 160 octets).
pub const MAX_USSD_REPLY: usize = 182;

/// How a reply travels in `+CUSD: <m>,"<str>",<dcs>`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UssdReplyEncoding {
    /// GSM 7-bit packed, as hex, DCS 15 (an E173 in `^USSDMODE=1`, the default).
    #[default]
    Gsm7,
    /// UCS-2 as hex (UTF-16BE), DCS 72.
    Ucs2,
    /// Plain ASCII text with DCS 15, as devices left in `^USSDMODE=0` answer.
    Text,
}

/// `[[sim.ussd]]`: the network's answer to one USSD code or one menu choice.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SimUssd {
    /// The code as dialled (`*100#`), or a menu choice: the path that opened the menu, `>`,
    /// and the input (`*100#>1`, then `*100#>1>2`).
    pub code: String,
    /// The reply. `{balance}` is the modem's balance (control `balance`, default `10,00`),
    /// `{number}` its own number.
    pub reply: String,
    /// How the reply is encoded (default `gsm7`).
    #[serde(default)]
    pub encoding: UssdReplyEncoding,
    /// From `AT+CUSD` OK to the reply, in milliseconds (default `cusd_ms`).
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// `+CUSD` mode: 0 final (the session ends), 1 the network waits for a choice (the
    /// next request is looked up as `<code>><input>`).
    #[serde(default)]
    pub mode: u8,
}

impl SimUssd {
    /// The reply with `{balance}` and `{number}` filled in.
    pub fn render(&self, balance: &str, number: &str) -> String {
        self.reply
            .replace("{balance}", balance)
            .replace("{number}", number)
    }

    /// Appends every problem of this entry, keys under `k` (e.g. `sim.ussd[0]`).
    pub fn validate(&self, k: &str, p: &mut Vec<Problem>) {
        let key = |f: &str| format!("{k}.{f}");
        let printable = |s: &str| s.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"');
        if self.code.is_empty()
            || self.code.len() > 64
            || !printable(&self.code)
            || self.code.split('>').any(str::is_empty)
        {
            p.push(Problem::new(
                key("code"),
                "must be 1 to 64 printable ASCII characters without '\"'; menu steps are joined by '>'",
            ));
        }
        // The widest balance and number are quoted in the length and alphabet checks.
        let sample = self.render("0000000000,00", "+5511987650000");
        if self.reply.is_empty() || sample.chars().count() > MAX_USSD_REPLY {
            p.push(Problem::new(
                key("reply"),
                format!("must be 1 to {MAX_USSD_REPLY} characters"),
            ));
        }
        match self.encoding {
            UssdReplyEncoding::Gsm7 if !gsm7::fits(&sample) => p.push(Problem::new(
                key("reply"),
                "has characters outside the GSM 7-bit alphabet; use encoding = \"ucs2\"",
            )),
            UssdReplyEncoding::Text if !printable(&sample) => p.push(Problem::new(
                key("reply"),
                "encoding \"text\" takes printable ASCII without '\"'",
            )),
            _ => {}
        }
        if self.delay_ms.is_some_and(|d| d > 60_000) {
            p.push(Problem::new(key("delay_ms"), "at most 60000 ms"));
        }
        if self.mode > 1 {
            p.push(Problem::new(
                key("mode"),
                "0 (final) or 1 (further input expected)",
            ));
        }
    }
}

/// Checks a balance as a USSD reply quotes it: 1 to 13 characters of digits, `,`, `.`
/// and a leading `-`, with at least one digit (`10,00`, `0.50`, `-3,20`).
pub fn check_balance(v: &str) -> Result<(), String> {
    let body = v.strip_prefix('-').unwrap_or(v);
    let ok = !v.is_empty()
        && v.len() <= 13
        && body.bytes().any(|b| b.is_ascii_digit())
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b',' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "balance {v:?}: 1 to 13 characters of digits, ',' and '.', with an optional leading '-'"
        ))
    }
}
