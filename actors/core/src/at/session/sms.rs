//! SMS and USSD over the session: `AT+CMGS` with its `> ` prompt, stored messages read
//! (`+CMTI`/`+CDSI` -> `AT+CMGR`, and `AT+CMGL=4` once init is done) and deleted only when
//! the owner says they are kept, and `AT+CUSD` requests with their `+CUSD` replies.
//!
//! A stored message stays on the SIM until [`ModemSession::delete_sms`]: the SIM is the
//! spool until the owner has written the message down, so a crash or a dead database never
//! loses one (at worst it is read twice).

use std::time::Instant;

use super::{ModemSession, Pending, Phase, Purpose, SessionEvent, Unavailable};
use crate::at::codec::FinalResult;
use crate::at::command::Command;
use crate::sms::pdu::{self, PduError, Received};

/// Slots read one by one when the modem has no `AT+CMGL` (a SIM holds 50 at most on the
/// E173's `"SM"` storage; indices start at 0).
const SIM_SLOTS: u16 = 50;

/// Why an SMS part was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsSendError {
    /// The modem cannot send now.
    #[error("modem unavailable: {0:?}")]
    Unavailable(Unavailable),
    /// The modem or the network refused it (`+CMS ERROR: n`, `ERROR`).
    #[error("modem answered {0:?}")]
    Refused(FinalResult),
    /// `OK` without a `+CMGS: <mr>` line.
    #[error("no +CMGS reference in the answer")]
    NoReference,
    /// The modem was reset (or its port lost) before it answered.
    #[error("modem reset before it answered")]
    Aborted,
}

/// A message read from the SIM, still stored there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSms {
    /// Its slot (for [`ModemSession::delete_sms`]).
    pub index: u16,
    /// The PDU as read, SMSC field included.
    pub pdu: String,
    /// What it says; an unreadable PDU is still handed over so it is kept, not lost.
    pub message: Result<Received, PduError>,
}

/// A `+CUSD` reply, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UssdReply {
    /// 0 final, 1 the network waits for an answer, 2 ended by the network, 3 answered by
    /// another client, 4 not supported, 5 network timeout.
    pub mode: u8,
    /// The text, decoded by its DCS.
    pub text: Option<String>,
}

impl UssdReply {
    /// The network waits for an answer (a menu).
    pub fn wants_answer(&self) -> bool {
        self.mode == 1
    }

    /// The request failed (not supported, timed out).
    pub fn failed(&self) -> bool {
        self.mode >= 4
    }
}

/// Reads the messages of an `AT+CMGR` (one) or `AT+CMGL` (several) answer: each header
/// line (`+CMGR: <stat>,,<len>` / `+CMGL: <i>,<stat>,,<len>`) followed by its PDU line.
/// `index` is the slot of a `+CMGR`; `+CMGL` lines carry their own.
pub fn stored_pdus(lines: &[String], index: Option<u16>) -> Vec<(u16, String)> {
    let mut out = Vec::new();
    let mut slot: Option<u16> = None;
    for line in lines.iter().map(|l| l.trim()) {
        if let Some(rest) = crate::at::params_after(line, "+CMGL:") {
            slot = rest.split(',').next().and_then(|i| i.trim().parse().ok());
        } else if crate::at::params_after(line, "+CMGR:").is_some() {
            slot = index;
        } else if let Some(i) = slot.take() {
            if !line.is_empty() {
                out.push((i, line.to_string()));
            }
        }
    }
    out
}

impl ModemSession {
    /// Sends one SMS part (a PDU from [`crate::sms::pdu::submit`]); the outcome comes back
    /// as [`SessionEvent::SmsSubmitted`] with this `id`.
    pub fn send_sms(&mut self, now: Instant, id: u64, tpdu_len: usize, pdu: String) {
        if let Err(u) = self.can_message() {
            self.events.push_back(SessionEvent::SmsSubmitted {
                id,
                result: Err(SmsSendError::Unavailable(u)),
            });
            return;
        }
        self.enqueue(Purpose::Sms(id), Command::SmsSend { tpdu_len, pdu });
        self.pump(now);
    }

    /// Sends a USSD request (already encoded for the model, see [`crate::sms::ussd`]).
    /// Whether the modem took it comes back as [`SessionEvent::UssdSent`]; the network's
    /// replies as [`SessionEvent::Ussd`].
    pub fn ussd(&mut self, now: Instant, id: u64, payload: String, dcs: u8) {
        if let Err(u) = self.can_message() {
            self.events.push_back(SessionEvent::UssdSent {
                id,
                result: Err(format!("modem unavailable: {u:?}")),
            });
            return;
        }
        self.enqueue(Purpose::Ussd(id), Command::Ussd { payload, dcs });
        self.pump(now);
    }

    /// Ends an open USSD session (a menu the network waits on).
    pub fn ussd_cancel(&mut self, now: Instant) {
        if self.phase == Phase::Ready {
            self.enqueue(Purpose::Poll, Command::UssdCancel);
            self.pump(now);
        }
    }

    /// Deletes a stored message once the owner has kept it.
    pub fn delete_sms(&mut self, now: Instant, index: u16) {
        if self.phase == Phase::Ready {
            self.enqueue(Purpose::Poll, Command::SmsDelete(index));
            self.pump(now);
        }
    }

