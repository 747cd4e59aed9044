//! The `e173gw` binary: configuration checking, start-up with simulated modems, shutdown.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

#[test]
fn check_config_accepts_the_shipped_files() {
    for f in [
        "config/default.toml",
        "config/demo.toml",
        "config/production.example.toml",
    ] {
        let out = Command::new(bin())
            .args(["check-config", "--config"])
            .arg(root().join(f))
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains(": ok"), "{f}");
    }
}

#[test]
fn check_config_lists_every_problem_with_its_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = write_config(
        dir.path(),
        r#"
default_profile = "e999"
[modems.discovery]
mode = "glob"
scan_interval_ms = 5
[[modems.device]]
id = "a"
at_port = "/dev/ttyUSB2"
[recovery]
backoff_min_ms = 0
colour = "red"
[sim]
count = 100000
"#,
    );
    let out = Command::new(bin())
        .args(["check-config", "--config"])
        .arg(&cfg)
        .env("E173GW_LOG__FORMAT", "xml")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    for key in [
        "log.format",
        "recovery.colour",
        "modems.discovery.at_glob",
        "modems.discovery.scan_interval_ms",
        "modems.device[0].audio_port",
        "recovery.backoff_min_ms",
        "modems.default_profile",
        "sim.count",
    ] {
        assert!(err.contains(&format!("{key}:")), "missing {key} in:\n{err}");
    }
}

#[test]
fn run_refuses_a_bad_config_before_starting() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = write_config(dir.path(), "[log]\nlevel = \"\"\n");
    let out = Command::new(bin())
        .args(["run", "--config"])
        .arg(&cfg)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("log.level"));
}

#[test]
fn demo_style_run_brings_up_simulated_modems_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tmp");
    let sim_dir = dir.path().join("sim");
    let cfg = write_config(
        dir.path(),
        &format!(
            r#"
[modems.discovery]
mode = "glob"
at_glob = "{sim}/*.at"
scan_interval_ms = 300
[sim]
enabled = true
dir = "{sim}"
count = 3
orig_ms = 50
conf_ms = 100
"#,
            sim = sim_dir.display()
        ),
    );
    let mut gw = Running::start(
        &["run", "--config", cfg.to_str().expect("utf8")],
        &[("E173GW_SIM__COUNT", "2")],
    );
    gw.wait_for("sim.count", 1, Duration::from_secs(10));
    gw.wait_for("Modem ready.", 2, Duration::from_secs(20));
    let ready: Vec<_> = gw
        .seen
        .iter()
        .filter(|l| l.contains("Modem ready."))
        .cloned()
        .collect();
    assert!(
        ready
            .iter()
            .all(|l| l.contains("\"imei\":\"") && l.contains("\"available\":true")),
        "{ready:#?}"
    );
    let (status, log) = gw.terminate(Duration::from_secs(10));
    assert!(status.success(), "exit {status:?}:\n{}", log.join("\n"));
    assert!(
        log.iter().any(|l| l.contains("Stopped.")),
        "{}",
        log.join("\n")
    );
}
