//! SMS in PDU mode (DIALECT.md §4): `AT+CMGS=<n>` with its `\r\n> ` prompt and the hex PDU
//! up to Ctrl-Z (ESC cancels), messages delivered from the control socket into SIM slots
//! (`+CMTI`), read (`AT+CMGR`, `AT+CMGL`) and deleted (`AT+CMGD`), and status reports
//! (`+CDSI`) for messages that asked for one.

use std::collections::VecDeque;

use e173gw_core::sms::deliver_write::{self, NewDeliver, NewStatusReport, SmscTime};
use e173gw_core::sms::submit_read::{self, SubmitRead};
use serde::Serialize;

use super::commands::{arg, After, Answer, Fail};
use super::{Device, Timer};

/// SIM message slots, indices 0..50 (`AT+CPMS` reports 50).
pub(super) const SLOTS: usize = 50;
/// Sent messages kept for `status`.
const SENT_KEPT: usize = 100;
/// Longest PDU hex collected after the prompt (an SMSC field and a 164-octet TPDU fit).
const MAX_PDU_HEX: usize = 2 * (12 + 164);
/// Longest TPDU `AT+CMGS=<n>` accepts.
const MAX_TPDU: usize = 164;
/// The service centre of the simulated network (`AT+CSCA?`, the SMSC field of messages).
pub(super) const SMSC: &str = "+551181119000";
/// The network's local time zone, in quarters of an hour from UTC (São Paulo).
const TZ_QUARTERS: i8 = -12;

/// One occupied SIM slot.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slot {
    /// 0 received unread, 1 received read.
    stat: u8,
    /// The PDU with its SMSC field.
    hex: String,
    /// Its TPDU length.
    tpdu_len: usize,
}

/// One message (part) that went out, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct SentSms {
    /// The destination as the PDU names it.
    pub(crate) to: String,
    /// The text of this part.
    pub(crate) text: String,
    /// This part, from 1 (1 of 1 without a concatenation header).
    pub(crate) seq: u8,
    /// Parts in all.
    pub(crate) total: u8,
    /// The concatenation reference, if any.
    pub(crate) reference: Option<u16>,
    /// The `+CMGS: <mr>` it got.
    pub(crate) mr: u8,
    /// A status report was asked for.
    pub(crate) status_report: bool,
    /// Sent as UCS-2.
    pub(crate) ucs2: bool,
}

/// SMS state for `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct SmsStatus {
    /// `AT+CMGF` mode: 0 PDU, 1 text (not served).
    pub(crate) mode: u8,
    /// Occupied SIM slots.
    pub(crate) stored: usize,
    /// Of which unread.
    pub(crate) unread: usize,
    /// SIM slots in all.
    pub(crate) capacity: usize,
    /// Every send fails with `+CMS ERROR: 500`.
    pub(crate) fail: bool,
}

/// How the PDU after the prompt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyEnd {
    /// Ctrl-Z: send it.
    Submit,
    /// ESC: forget it.
    Cancel,
}

/// An `AT+CMGS` in progress: the PDU hex so far.
#[derive(Debug, Default)]
pub(super) struct Cmgs {
    body: Vec<u8>,
    overflow: bool,
    end: Option<BodyEnd>,
    /// The prompt was written for a TPDU of this length.
    prompted: Option<usize>,
}

/// The SMS side of a device.
#[derive(Debug)]
pub(super) struct SmsState {
    slots: Vec<Option<Slot>>,
    sent: VecDeque<SentSms>,
    next_mr: u8,
    next_reference: u8,
    /// Sends fail with `+CMS ERROR: 500`.
    pub(super) fail: bool,
    /// `AT+CMGF`.
    pub(super) cmgf: u8,
    cmgs: Option<Cmgs>,
}

impl Default for SmsState {
    fn default() -> Self {
        Self {
            slots: vec![None; SLOTS],
            sent: VecDeque::new(),
            next_mr: 0,
            next_reference: 1,
            fail: false,
            cmgf: 0,
            cmgs: None,
        }
    }
}

