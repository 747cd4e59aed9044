//! Configuration: serde-typed, strict (`deny_unknown_fields`), with documented defaults.
//!
//! Loading is three steps, all pure:
//! 1. parse TOML into a value tree ([`load::parse_layers`]);
//! 2. apply environment overrides `E173GW_<SECTION>__<KEY>` ([`env`]);
//! 3. deserialize and [`validate`](Config::validate): every problem is collected with the
//!    key it concerns, so `check-config` prints them all at once.
//!
//! Modem profiles (`modem-profiles/*.toml`) are in [`profile`].

pub mod dial;
pub mod env;
pub mod filter;
pub mod http;
pub mod inbound;
pub mod load;
pub mod lookup;
pub mod peer;
pub mod profile;
pub mod routing;
pub mod sim;
pub mod sip;
pub mod sms;
pub mod storage;

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::domain::{Imei, ModemId};

/// One problem found in a configuration, named by its key (`modems.device[2].imei`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Dotted key path.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A problem at `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Every problem of a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} configuration problem(s):\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
pub struct Problems(pub Vec<Problem>);

/// The whole gateway configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Logging.
    pub log: LogConfig,
    /// Modems of this host.
    pub modems: ModemsConfig,
    /// Recovery of misbehaving modems.
    pub recovery: RecoveryConfig,
    /// The in-process modem simulator (demo, dry runs). Off unless `sim.enabled = true`.
    pub sim: sim::SimConfig,
    /// SIP listeners, timers and limits.
    pub sip: sip::SipConfig,
    /// Carrier trunks allowed to send calls (`[[trunk]]`).
    pub trunk: Vec<sip::TrunkConfig>,
    /// The AI voice agent.
    pub agent: sip::AgentConfig,
    /// RTP for modem calls.
    pub media: sip::MediaConfig,
    /// Where call records go.
    pub records: sip::RecordsConfig,
    /// Routing: sticky routes, affinity, balancing, limits, SIM protection (reloads on
    /// change).
    pub routing: routing::RoutingConfig,
    /// Screening (reloads on change).
    pub filter: filter::FilterConfig,
    /// Durable state.
    pub storage: storage::StorageConfig,
    /// The operations HTTP server.
    pub http: http::HttpConfig,
    /// Peer nodes (`[[peer]]`) whose SIMs calls may be routed to.
    pub peer: Vec<peer::PeerConfig>,
    /// SMS sending and the delivery of received SMS.
    pub sms: sms::SmsConfig,
    /// USSD: balance checks and recharge.
    pub ussd: sms::UssdConfig,
    /// GSM calls that arrive on the SIMs.
    pub inbound: inbound::InboundConfig,
}

/// Log output.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `human` (default) or `json`.
    pub format: LogFormat,
    /// A tracing filter directive, e.g. `info` or `info,e173gw_actors::modem=debug`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            level: "info".into(),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// Modems of this host.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModemsConfig {
    /// Directory of modem profiles (`<name>.toml`). Relative paths are taken from the
    /// config file's directory.
    pub profiles_dir: PathBuf,
    /// Profile for devices that name none.
    pub default_profile: String,
    /// Finding devices by scanning, and binding them by IMEI.
    pub discovery: DiscoveryConfig,
    /// Devices named in config.
    pub device: Vec<DeviceConfig>,
}

impl Default for ModemsConfig {
    fn default() -> Self {
        Self {
            profiles_dir: PathBuf::from("../modem-profiles"),
            default_profile: "e173".into(),
            discovery: DiscoveryConfig::default(),
            device: Vec::new(),
        }
    }
}

/// How devices are found.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscoveryConfig {
    /// `off`: only devices with explicit ports. `glob`: AT ports matching `at_glob`, each
    /// paired with the audio port named by replacing `at_suffix` with `audio_suffix`.
    /// `sysfs`: USB serial devices found under `/sys/bus/usb/devices`, by the VID:PID and
    /// interface table of the profiles.
    pub mode: DiscoveryMode,
    /// Glob of AT ports (`glob` mode), e.g. `/dev/e173/*.at`.
    pub at_glob: String,
    /// Suffix of AT port names (`glob` mode).
    pub at_suffix: String,
    /// Suffix of audio port names (`glob` mode).
    pub audio_suffix: String,
    /// Root of sysfs (`sysfs` mode); tests point it at a fixture tree.
    pub sysfs_root: PathBuf,
    /// Directory holding the tty device nodes (`sysfs` mode).
    pub dev_dir: PathBuf,
    /// Rescan period in milliseconds.
    pub scan_interval_ms: u64,
    /// Adopt devices whose IMEI no `[[modems.device]]` names, as `modem-<IMEI>`.
    pub adopt_unknown: bool,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        Self {
            mode: DiscoveryMode::Off,
            at_glob: String::new(),
            at_suffix: ".at".into(),
            audio_suffix: ".audio".into(),
            sysfs_root: PathBuf::from("/sys/bus/usb/devices"),
            dev_dir: PathBuf::from("/dev"),
            scan_interval_ms: 5000,
            adopt_unknown: true,
        }
    }
}