    /// Reads every stored message again at the next health poll (they come as
    /// [`SessionEvent::StoredSms`]), e.g. when the owner could not keep them before.
    pub fn reread_stored_sms(&mut self) {
        self.sms_listed = false;
    }

    /// Reads what the SIM holds (messages that came while nobody listened), once per
    /// session, with the first health poll: not right after init, where a modem that
    /// wedges would hold a call's `ATD` behind it.
    pub(super) fn list_stored_sms(&mut self) {
        if self.cfg.sms && !std::mem::replace(&mut self.sms_listed, true) {
            self.enqueue(Purpose::SmsRead, Command::SmsList);
        }
    }

    pub(super) fn on_stored_sms_urc(&mut self, index: i32) {
        let Ok(index) = u16::try_from(index) else {
            return; // "+CMTI: "SM",-1" is seen in the wild and means nothing
        };
        if !self.cfg.sms || self.phase != Phase::Ready {
            return;
        }
        let cmd = Command::SmsRead(index);
        if !self.queue.iter().any(|p| p.cmd == cmd) {
            self.queue.push_back(Pending {
                cmd,
                purpose: Purpose::SmsRead,
            });
        }
    }

    pub(super) fn on_sms_read(&mut self, cmd: &Command, result: &FinalResult, lines: &[String]) {
        if !result.is_ok() {
            if *cmd == Command::SmsList {
                // No AT+CMGL on this firmware: read the slots one by one, as chan_dongle
                // does (an empty slot answers OK or +CMS ERROR: 321).
                for i in 0..SIM_SLOTS {
                    let cmd = Command::SmsRead(i);
                    if !self.queue.iter().any(|p| p.cmd == cmd) {
                        self.queue.push_back(Pending {
                            cmd,
                            purpose: Purpose::SmsRead,
                        });
                    }
                }
            }
            return;
        }
        let index = match cmd {
            Command::SmsRead(i) => Some(*i),
            _ => None,
        };
        for (index, pdu) in stored_pdus(lines, index) {
            let message = pdu::parse(&pdu);
            self.events.push_back(SessionEvent::StoredSms(StoredSms {
                index,
                pdu,
                message,
            }));
        }
    }

    pub(super) fn on_sms_sent(&mut self, id: u64, result: &FinalResult, lines: &[String]) {
        let result = if result.is_ok() {
            lines
                .iter()
                .find_map(|l| crate::at::params_after(l.trim(), "+CMGS:"))
                .and_then(|mr| mr.split(',').next()?.trim().parse::<u8>().ok())
                .ok_or(SmsSendError::NoReference)
        } else {
            Err(SmsSendError::Refused(result.clone()))
        };
        self.events
            .push_back(SessionEvent::SmsSubmitted { id, result });
    }

    /// The `> ` prompt: the PDU follows it, ended by Ctrl-Z. A prompt nobody asked for (a
    /// stuck one) is cleared with ESC.
    pub(super) fn on_prompt(&mut self) {
        let body = match &mut self.in_flight {
            Some(f) if !f.prompted => match &f.cmd {
                Command::SmsSend { pdu, .. } => {
                    f.prompted = true;
                    Some(pdu.clone())
                }
                _ => None,
            },
            _ => None,
        };
        let mut bytes = match body {
            Some(pdu) => pdu.into_bytes(),
            None => Vec::new(),
        };
        bytes.push(if bytes.is_empty() { 0x1b } else { 0x1a });
        self.stats.bytes_out += bytes.len() as u64;
        self.outbox.push_back(bytes);
        self.decoder.expect(crate::at::codec::Expect {
            prefixes: vec!["+CMGS:".into()],
            ..Default::default()
        });
    }

    pub(super) fn on_cusd(&mut self, mode: u8, text: Option<String>, dcs: Option<u16>) {
        let text = text.map(|t| crate::sms::ussd::reply(&t, dcs));
        self.events
            .push_back(SessionEvent::Ussd(UssdReply { mode, text }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_pdus_of_cmgr_and_cmgl() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        type Case<'a> = (Vec<String>, Option<u16>, Vec<(u16, &'a str)>);
        let cases: Vec<Case<'_>> = vec![
            (
                l(&["+CMGR: 0,,24", "07911326040000F0"]),
                Some(4),
                vec![(4, "07911326040000F0")],
            ),
            (l(&[]), Some(4), vec![]),
            (l(&["+CMGR: 0,,24"]), Some(4), vec![]),
            (
                l(&["+CMGL: 1,0,,24", "AA", "+CMGL: 7,1,,20", "BB"]),
                None,
                vec![(1, "AA"), (7, "BB")],
            ),
            (
                l(&["+CMGL: x,0,,24", "AA", "+CMGL: 2,1,,20", "BB"]),
                None,
                vec![(2, "BB")],
            ),
            (l(&["stray", "+CMGL: 3,0,,1", "CC"]), None, vec![(3, "CC")]),
        ];
        for (lines, index, want) in cases {
            let want: Vec<(u16, String)> = want.into_iter().map(|(i, s)| (i, s.into())).collect();
            assert_eq!(stored_pdus(&lines, index), want, "{lines:?}");
        }
    }

    #[test]
    fn ussd_reply_kinds() {
        let r = |mode| UssdReply { mode, text: None };
        assert!(r(1).wants_answer());
        assert!(!r(0).wants_answer() && !r(0).failed());
        assert!(r(4).failed() && r(5).failed());
    }
}