impl SmsState {
    fn used(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// Empties every slot (another SIM).
    pub(super) fn clear_slots(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
    }

    /// Stores a PDU in the first free slot.
    fn store(&mut self, hex: String, tpdu_len: usize) -> Option<usize> {
        let i = self.slots.iter().position(Option::is_none)?;
        self.slots[i] = Some(Slot {
            stat: 0,
            hex,
            tpdu_len,
        });
        Some(i)
    }

    pub(super) fn status(&self) -> SmsStatus {
        SmsStatus {
            mode: self.cmgf,
            stored: self.used(),
            unread: self.slots.iter().flatten().filter(|s| s.stat == 0).count(),
            capacity: SLOTS,
            fail: self.fail,
        }
    }

    pub(super) fn sent(&self) -> Vec<SentSms> {
        self.sent.iter().cloned().collect()
    }
}

/// The slot index of `AT+CMGR=<i>` / `AT+CMGD=<i>`, if in range.
fn index(v: &str) -> Option<usize> {
    v.trim().parse::<usize>().ok().filter(|i| *i < SLOTS)
}

impl Device {
    /// An `AT+CMGS` line was read: collect what follows as the PDU.
    pub(super) fn start_pdu(&mut self) {
        self.sms.cmgs = Some(Cmgs::default());
    }

    /// Forgets a PDU being collected (the command was refused, or the modem reset).
    pub(super) fn drop_pdu(&mut self) {
        self.sms.cmgs = None;
    }

    /// A host byte while a PDU is collected: hex up to Ctrl-Z or ESC. False if none is.
    pub(super) fn pdu_byte(&mut self, now: u64, b: u8) -> bool {
        let Some(c) = self.sms.cmgs.as_mut().filter(|c| c.end.is_none()) else {
            return false;
        };
        match b {
            0x1a => c.end = Some(BodyEnd::Submit),
            0x1b => c.end = Some(BodyEnd::Cancel),
            b'\r' | b'\n' | b' ' => {}
            _ if c.body.len() < MAX_PDU_HEX => c.body.push(b),
            _ => c.overflow = true,
        }
        if c.end.is_some() && c.prompted.is_some() {
            self.pdu_done(now);
        }
        true
    }

    /// `AT+CMGS=<n>` accepted: `\r\n> `, and the command stays running until the PDU ends.
    pub(super) fn prompt(&mut self, now: u64, tpdu_len: usize) {
        self.out.extend_from_slice(b"\r\n> ");
        self.busy = true;
        let c = self.sms.cmgs.get_or_insert_with(Cmgs::default);
        c.prompted = Some(tpdu_len);
        if c.end.is_some() {
            self.pdu_done(now);
        }
    }

    /// The command after the prompt is over: the next one may run.
    fn release(&mut self, now: u64) {
        self.busy = false;
        self.pump(now);
    }

    /// Ctrl-Z or ESC after the prompt.
    fn pdu_done(&mut self, now: u64) {
        let Some(c) = self.sms.cmgs.take() else {
            return;
        };
        if c.end == Some(BodyEnd::Cancel) {
            self.line_out("OK");
            self.release(now);
            return;
        }
        let hex = String::from_utf8_lossy(&c.body).into_owned();
        let read = submit_read::parse_submit(&hex)
            .ok()
            .filter(|r| !c.overflow && Some(r.tpdu_len) == c.prompted);
        match read {
            None => {
                self.line_out("+CMS ERROR: 304");
                self.release(now);
            }
            Some(r) => {
                let result = if self.sms.fail { Err(500) } else { Ok(r) };
                self.schedule(now + self.timing.sms_send_ms, Timer::SmsSent(result));
            }
        }
    }

