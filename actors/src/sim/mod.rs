//! The pty modem simulator (`e173gw sim`): N simulated Huawei E173s on pty pairs.
//!
//! Each modem is an AT port and an audio port, reachable at stable links
//! `DIR/<name>.at` and `DIR/<name>.audio` (symlinks to `/dev/pts/N`, replaced atomically).
//! The gateway opens them with `tokio-serial` like real devices. The modems speak the E173
//! dialect of DIALECT.md: init answers, the outgoing call URC sequence, PCM audio paced at
//! 20 ms, the periodic health URCs, SMS in PDU mode, USSD, and the failure modes, incoming
//! calls and messages injected over `DIR/control.sock`.
//!
//! # Layout
//!
//! - `device`: the pure device model: host bytes and time in, device bytes, call events
//!   and the next deadline out. All AT behaviour lives there, with table-driven tests.
//! - `tone`: the identifying sine tone and the Goertzel measurement of host audio.
//! - `pty`: pty pairs (raw slave kept open, non-blocking master) and atomic links.
//! - `modem`: the actor of one modem: pty IO around the device.
//! - `control`: the control socket, its command parser, and the client [`control()`].
//!
//! Public API: [`start`] → [`SimHandle`] (`dir`, `modems`, `stop`), [`control()`] and
//! [`SimError`]. Configuration is [`SimConfig`] (`[sim]`) plus an optional scenario file
//! ([`e173gw_core::config::sim::Scenario`]).

mod control;
mod device;
mod modem;
mod pty;
mod tone;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use actix::prelude::*;
use e173gw_core::config::sim::{Scenario, SimConfig, SimPresence};
use e173gw_core::config::{Problem, Problems};
use serde::Serialize;

pub use control::control;
use control::{Controller, Shutdown};
use device::{Device, Timing};
use modem::{open_ports, SimModem};

