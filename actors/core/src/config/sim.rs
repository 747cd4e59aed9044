//! Configuration of the modem simulator (`[sim]`), and its call scenarios.
//!
//! - [`SimConfig`]: the `[sim]` section: where the pty links go, how many modems, their
//!   identities ([`SimModemConfig`], positional: `[[sim.modem]]` entry `i` configures
//!   modem `i`), and the timing of the simulated network.
//! - [`SimUssd`]: `[[sim.ussd]]`, the network's replies to USSD codes and menu choices.
//! - [`Scenario`]: a separate TOML file of call rules ([`ScenarioRule`], first match wins)
//!   and start-up states of whole modems ([`ScenarioModem`]).
//! - [`SimConfig::resolve_modems`]: the full, deterministic identity of every modem.
//!   Generated IMEIs carry a valid Luhn digit, IMSIs start with the MCC/MNC, ICCIDs with 89.

use std::collections::HashSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Problem;
use crate::domain::{luhn_check_digit, DialNumber, Iccid, Imei, Imsi, ModemId};

mod scenario;
mod ussd;

pub use scenario::{Outcome, Scenario, ScenarioModem, ScenarioRule, SimPresence};
pub use ussd::{check_balance, SimUssd, UssdReplyEncoding, MAX_USSD_REPLY};

/// Most modems one simulator runs.
pub const MAX_MODEMS: usize = 512;

/// `[sim]`: the modem simulator (`e173gw sim`, or inside `e173gw run` when enabled).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// Start the simulator inside `e173gw run`.
    pub enabled: bool,
    /// Directory of the pty links (`<name>.at`, `<name>.audio`), the recordings
    /// (`<name>.rx.pcm`) and the control socket (`control.sock`). Created if missing.
    pub dir: PathBuf,
    /// Number of modems, named `modem0`, `modem1`, ... (at least the number of
    /// `[[sim.modem]]` entries).
    pub count: usize,
    /// Per-modem overrides; entry `i` configures modem `i`.
    pub modem: Vec<SimModemConfig>,
    /// Scenario file (call rules, faulty modems); relative to the config file's directory.
    pub scenario: Option<PathBuf>,
    /// Default MCC+MNC of generated IMSIs and of `AT+COPS?` (5 or 6 digits).
    pub mcc_mnc: String,
    /// Default operator name in `AT+COPS?`.
    pub operator: String,
    /// Delay before each AT command is answered, in milliseconds.
    pub command_delay_ms: u64,
    /// From `ATD` OK to `^ORIG`, in milliseconds.
    pub orig_ms: u64,
    /// From `^ORIG` to `^CONF`, in milliseconds.
    pub conf_ms: u64,
    /// From `^CONF` to `^CONN` for calls that are answered, unless a rule says otherwise.
    pub answer_after_ms: u64,
    /// How long an unanswered call rings before `^CEND` (outcome `no_answer`).
    pub ring_ms: u64,
    /// Delay of the other failing outcomes (busy, rejected, unassigned, ...), in ms.
    pub fail_after_ms: u64,
    /// From `AT+CUSD` OK to the `+CUSD:` answer, in milliseconds.
    pub cusd_ms: u64,
    /// Period of `^RSSI` URCs in milliseconds (0 = only on change).
    pub rssi_interval_ms: u64,
    /// Period of `^BOOT` URCs in milliseconds (0 = never).
    pub boot_interval_ms: u64,
    /// How long a reboot ignores commands, in milliseconds.
    pub reboot_ms: u64,
    /// From the SMS PDU's Ctrl-Z to `+CMGS: <mr>` OK (the network's send), in milliseconds.
    pub sms_send_ms: u64,
    /// From `+CMGS` to the status report (`+CDSI`) of a message that asked for one, in ms.
    pub sms_report_ms: u64,
    /// Period of `RING` (or `+CRING: VOICE`) during an incoming call, in milliseconds.
    pub ring_interval_ms: u64,
    /// How long an unanswered incoming call rings before the caller gives up
    /// (`^CEND:1,0,104,16`), in milliseconds.
    pub incoming_give_up_ms: u64,
    /// Replies to USSD codes and menu choices; unlisted codes get a fixed balance reply.
    pub ussd: Vec<SimUssd>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            dir: PathBuf::from("/tmp/e173gw-sim"),
            count: 2,
            modem: Vec::new(),
            scenario: None,
            mcc_mnc: "72402".into(),
            operator: "TIM BRASIL".into(),
            command_delay_ms: 10,
            orig_ms: 300,
            conf_ms: 1500,
            answer_after_ms: 3000,
            ring_ms: 30_000,
            fail_after_ms: 500,
            cusd_ms: 1000,
            rssi_interval_ms: 5000,
            boot_interval_ms: 30_000,
            reboot_ms: 1500,
            sms_send_ms: 500,
            sms_report_ms: 1000,
            ring_interval_ms: 5000,
            incoming_give_up_ms: 30_000,
            ussd: Vec::new(),
        }
    }
}