    /// The network's answer to a PDU: `+CMGS: <mr>` OK, or `+CMS ERROR: <n>`.
    pub(super) fn sms_sent(&mut self, now: u64, result: Result<SubmitRead, u16>) {
        let result = result.and_then(|r| match (self.sim, self.registered()) {
            (false, _) => Err(310),
            (true, false) => Err(331),
            _ => Ok(r),
        });
        match result {
            Err(code) => self.line_out(&format!("+CMS ERROR: {code}")),
            Ok(r) => {
                let mr = self.sms.next_mr;
                self.sms.next_mr = mr.wrapping_add(1);
                self.line_out(&format!("+CMGS: {mr}"));
                self.line_out("OK");
                self.counters.sms_sent += 1;
                if r.status_report {
                    self.schedule(
                        now + self.timing.sms_report_ms,
                        Timer::SmsReport {
                            mr,
                            to: r.to.clone(),
                        },
                    );
                }
                if self.sms.sent.len() >= SENT_KEPT {
                    self.sms.sent.pop_front();
                }
                self.sms.sent.push_back(SentSms {
                    ucs2: r.ucs2(),
                    seq: r.concat.map_or(1, |c| c.seq),
                    total: r.concat.map_or(1, |c| c.total),
                    reference: r.concat.map(|c| c.reference),
                    to: r.to,
                    text: r.text,
                    mr,
                    status_report: r.status_report,
                });
            }
        }
        self.release(now);
    }

    /// Stores a PDU and announces it with `<urc>: "SM",<i>`, or `^SMMEMFULL` when full.
    fn store_and_announce(&mut self, hex: String, tpdu_len: usize, urc: &str) -> Option<usize> {
        match self.sms.store(hex, tpdu_len) {
            Some(i) => {
                self.urc(&format!("{urc}: \"SM\",{i}"));
                Some(i)
            }
            None => {
                self.urc("^SMMEMFULL: \"SM\"");
                None
            }
        }
    }

    /// The delivery report of message `mr`: stored, `+CDSI`.
    pub(super) fn sms_report(&mut self, now: u64, mr: u8, to: &str) {
        if !self.sim {
            return;
        }
        let wall = self.wall_ms(now);
        let report = deliver_write::status_report(&NewStatusReport {
            smsc: SMSC,
            reference: mr,
            to,
            submitted: SmscTime::from_unix_ms(
                wall.saturating_sub(self.timing.sms_report_ms),
                TZ_QUARTERS,
            ),
            discharged: SmscTime::from_unix_ms(wall, TZ_QUARTERS),
            status: 0,
        });
        // A report about an address it cannot name (alphanumeric) is not written.
        if let Ok(p) = report {
            self.store_and_announce(p.hex, p.tpdu_len, "+CDSI");
        }
    }

    /// Control `sms`: a message from `from` arrives; each part goes to a free SIM slot with
    /// `+CMTI`, and what does not fit is dropped after `^SMMEMFULL`. Returns the slots.
    pub(crate) fn receive_sms(
        &mut self,
        now: u64,
        from: &str,
        text: &str,
        ucs2: bool,
    ) -> Result<Vec<usize>, String> {
        if !self.sim {
            return Err("no SIM".into());
        }
        if !self.registered() {
            return Err("not registered on the network".into());
        }
        let reference = self.sms.next_reference;
        let parts = deliver_write::deliver(&NewDeliver {
            smsc: SMSC,
            from,
            text,
            timestamp: SmscTime::from_unix_ms(self.wall_ms(now), TZ_QUARTERS),
            reference,
            ucs2,
        })
        .map_err(|e| e.to_string())?;
        if parts.len() > 1 {
            self.sms.next_reference = reference.wrapping_add(1);
        }
        self.counters.sms_received += 1;
        let mut slots = Vec::new();
        for p in parts {
            match self.store_and_announce(p.hex, p.tpdu_len, "+CMTI") {
                Some(i) => slots.push(i),
                None => break,
            }
        }
        Ok(slots)
    }

    /// Control `sms-fail`: every send fails with `+CMS ERROR: 500`, or not.
    pub(crate) fn set_sms_fail(&mut self, fail: bool) {
        self.sms.fail = fail;
    }

    /// The SMS commands, or `None` for another command. `body` is upper case.
    pub(super) fn sms_command(&mut self, body: &str, after: &mut After) -> Option<Answer> {
        if let Some(v) = arg(body, "+CMGF") {
            return Some(self.cmgf(&v));
        }
        if let Some(v) = arg(body, "+CPMS") {
            return Some(self.cpms(&v));
        }
        let (name, v) = ["+CMGS=", "+CMGR=", "+CMGD=", "+CMGL"]
            .into_iter()
            .find_map(|p| arg(body, p).map(|v| (p, v)))?;
        Some(self.slot_command(name, &v, after))
    }

