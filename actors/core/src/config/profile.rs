//! Modem profiles (`modem-profiles/<name>.toml`): what differs between E173, E1550, E171,
//! E1752 and unknown devices: USB ids, init sequence, voice format, timeouts, quirks.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{load, Problem, Problems};
use crate::at::command::Command;
use crate::at::session::{InitStep, SessionConfig, Timeouts};

/// A modem profile.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModemProfile {
    /// Profile name; must match the file name.
    pub name: String,
    /// What devices it is for.
    pub description: String,
    /// `AT+CGMM` answers this profile fits (informational, shown by the API).
    #[serde(default)]
    pub models: Vec<String>,
    /// USB identities and which interface is the AT (PCUI) port and which the voice port.
    #[serde(default)]
    pub usb: Vec<UsbId>,
    /// Init sequence, in order: a command, or `{ cmd = "...", optional = true }` for a
    /// step whose `ERROR` must not stop init.
    pub init: Vec<InitStepSpec>,
    /// Voice settings.
    #[serde(default)]
    pub voice: VoiceSpec,
    /// Timeouts, in milliseconds.
    #[serde(default)]
    pub timeouts: TimeoutsSpec,
    /// Polling periods, in milliseconds.
    #[serde(default)]
    pub polling: PollingSpec,
    /// Refuse incoming GSM calls with `AT+CHUP` (the gateway only places calls).
    #[serde(default = "yes")]
    pub reject_incoming: bool,
    /// Read stored SMS and status reports.
    #[serde(default = "yes")]
    pub sms: bool,
    /// How `AT+CUSD` requests are encoded (DIALECT.md §4: Huawei sticks want packed GSM
    /// 7-bit hex; other models UCS-2 hex).
    #[serde(default)]
    pub ussd_encoding: UssdEncodingSpec,
    /// The number format this modem dials (`[dial]`: `format`, `national_prefix`).
    #[serde(default)]
    pub dial: super::dial::DialSpec,
}

fn yes() -> bool {
    true
}

/// `ussd_encoding` in a profile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UssdEncodingSpec {
    /// Packed GSM 7-bit as hex, DCS 15.
    #[default]
    Gsm7,
    /// UCS-2 as hex, DCS 72.
    Ucs2,
}

impl From<UssdEncodingSpec> for crate::sms::ussd::UssdEncoding {
    fn from(s: UssdEncodingSpec) -> Self {
        match s {
            UssdEncodingSpec::Gsm7 => Self::Gsm7Hex,
            UssdEncodingSpec::Ucs2 => Self::Ucs2Hex,
        }
    }
}

/// One USB identity.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UsbId {
    /// Vendor id, 4 hex digits (`12d1` = Huawei).
    pub vid: String,
    /// Product id, 4 hex digits.
    pub pid: String,
    /// USB interface number of the AT (PCUI) port.
    pub data: u8,
    /// USB interface number of the voice (audio) port.
    pub voice: u8,
}

/// An init step as written in a profile.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum InitStepSpec {
    /// A mandatory command.
    Plain(String),
    /// A command with options.
    Full {
        /// The command.
        cmd: String,
        /// An `ERROR` does not stop init.
        #[serde(default)]
        optional: bool,
    },
}

impl InitStepSpec {
    fn cmd(&self) -> &str {
        match self {
            Self::Plain(c) | Self::Full { cmd: c, .. } => c,
        }
    }

    fn optional(&self) -> bool {
        matches!(self, Self::Full { optional: true, .. })
    }
}

/// Voice over the USB audio port.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct VoiceSpec {
    /// Send `AT^DDSETEX=2` after `ATD` OK (needed on Huawei for PCM to flow).
    pub audio_command: bool,
    /// Sample rate in Hz (8000 on every known device).
    pub sample_rate: u32,
    /// Frame period in milliseconds (20).
    pub frame_ms: u32,
}

impl Default for VoiceSpec {
    fn default() -> Self {
        Self {
            audio_command: true,
            sample_rate: 8000,
            frame_ms: 20,
        }
    }
}

impl VoiceSpec {
    /// Bytes in one frame of 16-bit mono PCM.
    pub fn frame_bytes(&self) -> usize {
        (self.sample_rate as usize * self.frame_ms as usize / 1000) * 2
    }
}

