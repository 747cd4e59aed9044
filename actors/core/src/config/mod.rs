//! Configuration: serde-typed, strict (`deny_unknown_fields`), with documented defaults.
//!
//! Loading is three steps, all pure:
//! 1. parse TOML into a value tree ([`load::parse_layers`]);
//! 2. apply environment overrides `E173GW_<SECTION>__<KEY>` ([`env`]);
//! 3. deserialize and [`validate`](Config::validate): every problem is collected with the
//!    key it concerns, so `check-config` prints them all at once.
//!
//! Modem profiles (`modem-profiles/*.toml`) are in [`profile`].

pub mod env;
pub mod load;
pub mod profile;
pub mod sim;

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
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        Self {
            backoff_min_ms: 1000,
            backoff_max_ms: 60_000,
        }
    }
}