/// Discovery mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscoveryMode {
    /// Explicit ports only.
    Off,
    /// Glob over AT port paths.
    Glob,
    /// USB scan in sysfs.
    Sysfs,
}

/// One modem named in config.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceConfig {
    /// Name in logs, metrics and the API.
    pub id: ModemId,
    /// Bind to the device with this IMEI wherever discovery finds it.
    #[serde(default)]
    pub imei: Option<Imei>,
    /// Explicit AT (PCUI) port. With `imei` set too, the IMEI is checked after opening.
    #[serde(default)]
    pub at_port: Option<PathBuf>,
    /// Explicit audio port.
    #[serde(default)]
    pub audio_port: Option<PathBuf>,
    /// Profile name (default: `modems.default_profile`).
    #[serde(default)]
    pub profile: Option<String>,
    /// `false` keeps the device configured but unused.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// Recovery ladder settings.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecoveryConfig {
    /// First retry delay after a device is marked gone, in milliseconds.
    pub backoff_min_ms: u64,
    /// Longest retry delay, in milliseconds.
    pub backoff_max_ms: u64,
    /// Resets within `quarantine_window_s` that take a modem out of routing (0: never).
    pub quarantine_after: u32,
    /// The window, seconds.
    pub quarantine_window_s: u64,
    /// How long a quarantined modem stays out, seconds.
    pub quarantine_s: u64,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        Self {
            backoff_min_ms: 1000,
            backoff_max_ms: 60_000,
            quarantine_after: 3,
            quarantine_window_s: 600,
            quarantine_s: 300,
        }
    }
}

impl RecoveryConfig {
    /// The quarantine rule.
    pub fn quarantine(&self) -> crate::at::quarantine::QuarantineRule {
        crate::at::quarantine::QuarantineRule {
            after: self.quarantine_after,
            window: std::time::Duration::from_secs(self.quarantine_window_s),
            hold: std::time::Duration::from_secs(self.quarantine_s),
        }
    }
}

impl Config {
    /// Checks what serde cannot. Pure: profiles and files are checked by the caller.
    pub fn validate(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        if self.log.level.trim().is_empty() {
            p.push(Problem::new("log.level", "must not be empty"));
        }
        let d = &self.modems.discovery;
        if d.mode == DiscoveryMode::Glob && d.at_glob.trim().is_empty() {
            p.push(Problem::new(
                "modems.discovery.at_glob",
                "is required when modems.discovery.mode = \"glob\"",
            ));
        }
        if d.at_suffix.is_empty() || d.audio_suffix.is_empty() || d.at_suffix == d.audio_suffix {
            p.push(Problem::new(
                "modems.discovery.audio_suffix",
                "at_suffix and audio_suffix must be non-empty and differ",
            ));
        }
        if d.mode == DiscoveryMode::Glob
            && !d.at_glob.trim().is_empty()
            && !d.at_glob.ends_with(&d.at_suffix)
        {
            p.push(Problem::new(
                "modems.discovery.at_glob",
                format!("must end with at_suffix {:?}", d.at_suffix),
            ));
        }
        if !(100..=3_600_000).contains(&d.scan_interval_ms) {
            p.push(Problem::new(
                "modems.discovery.scan_interval_ms",
                "must be between 100 and 3600000",
            ));
        }
        if self.modems.default_profile.trim().is_empty() {
            p.push(Problem::new("modems.default_profile", "must not be empty"));
        }
        let mut ids = std::collections::HashSet::new();
        let mut imeis = std::collections::HashSet::new();
        let mut ports = std::collections::HashSet::new();
        for (i, dev) in self.modems.device.iter().enumerate() {
            let key = |k: &str| format!("modems.device[{i}].{k}");
            if !ids.insert(dev.id.clone()) {
                p.push(Problem::new(key("id"), format!("{} is used twice", dev.id)));
            }
            if let Some(imei) = &dev.imei {
                if !imeis.insert(imei.clone()) {
                    p.push(Problem::new(key("imei"), format!("{imei} is bound twice")));
                }
            }
            match (&dev.at_port, &dev.audio_port) {
                (Some(at), Some(audio)) => {
                    if at == audio {
                        p.push(Problem::new(key("audio_port"), "must differ from at_port"));
                    }
                    for port in [at, audio] {
                        if !ports.insert(port.clone()) {
                            p.push(Problem::new(
                                key("at_port"),
                                format!("{} is used by another device", port.display()),
                            ));
                        }
                    }
                }
                (Some(_), None) => {
                    p.push(Problem::new(key("audio_port"), "is required with at_port"))
                }
                (None, Some(_)) => {
                    p.push(Problem::new(key("at_port"), "is required with audio_port"))
                }
                (None, None) => {
                    if dev.imei.is_none() {
                        p.push(Problem::new(
                            key("imei"),
                            "a device needs an imei to bind by, or at_port and audio_port",
                        ));
                    } else if d.mode == DiscoveryMode::Off {
                        p.push(Problem::new(
                            key("imei"),
                            "binding by IMEI needs modems.discovery.mode = \"glob\" or \"sysfs\"",
                        ));
                    }
                }
            }
        }
        if let Err(e) = crate::at::recovery::ExponentialBackoff::try_new(
            std::time::Duration::from_millis(self.recovery.backoff_min_ms),
            std::time::Duration::from_millis(self.recovery.backoff_max_ms),
        ) {
            p.push(Problem::new("recovery.backoff_min_ms", e.to_string()));
        }
        p.extend(self.sim.validate("sim"));
        p.extend(sip::validate(
            &self.sip,
            &self.trunk,
            &self.agent,
            &self.media,
        ));
        p.extend(self.storage.validate());
        p.extend(self.http.validate());
        p.extend(self.sms.validate());
        p.extend(self.ussd.validate());
        p.extend(self.inbound.validate(!self.agent.uri.is_empty()));
        p.extend(self.filter.validate());
        p.extend(self.routing.validate(!self.agent.uri.is_empty()));
        p.extend(peer::validate(&self.peer, &self.sip.node_id));
        p
    }

