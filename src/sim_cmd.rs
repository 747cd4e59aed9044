//! `e173gw sim`: run the pty modem simulator on its own, or talk to a running one.
//!
//! - `e173gw sim --dir DIR [--count N] [--scenario FILE] [--config FILE]` starts the
//!   modems, prints their paths, and runs until SIGINT/SIGTERM.
//! - `e173gw sim ctl --dir DIR <command words...>` sends one control command (`status`,
//!   `unplug modem0`, `signal modem1 0`, ...) and prints the JSON reply; it fails when the
//!   reply says `"ok": false`.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context as _};
use e173gw_actors::sim;
use e173gw_core::config::sim::SimConfig;
use e173gw_core::config::LogConfig;

/// Arguments of `e173gw sim`.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SimArgs {
    /// `ctl`: send a command to a running simulator.
    #[command(subcommand)]
    pub command: Option<SimCommand>,
    /// Options for running the simulator.
    #[command(flatten)]
    pub run: SimRunArgs,
}

/// Subcommands of `e173gw sim`.
#[derive(clap::Subcommand, Debug)]
pub enum SimCommand {
    /// Send one control command to a running simulator and print its JSON reply.
    Ctl(SimCtlArgs),
}

/// Options of `e173gw sim` (running the simulator).
#[derive(clap::Args, Debug)]
pub struct SimRunArgs {
    /// Directory of the links `<name>.at`/`<name>.audio` and of `control.sock`
    /// (default: `sim.dir` of `--config`, else /tmp/e173gw-sim).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Number of modems (default: `sim.count` of `--config`, else 2).
    #[arg(long)]
    pub count: Option<usize>,
    /// Scenario file with call rules and faulty modems.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Gateway config file whose `[sim]` (and `[log]`) sections to use.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
}

/// Options of `e173gw sim ctl`.
#[derive(clap::Args, Debug)]
pub struct SimCtlArgs {
    /// Directory of the running simulator.
    #[arg(long)]
    pub dir: PathBuf,
    /// The command, e.g. `status`, `unplug modem0`, `replug modem0 as modem9`.
    #[arg(required = true, trailing_var_arg = true)]
    pub words: Vec<String>,
}

/// Runs `e173gw sim` in its own actix `System`.
pub fn run(args: SimArgs) -> anyhow::Result<()> {
    match args.command {
        Some(SimCommand::Ctl(ctl)) => run_ctl(&ctl),
        None => run_sim(args.run),
    }
}

/// The `[sim]` and `[log]` sections of a gateway config file, and its directory.
fn read_config(path: &Path) -> anyhow::Result<(SimConfig, LogConfig, PathBuf)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut root: toml::Table =
        toml::from_str(&text).with_context(|| format!("cannot parse {}", path.display()))?;
    let sim_cfg = match root.remove("sim") {
        Some(v) => v
            .try_into::<SimConfig>()
            .with_context(|| format!("{}: bad [sim] section", path.display()))?,
        None => SimConfig::default(),
    };
    let log = match root.remove("log") {
        Some(v) => v
            .try_into::<LogConfig>()
            .with_context(|| format!("{}: bad [log] section", path.display()))?,
        None => LogConfig::default(),
    };
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok((sim_cfg, log, base))
}

fn absolute(p: PathBuf) -> anyhow::Result<PathBuf> {
    if p.is_absolute() {
        Ok(p)
    } else {
        Ok(std::env::current_dir()
            .context("no current directory")?
            .join(p))
    }
}

fn run_sim(a: SimRunArgs) -> anyhow::Result<()> {
    let (mut cfg, log, base) = match &a.config {
        Some(path) => read_config(path)?,
        None => (
            SimConfig::default(),
            LogConfig::default(),
            PathBuf::from("."),
        ),
    };
    if let Some(d) = a.dir {
        cfg.dir = absolute(d)?;
    }
    if let Some(n) = a.count {
        cfg.count = n;
    }
    if let Some(s) = a.scenario {
        cfg.scenario = Some(absolute(s)?);
    }
    let _log = crate::logging::init(&log);
    actix::System::new().block_on(async move {
        let handle = sim::start(&cfg, &base).await?;
        print_modems(&handle);
        wait_for_signal().await?;
        handle.stop().await;
        Ok(())
    })
}

#[allow(clippy::print_stdout)]
fn print_modems(handle: &sim::SimHandle) {
    println!("control: {}", handle.dir().join("control.sock").display());
    for m in handle.modems() {
        println!(
            "{} at={} audio={} imei={} imsi={} number={} tone_hz={}",
            m.name,
            m.at.display(),
            m.audio.display(),
            m.imei,
            m.imsi,
            m.number,
            m.tone_hz
        );
    }
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    tokio::select! {
        _ = term.recv() => tracing::info!(signal = "SIGTERM", "Stopping the simulator."),
        _ = int.recv() => tracing::info!(signal = "SIGINT", "Stopping the simulator."),
    }
    Ok(())
}

fn run_ctl(a: &SimCtlArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start a runtime")?;
    let line = a.words.join(" ");
    let reply = rt.block_on(sim::control(&a.dir, &line))?;
    #[allow(clippy::print_stdout)]
    {
        println!(
            "{}",
            serde_json::to_string_pretty(&reply).unwrap_or_else(|_| reply.to_string())
        );
    }
    if reply.get("ok").and_then(serde_json::Value::as_bool) == Some(true) {
        Ok(())
    } else {
        let why = reply
            .get("error")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("command failed");
        Err(anyhow!("{line}: {why}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        sim: SimArgs,
    }

    #[test]
    fn parses_run_and_ctl_forms() {
        let c = Cli::try_parse_from([
            "x",
            "--dir",
            "/tmp/s",
            "--count",
            "4",
            "--scenario",
            "a.toml",
        ])
        .expect("run form");
        assert!(c.sim.command.is_none());
        assert_eq!(c.sim.run.count, Some(4));
        assert_eq!(c.sim.run.dir.as_deref(), Some(Path::new("/tmp/s")));
        let c = Cli::try_parse_from([
            "x", "ctl", "--dir", "/tmp/s", "replug", "modem0", "as", "m9",
        ])
        .expect("ctl form");
        match c.sim.command {
            Some(SimCommand::Ctl(ctl)) => assert_eq!(ctl.words.join(" "), "replug modem0 as m9"),
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["x", "ctl", "--dir", "/tmp/s"]).is_err());
    }

    #[test]
    fn reads_the_sim_section_of_a_gateway_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("gw.toml");
        std::fs::write(&path, "[log]\nlevel = \"debug\"\n[sim]\nenabled = true\ncount = 3\ndir = \"simdir\"\n[modems]\n")
            .expect("write");
        let (cfg, log, base) = read_config(&path).expect("reads");
        assert_eq!(
            (cfg.count, cfg.dir.as_path(), log.level.as_str()),
            (3, Path::new("simdir"), "debug")
        );
        assert_eq!(base, dir.path());
        std::fs::write(&path, "[sim]\ncuont = 3\n").expect("write");
        assert!(read_config(&path).is_err());
    }
}