/// `[[sim.modem]]`: overrides for one simulated modem. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimModemConfig {
    /// Name (default `modem<i>`); also the link names `<name>.at`, `<name>.audio`.
    pub name: Option<String>,
    /// IMEI (15 digits, valid Luhn digit).
    pub imei: Option<String>,
    /// IMSI of the SIM.
    pub imsi: Option<String>,
    /// ICCID of the SIM (18 to 20 digits).
    pub iccid: Option<String>,
    /// Operator name in `AT+COPS?`.
    pub operator: Option<String>,
    /// MCC+MNC of the network (and of the generated IMSI).
    pub mcc_mnc: Option<String>,
    /// Own number (`AT+CNUM`).
    pub number: Option<String>,
    /// `AT+CGMM` answer (default `E173`).
    pub model: Option<String>,
    /// `AT+CGMR` answer (default `11.126.85.00.209`).
    pub firmware: Option<String>,
    /// Voice enabled (default true); false answers `AT^CVOICE?` and `ATD` with an error.
    pub voice: Option<bool>,
    /// Signal quality 0..=31, or 99 for unknown (default 17).
    pub rssi: Option<u8>,
    /// Frequency of the tone sent on the audio port (default `400 + 100 * (i % 30)` Hz).
    pub tone_hz: Option<u32>,
    /// Report the ICCID as nibble-swapped BCD (`98...`), like some firmware.
    pub iccid_swapped: Option<bool>,
    /// Answer unknown commands with `COMMAND NOT SUPPORT` instead of `ERROR`.
    pub command_not_support: Option<bool>,
}

/// The full identity and fixed settings of one simulated modem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedModem {
    /// Position among the modems.
    pub index: usize,
    /// Name.
    pub name: String,
    /// IMEI.
    pub imei: String,
    /// IMSI.
    pub imsi: String,
    /// ICCID.
    pub iccid: String,
    /// Operator name.
    pub operator: String,
    /// MCC+MNC.
    pub mcc_mnc: String,
    /// Own number.
    pub number: String,
    /// Model.
    pub model: String,
    /// Firmware.
    pub firmware: String,
    /// Voice enabled.
    pub voice: bool,
    /// Initial signal quality.
    pub rssi: u8,
    /// Tone frequency on the audio port, in Hz.
    pub tone_hz: u32,
    /// ICCID reported nibble-swapped.
    pub iccid_swapped: bool,
    /// Unknown commands answered `COMMAND NOT SUPPORT`.
    pub command_not_support: bool,
    /// Location area code (4 hex digits).
    pub lac: String,
    /// Cell id (4 hex digits).
    pub ci: String,
}

/// The generated IMEI of modem `index`: TAC 35491102, serial from the index, Luhn digit.
pub fn generated_imei(index: usize) -> String {
    let body = format!("35491102{:06}", 100_000 + index % 900_000);
    format!("{body}{}", luhn_check_digit(&body))
}

/// The generated IMSI of modem `index` on network `mcc_mnc`.
pub fn generated_imsi(mcc_mnc: &str, index: usize) -> String {
    let width = 15usize.saturating_sub(mcc_mnc.len());
    let msin = format!("{:0width$}", 1_000_000 + index);
    let msin = &msin[msin.len().saturating_sub(width)..];
    format!("{mcc_mnc}{msin}")
}

/// The generated ICCID of modem `index`: `895502`, a serial, and a Luhn digit (19 digits).
pub fn generated_iccid(index: usize) -> String {
    let body = format!("895502{:012}", 100_000 + index);
    format!("{body}{}", luhn_check_digit(&body))
}