    /// Profile names the configuration refers to, with the key that names each.
    pub fn profile_refs(&self) -> Vec<(String, String)> {
        let mut refs = vec![(
            "modems.default_profile".to_string(),
            self.modems.default_profile.clone(),
        )];
        for (i, dev) in self.modems.device.iter().enumerate() {
            if let Some(name) = &dev.profile {
                refs.push((format!("modems.device[{i}].profile"), name.clone()));
            }
        }
        refs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, Problems> {
        load::parse(text, "t.toml", &Vec::new()).map(|l| l.config)
    }

    #[test]
    fn device_rules() {
        let cases: &[(&str, Option<&str>)] = &[
            ("[[modems.device]]\nid = \"a\"\nat_port = \"/x.at\"\naudio_port = \"/x.audio\"\n", None),
            ("[[modems.device]]\nid = \"a\"\nat_port = \"/x.at\"\n", Some("modems.device[0].audio_port")),
            ("[[modems.device]]\nid = \"a\"\n", Some("modems.device[0].imei")),
            ("[[modems.device]]\nid = \"a\"\nimei = \"353143041234567\"\n", Some("modems.device[0].imei")),
            ("[modems.discovery]\nmode = \"glob\"\nat_glob = \"/d/*.at\"\n[[modems.device]]\nid = \"a\"\nimei = \"353143041234567\"\n", None),
            ("[modems.discovery]\nmode = \"glob\"\n", Some("modems.discovery.at_glob")),
            ("[[modems.device]]\nid = \"a\"\nimei = \"12\"\n", Some("modems.device[0].imei")),
            ("[recovery]\nbackoff_min_ms = 0\n", Some("recovery.backoff_min_ms")),
        ];
        for (text, want) in cases {
            match (parse(text), want) {
                (Ok(_), None) => {}
                (Err(e), Some(k)) => assert!(e.0.iter().any(|p| p.key == *k), "{text}: {e}"),
                (r, w) => panic!("{text}: got {r:?}, want problem at {w:?}"),
            }
        }
    }

    #[test]
    fn duplicates_are_reported() {
        let text = "[[modems.device]]\nid = \"a\"\nat_port = \"/x.at\"\naudio_port = \"/x.audio\"\n\
                    [[modems.device]]\nid = \"a\"\nat_port = \"/x.at\"\naudio_port = \"/y.audio\"\n";
        let e = parse(text).unwrap_err();
        let keys: Vec<_> = e.0.iter().map(|p| p.key.as_str()).collect();
        assert!(keys.contains(&"modems.device[1].id"), "{keys:?}");
        assert!(keys.contains(&"modems.device[1].at_port"), "{keys:?}");
    }
}