/// Timeouts in milliseconds; see [`Timeouts`] for what each one bounds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutsSpec {
    /// `AT` ping.
    pub ping_ms: u64,
    /// Most commands.
    pub command_ms: u64,
    /// `ATD` until `OK`: past it the modem counts as wedged and the call moves on.
    pub dial_ack_ms: u64,
    /// `ATA`, `AT+CHUP`.
    pub call_command_ms: u64,
    /// USSD, SMS, reboot.
    pub long_command_ms: u64,
    /// `ATD` OK until `^ORIG`.
    pub orig_ms: u64,
    /// `^ORIG` until `^CONF`.
    pub alerting_ms: u64,
    /// Alerting until `^CONN` (the gateway's no-answer timer).
    pub answer_ms: u64,
    /// `AT+CHUP` until `^CEND`.
    pub hangup_ms: u64,
    /// Silence before an `AT` ping.
    pub silence_ping_ms: u64,
}

impl Default for TimeoutsSpec {
    fn default() -> Self {
        let t = Timeouts::default();
        let ms = |d: Duration| d.as_millis() as u64;
        Self {
            ping_ms: ms(t.ping),
            command_ms: ms(t.command),
            dial_ack_ms: ms(t.dial_ack),
            call_command_ms: ms(t.call_command),
            long_command_ms: ms(t.long_command),
            orig_ms: ms(t.orig),
            alerting_ms: ms(t.alerting),
            answer_ms: ms(t.answer),
            hangup_ms: ms(t.hangup),
            silence_ping_ms: ms(t.silence_ping),
        }
    }
}

/// Polling periods in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PollingSpec {
    /// Health poll (`AT+CSQ`, `AT+CREG?`, `AT+COPS?`).
    pub health_ms: u64,
    /// `AT+CLCC` while a call is up.
    pub call_ms: u64,
}

impl Default for PollingSpec {
    fn default() -> Self {
        Self {
            health_ms: 30_000,
            call_ms: 5_000,
        }
    }
}

impl ModemProfile {
    /// Parses a profile file's text; `name` is the file stem.
    pub fn parse(text: &str, name: &str) -> Result<Self, Problems> {
        let key = |k: &str| format!("profile {name}: {k}");
        let root: toml::Value = match toml::from_str::<toml::Table>(text) {
            Ok(t) => toml::Value::Table(t),
            Err(e) => {
                return Err(Problems(vec![Problem::new(
                    key("(file)"),
                    format!("not valid TOML: {}", e.message()),
                )]))
            }
        };
        let mut problems = Vec::new();
        let profile: Option<Self> = load::deserialize_collecting(root, &mut problems);
        if let Some(p) = &profile {
            if p.name != name {
                problems.push(Problem::new(
                    "name",
                    format!("is {:?} but the file is {name}.toml", p.name),
                ));
            }
            problems.extend(p.validate());
        }
        for p in &mut problems {
            p.key = key(&p.key);
        }
        match profile {
            Some(p) if problems.is_empty() => Ok(p),
            _ => Err(Problems(problems)),
        }
    }