/// The generated own number of modem `index` (a São Paulo mobile number).
pub fn generated_number(index: usize) -> String {
    format!("+55119{:08}", 87_650_000 + index % 10_000_000)
}

impl SimConfig {
    /// Number of modems: `count`, or more if there are more `[[sim.modem]]` entries.
    pub fn modem_count(&self) -> usize {
        self.count.max(self.modem.len())
    }

    /// The full identity of every modem, generated where the config names none.
    pub fn resolve_modems(&self) -> Vec<ResolvedModem> {
        let none = SimModemConfig::default();
        (0..self.modem_count())
            .map(|i| {
                let m = self.modem.get(i).unwrap_or(&none);
                let mcc_mnc = m.mcc_mnc.clone().unwrap_or_else(|| self.mcc_mnc.clone());
                ResolvedModem {
                    index: i,
                    name: m.name.clone().unwrap_or_else(|| format!("modem{i}")),
                    imei: m.imei.clone().unwrap_or_else(|| generated_imei(i)),
                    imsi: m
                        .imsi
                        .clone()
                        .unwrap_or_else(|| generated_imsi(&mcc_mnc, i)),
                    iccid: m.iccid.clone().unwrap_or_else(|| generated_iccid(i)),
                    operator: m.operator.clone().unwrap_or_else(|| self.operator.clone()),
                    number: m.number.clone().unwrap_or_else(|| generated_number(i)),
                    model: m.model.clone().unwrap_or_else(|| "E173".into()),
                    firmware: m
                        .firmware
                        .clone()
                        .unwrap_or_else(|| "11.126.85.00.209".into()),
                    voice: m.voice.unwrap_or(true),
                    rssi: m.rssi.unwrap_or(17),
                    tone_hz: m.tone_hz.unwrap_or(400 + 100 * (i % 30) as u32),
                    iccid_swapped: m.iccid_swapped.unwrap_or(false),
                    command_not_support: m.command_not_support.unwrap_or(false),
                    lac: "00B3".into(),
                    ci: format!("{:04X}", 0x926A + i % 0x6000),
                    mcc_mnc,
                }
            })
            .collect()
    }

    /// Every problem of this section, keys prefixed with `key_prefix` (e.g. `sim`).
    pub fn validate(&self, key_prefix: &str) -> Vec<Problem> {
        let mut p = Vec::new();
        let key = |k: &str| format!("{key_prefix}.{k}");
        if self.dir.as_os_str().is_empty() {
            p.push(Problem::new(key("dir"), "must not be empty"));
        }
        if self.modem_count() == 0 && self.enabled {
            p.push(Problem::new(
                key("count"),
                "an enabled simulator needs at least one modem",
            ));
        }
        if self.modem_count() > MAX_MODEMS {
            p.push(Problem::new(
                key("count"),
                format!("at most {MAX_MODEMS} modems"),
            ));
        }
        if self
            .scenario
            .as_ref()
            .is_some_and(|s| s.as_os_str().is_empty())
        {
            p.push(Problem::new(
                key("scenario"),
                "must not be empty; leave it out instead",
            ));
        }
        check_mcc_mnc(&self.mcc_mnc, &key("mcc_mnc"), &mut p);
        check_text(&self.operator, &key("operator"), &mut p);
        for (name, v, max) in [
            ("command_delay_ms", self.command_delay_ms, 10_000),
            ("orig_ms", self.orig_ms, 60_000),
            ("conf_ms", self.conf_ms, 60_000),
            ("answer_after_ms", self.answer_after_ms, 600_000),
            ("ring_ms", self.ring_ms, 600_000),
            ("fail_after_ms", self.fail_after_ms, 600_000),
            ("cusd_ms", self.cusd_ms, 60_000),
            ("reboot_ms", self.reboot_ms, 600_000),
            ("sms_send_ms", self.sms_send_ms, 60_000),
            ("sms_report_ms", self.sms_report_ms, 600_000),
            ("ring_interval_ms", self.ring_interval_ms, 60_000),
            ("incoming_give_up_ms", self.incoming_give_up_ms, 600_000),
        ] {
            if v > max {
                p.push(Problem::new(key(name), format!("at most {max} ms")));
            }
        }
        if self.ring_interval_ms < 100 {
            p.push(Problem::new(key("ring_interval_ms"), "at least 100 ms"));
        }
        let mut codes = HashSet::new();
        for (i, u) in self.ussd.iter().enumerate() {
            u.validate(&format!("{key_prefix}.ussd[{i}]"), &mut p);
            if !codes.insert(u.code.as_str()) {
                p.push(Problem::new(
                    format!("{key_prefix}.ussd[{i}].code"),
                    format!("duplicate USSD code {:?}", u.code),
                ));
            }
        }
        for (name, v) in [
            ("rssi_interval_ms", self.rssi_interval_ms),
            ("boot_interval_ms", self.boot_interval_ms),
        ] {
            if v != 0 && v < 100 {
                p.push(Problem::new(key(name), "0 (off) or at least 100 ms"));
            }
        }
        for (i, m) in self.modem.iter().enumerate() {
            m.validate(&format!("{key_prefix}.modem[{i}]"), &mut p);
        }
        let mut names = HashSet::new();
        let mut imeis = HashSet::new();
        for m in self.resolve_modems() {
            if !names.insert(m.name.clone()) {
                p.push(Problem::new(
                    format!("{key_prefix}.modem[{}].name", m.index),
                    format!("duplicate modem name {:?}", m.name),
                ));
            }
            if !imeis.insert(m.imei.clone()) {
                p.push(Problem::new(
                    format!("{key_prefix}.modem[{}].imei", m.index),
                    format!("duplicate IMEI {}", m.imei),
                ));
            }
        }
        p
    }
}