/// A simulator failure.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The `[sim]` section or the scenario file is invalid.
    #[error(transparent)]
    Invalid(#[from] Problems),
    /// The scenario file cannot be read.
    #[error("cannot read scenario {path}: {source}")]
    ReadScenario {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The scenario file is not valid TOML for a scenario.
    #[error("cannot parse scenario {path}: {message}")]
    ParseScenario {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The simulator directory cannot be created.
    #[error("cannot create directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A pty pair cannot be opened.
    #[error("cannot open a pty ({what}): {source}")]
    Pty {
        /// The failing step.
        what: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// A link cannot be created.
    #[error("cannot link {link}: {source}")]
    Link {
        /// The link.
        link: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The control socket cannot be bound or reached.
    #[error("control socket {path}: {source}")]
    Control {
        /// The socket.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The control socket answered something that is not a JSON line.
    #[error("bad control reply: {0}")]
    BadReply(String),
    /// `start` was called outside a running actix `System`.
    #[error("the simulator needs a running actix System")]
    NoSystem,
}

/// Paths and identity of one simulated modem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimModemInfo {
    /// Modem name (changes with `replug <m> as <new>`).
    pub name: String,
    /// The AT port link, `DIR/<name>.at`.
    pub at: PathBuf,
    /// The audio port link, `DIR/<name>.audio`.
    pub audio: PathBuf,
    /// IMEI.
    pub imei: String,
    /// IMSI of the SIM (changes with a SIM swap).
    pub imsi: String,
    /// ICCID of the SIM at start.
    pub iccid: String,
    /// Own number.
    pub number: String,
    /// Frequency of the tone this modem sends, in Hz.
    pub tone_hz: u32,
}

/// A running simulator.
#[derive(Debug)]
pub struct SimHandle {
    dir: PathBuf,
    controller: Addr<Controller>,
    infos: Arc<Mutex<Vec<SimModemInfo>>>,
    server_task: tokio::task::JoinHandle<()>,
}

impl SimHandle {
    /// The directory of the links and the control socket.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The modems, in order.
    pub fn modems(&self) -> Vec<SimModemInfo> {
        self.infos
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Stops every modem (links removed, ptys closed) and the control socket.
    pub async fn stop(self) {
        self.server_task.abort();
        // An already stopped controller has nothing left to do.
        let _ = self.controller.send(Shutdown).await;
        pty::remove_link(&self.dir.join("control.sock"));
        tracing::info!(dir = %self.dir.display(), "Modem simulator stopped.");
    }
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Reads and validates a scenario file against the modem names.
fn load_scenario(path: &Path, names: &[String]) -> Result<Scenario, SimError> {
    let text = std::fs::read_to_string(path).map_err(|source| SimError::ReadScenario {
        path: path.to_path_buf(),
        source,
    })?;
    let sc: Scenario = toml::from_str(&text).map_err(|e| SimError::ParseScenario {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let problems = sc.validate("scenario.", names);
    if problems.is_empty() {
        Ok(sc)
    } else {
        Err(Problems(problems).into())
    }
}

/// Starts the simulator described by `cfg` (its `enabled` flag is not looked at).
///
/// Must run inside an actix `System`. Creates `cfg.dir` if missing; relative paths in
/// `cfg` resolve against `scenario_base` (the config file's directory).
pub async fn start(cfg: &SimConfig, scenario_base: &Path) -> Result<SimHandle, SimError> {
    let problems: Vec<Problem> = cfg.validate("sim");
    if !problems.is_empty() {
        return Err(Problems(problems).into());
    }
    if System::try_current().is_none() {
        return Err(SimError::NoSystem);
    }
    let dir = resolve(scenario_base, &cfg.dir);
    std::fs::create_dir_all(&dir).map_err(|source| SimError::CreateDir {
        path: dir.clone(),
        source,
    })?;
    let modems = cfg.resolve_modems();
    let names: Vec<String> = modems.iter().map(|m| m.name.clone()).collect();
    let scenario = match &cfg.scenario {
        Some(p) => load_scenario(&resolve(scenario_base, p), &names)?,
        None => Scenario::default(),
    };
    let timing = Timing::from(cfg);
    let mut addrs: Vec<(String, Addr<SimModem>)> = Vec::new();
    let mut infos = Vec::new();
    for id in modems {
        let rules = scenario
            .rule
            .iter()
            .filter(|r| r.modems.is_empty() || r.modems.contains(&id.name))
            .cloned()
            .map(|mut r| {
                r.modems.clear();
                r
            })
            .collect();
        let mut dev = Device::new(id.clone(), timing, rules, 0).with_ussd(cfg.ussd.clone());
        for s in scenario.modem.iter().filter(|s| s.name == id.name) {
            if let Some(f) = s.sms_fail {
                dev.set_sms_fail(f);
            }
            if let Some(b) = &s.balance {
                dev.set_balance(b);
            }
            if let Some(v) = s.voice {
                dev.set_voice(v);
            }
            if let Some(p) = s.sim {
                dev.set_sim_present(p == SimPresence::Present);
            }
            if let Some(r) = s.rssi {
                dev.set_rssi(0, r);
                dev.take_output();
            }
            if let Some(f) = s.frozen {
                dev.set_frozen(f);
            }
        }
        let ports = match open_ports(&dir, &id.name) {
            Ok(p) => p,
            Err(e) => {
                for (_, a) in &addrs {
                    a.do_send(modem::ModemOp::Stop);
                }
                return Err(e);
            }
        };
        infos.push(SimModemInfo {
            name: id.name.clone(),
            at: dir.join(format!("{}.at", id.name)),
            audio: dir.join(format!("{}.audio", id.name)),
            imei: id.imei.clone(),
            imsi: id.imsi.clone(),
            iccid: id.iccid.clone(),
            number: id.number.clone(),
            tone_hz: id.tone_hz,
        });
        addrs.push((id.name.clone(), SimModem::new(&dir, dev, ports).start()));
    }
    let sock = dir.join("control.sock");
    pty::remove_link(&sock);
    let listener = match tokio::net::UnixListener::bind(&sock) {
        Ok(l) => l,
        Err(source) => {
            for (_, a) in &addrs {
                a.do_send(modem::ModemOp::Stop);
            }
            return Err(SimError::Control { path: sock, source });
        }
    };
    let infos = Arc::new(Mutex::new(infos));
    let controller = Controller::new(addrs, Arc::clone(&infos)).start();
    let server_task = actix::spawn(control::serve(listener, controller.clone()));
    tracing::info!(dir = %dir.display(), modems = names.len(), "Modem simulator started.");
    Ok(SimHandle {
        dir,
        controller,
        infos,
        server_task,
    })
}