    /// Checks what serde cannot: a usable init sequence, sane timeouts and voice format.
    pub fn validate(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        if self.init.is_empty() {
            p.push(Problem::new("init", "must not be empty"));
        }
        for (i, step) in self.init.iter().enumerate() {
            let c = step.cmd();
            if !c.get(..2).is_some_and(|h| h.eq_ignore_ascii_case("AT")) {
                p.push(Problem::new(
                    format!("init[{i}]"),
                    format!("{c:?} does not start with AT"),
                ));
            }
            if c.bytes().any(|b| b.is_ascii_control()) || c.len() > 200 {
                p.push(Problem::new(
                    format!("init[{i}]"),
                    "control characters or over 200 bytes",
                ));
            }
        }
        if !self
            .init
            .iter()
            .any(|s| Command::parse(s.cmd()) == Command::Imei)
        {
            p.push(Problem::new(
                "init",
                "must contain AT+CGSN: modems are identified by IMEI",
            ));
        }
        let t = &self.timeouts;
        for (k, v) in [
            ("timeouts.ping_ms", t.ping_ms),
            ("timeouts.command_ms", t.command_ms),
            ("timeouts.dial_ack_ms", t.dial_ack_ms),
            ("timeouts.call_command_ms", t.call_command_ms),
            ("timeouts.long_command_ms", t.long_command_ms),
            ("timeouts.orig_ms", t.orig_ms),
            ("timeouts.alerting_ms", t.alerting_ms),
            ("timeouts.answer_ms", t.answer_ms),
            ("timeouts.hangup_ms", t.hangup_ms),
            ("timeouts.silence_ping_ms", t.silence_ping_ms),
            ("polling.health_ms", self.polling.health_ms),
            ("polling.call_ms", self.polling.call_ms),
        ] {
            if v == 0 || v > 3_600_000 {
                p.push(Problem::new(k, "must be between 1 and 3600000"));
            }
        }
        if t.ping_ms > t.command_ms {
            p.push(Problem::new(
                "timeouts.ping_ms",
                "must not exceed timeouts.command_ms",
            ));
        }
        if ![8000, 16000].contains(&self.voice.sample_rate) {
            p.push(Problem::new("voice.sample_rate", "must be 8000 or 16000"));
        }
        if !(10..=60).contains(&self.voice.frame_ms) {
            p.push(Problem::new("voice.frame_ms", "must be between 10 and 60"));
        }
        for (i, u) in self.usb.iter().enumerate() {
            for (k, v) in [("vid", &u.vid), ("pid", &u.pid)] {
                if v.len() != 4 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
                    p.push(Problem::new(
                        format!("usb[{i}].{k}"),
                        "must be 4 hex digits",
                    ));
                }
            }
            if u.data == u.voice {
                p.push(Problem::new(
                    format!("usb[{i}]"),
                    "data and voice interfaces must differ",
                ));
            }
        }
        p
    }

    /// The session settings this profile describes.
    pub fn session_config(&self) -> SessionConfig {
        let t = &self.timeouts;
        let ms = Duration::from_millis;
        SessionConfig {
            init: self
                .init
                .iter()
                .map(|s| InitStep {
                    command: Command::parse(s.cmd()),
                    optional: s.optional(),
                })
                .collect(),
            timeouts: Timeouts {
                ping: ms(t.ping_ms),
                command: ms(t.command_ms),
                dial_ack: ms(t.dial_ack_ms),
                call_command: ms(t.call_command_ms),
                long_command: ms(t.long_command_ms),
                orig: ms(t.orig_ms),
                alerting: ms(t.alerting_ms),
                answer: ms(t.answer_ms),
                hangup: ms(t.hangup_ms),
                silence_ping: ms(t.silence_ping_ms),
            },
            poll_interval: ms(self.polling.health_ms),
            call_poll_interval: ms(self.polling.call_ms),
            audio_command: self.voice.audio_command,
            reject_incoming: self.reject_incoming,
            sms: self.sms,
        }
    }

    /// Finds the USB entry for a VID:PID (lower-case hex).
    pub fn usb_match(&self, vid: &str, pid: &str) -> Option<&UsbId> {
        self.usb
            .iter()
            .find(|u| u.vid.eq_ignore_ascii_case(vid) && u.pid.eq_ignore_ascii_case(pid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        name = "x"
        description = "test"
        init = ["AT", "ATE0", "AT+CGSN", { cmd = "AT+CNUM", optional = true }]
    "#;

    /// The shipped profiles parse, validate, and e173.toml says what the built-in default says.
    #[test]
    fn shipped_profiles_are_valid() {
        let files = [
            ("e173", include_str!("../../../../modem-profiles/e173.toml")),
            (
                "e1550",
                include_str!("../../../../modem-profiles/e1550.toml"),
            ),
            ("e171", include_str!("../../../../modem-profiles/e171.toml")),
            (
                "e1752",
                include_str!("../../../../modem-profiles/e1752.toml"),
            ),
            (
                "generic",
                include_str!("../../../../modem-profiles/generic.toml"),
            ),
        ];
        for (name, text) in files {
            let p = ModemProfile::parse(text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!p.usb.is_empty(), "{name}");
        }
        let e173 = ModemProfile::parse(files[0].1, "e173").unwrap();
        assert_eq!(e173.session_config(), SessionConfig::e173_default());
        assert_eq!(
            e173.usb_match("12D1", "140C").map(|u| (u.data, u.voice)),
            Some((3, 2))
        );
    }

    #[test]
    fn minimal_profile_uses_defaults() {
        let p = ModemProfile::parse(MINIMAL, "x").unwrap();
        let s = p.session_config();
        assert_eq!(s.init.len(), 4);
        assert!(s.init[3].optional);
        assert_eq!(s.init[2].command, Command::Imei);
        assert_eq!(s.timeouts, Timeouts::default());
        assert_eq!(p.voice.frame_bytes(), 320);
    }

    #[test]
    fn problems_name_profile_and_key() {
        let text = r#"
            name = "y"
            description = "bad"
            init = ["AT", "XYZ"]
            bogus = true
            [timeouts]
            ping_ms = 9000
            [voice]
            sample_rate = 44100
            [[usb]]
            vid = "12d1"
            pid = "zz"
            data = 1
            voice = 1
        "#;
        let err = ModemProfile::parse(text, "x").unwrap_err();
        let keys: Vec<&str> = err.0.iter().map(|p| p.key.as_str()).collect();
        for want in [
            "profile x: bogus",
            "profile x: name",
            "profile x: init[1]",
            "profile x: init",
            "profile x: timeouts.ping_ms",
            "profile x: voice.sample_rate",
            "profile x: usb[0].pid",
            "profile x: usb[0]",
        ] {
            assert!(keys.contains(&want), "missing {want:?} in {keys:?}");
        }
    }
}