fn check_mcc_mnc(v: &str, key: &str, p: &mut Vec<Problem>) {
    if !(v.len() == 5 || v.len() == 6) || !v.bytes().all(|b| b.is_ascii_digit()) {
        p.push(Problem::new(key, "must be 5 or 6 digits (MCC then MNC)"));
    }
}

fn check_text(v: &str, key: &str, p: &mut Vec<Problem>) {
    if v.is_empty() || v.len() > 32 || v.bytes().any(|b| b == b'"' || !(0x20..0x7f).contains(&b)) {
        p.push(Problem::new(
            key,
            "must be 1 to 32 printable ASCII characters without '\"'",
        ));
    }
}

impl SimModemConfig {
    fn validate(&self, k: &str, p: &mut Vec<Problem>) {
        let key = |f: &str| format!("{k}.{f}");
        if let Some(n) = &self.name {
            if let Err(e) = ModemId::parse(n) {
                p.push(Problem::new(key("name"), e.to_string()));
            }
        }
        if let Some(v) = &self.imei {
            match Imei::parse(v) {
                Ok(i) if i.luhn_ok() => {}
                Ok(_) => p.push(Problem::new(
                    key("imei"),
                    "must be 15 digits ending in a valid Luhn check digit",
                )),
                Err(e) => p.push(Problem::new(key("imei"), e.to_string())),
            }
        }
        if let Some(v) = &self.imsi {
            if let Err(e) = Imsi::parse(v) {
                p.push(Problem::new(key("imsi"), e.to_string()));
            }
        }
        if let Some(v) = &self.iccid {
            if let Err(e) = Iccid::parse(v) {
                p.push(Problem::new(key("iccid"), e.to_string()));
            }
        }
        if let Some(v) = &self.number {
            if let Err(e) = DialNumber::parse(v) {
                p.push(Problem::new(key("number"), e.to_string()));
            }
        }
        if let Some(v) = &self.mcc_mnc {
            check_mcc_mnc(v, &key("mcc_mnc"), p);
        }
        for (f, v) in [
            ("operator", &self.operator),
            ("model", &self.model),
            ("firmware", &self.firmware),
        ] {
            if let Some(v) = v {
                check_text(v, &key(f), p);
            }
        }
        if let Some(r) = self.rssi {
            if r > 31 && r != 99 {
                p.push(Problem::new(key("rssi"), "must be 0..=31 or 99"));
            }
        }
        if let Some(t) = self.tone_hz {
            if !(100..=3500).contains(&t) {
                p.push(Problem::new(key("tone_hz"), "must be 100..=3500 Hz"));
            }
        }
    }
}

#[cfg(test)]
mod tests;