    fn cmgf(&mut self, v: &str) -> Answer {
        match v.trim() {
            "?" => Ok(vec![format!("+CMGF: {}", self.sms.cmgf)]),
            "=?" => Ok(vec!["+CMGF: (0-1)".into()]),
            "=0" | "=" => {
                self.sms.cmgf = 0;
                Ok(Vec::new())
            }
            "=1" => {
                self.sms.cmgf = 1;
                Ok(Vec::new())
            }
            _ => Err(Fail::Cms(302)),
        }
    }

    fn cpms(&mut self, v: &str) -> Answer {
        if !self.sim {
            return Err(Fail::Cms(310));
        }
        let n = self.sms.used();
        match v.trim() {
            "?" => Ok(vec![format!(
                "+CPMS: \"SM\",{n},{SLOTS},\"SM\",{n},{SLOTS},\"SM\",{n},{SLOTS}"
            )]),
            "=?" => Ok(vec!["+CPMS: (\"SM\"),(\"SM\"),(\"SM\")".into()]),
            set if set.starts_with('=') => {
                let known = set[1..]
                    .split(',')
                    .map(|m| m.trim().trim_matches('"'))
                    .all(|m| matches!(m, "SM" | "ME" | "MT"));
                if !known {
                    return Err(Fail::Cms(302));
                }
                Ok(vec![format!("+CPMS: {n},{SLOTS},{n},{SLOTS},{n},{SLOTS}")])
            }
            _ => Err(Fail::Cms(302)),
        }
    }

    /// `AT+CMGS`, `AT+CMGR`, `AT+CMGD`, `AT+CMGL` (PDU mode, a SIM needed).
    fn slot_command(&mut self, name: &str, v: &str, after: &mut After) -> Answer {
        if !self.sim {
            return Err(Fail::Cms(310));
        }
        if self.sms.cmgf != 0 {
            // Text mode is not simulated.
            return Err(Fail::Cms(302));
        }
        match name {
            "+CMGS=" => {
                if !self.registered() {
                    return Err(Fail::Cms(331));
                }
                let n = v
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_TPDU).contains(n))
                    .ok_or(Fail::Cms(304))?;
                *after = After::Prompt(n);
                Ok(Vec::new())
            }
            "+CMGR=" => {
                let i = index(v).ok_or(Fail::Cms(321))?;
                let slot = self.sms.slots[i].as_mut().ok_or(Fail::Cms(321))?;
                let lines = vec![
                    format!("+CMGR: {},,{}", slot.stat, slot.tpdu_len),
                    slot.hex.clone(),
                ];
                slot.stat = 1;
                Ok(lines)
            }
            "+CMGD=" => {
                let mut f = v.split(',').map(str::trim);
                let i = f.next().and_then(index).ok_or(Fail::Cms(321))?;
                match f.next().unwrap_or("0") {
                    "0" => self.sms.slots[i] = None,
                    // 1 read; 2 and 3 also sent and unsent (none are stored); 4 all.
                    "1" | "2" | "3" => {
                        for s in &mut self.sms.slots {
                            if s.as_ref().is_some_and(|s| s.stat == 1) {
                                *s = None;
                            }
                        }
                    }
                    "4" => self.sms.clear_slots(),
                    _ => return Err(Fail::Cms(302)),
                }
                Ok(Vec::new())
            }
            _ => {
                // `AT+CMGL=<stat>`: 0 unread, 1 read, 4 all; `AT+CMGL` alone means 0.
                let want = match v.trim() {
                    "" | "=0" => Some(0),
                    "=1" => Some(1),
                    "=2" | "=3" => Some(2),
                    "=4" => None,
                    "=?" => return Ok(vec!["+CMGL: (0-4)".into()]),
                    _ => return Err(Fail::Cms(302)),
                };
                let mut lines = Vec::new();
                for (i, s) in self.sms.slots.iter_mut().enumerate() {
                    let Some(s) = s.as_mut().filter(|s| want.is_none_or(|w| s.stat == w)) else {
                        continue;
                    };
                    lines.push(format!("+CMGL: {i},{},,{}", s.stat, s.tpdu_len));
                    lines.push(s.hex.clone());
                    s.stat = 1;
                }
                Ok(lines)
            }
        }
    }
}
