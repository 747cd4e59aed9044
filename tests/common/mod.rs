//! Helpers for tests that drive the real `e173gw` binary.

#![allow(dead_code, unreachable_pub)]
// These helpers wait on an external process in real time; there is no clock to pause.
#![allow(clippy::disallowed_methods)]

pub mod gw;
pub mod services;
pub mod sipp;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_e173gw"))
}

/// Re-runs the test named `test` inside `unshare -n` with only loopback up, so nothing
/// it provokes can leave the machine. Returns true when the caller is already inside.
pub fn inside_netns(test: &str) -> bool {
    if std::env::var_os("E173GW_IN_NETNS").is_some() {
        return true;
    }
    let exe = std::env::current_exe().expect("test binary");
    let status = Command::new("unshare")
        .args([
            "-n",
            "sh",
            "-c",
            "ip link set lo up && exec \"$0\" --exact \"$1\" --nocapture",
        ])
        .arg(exe)
        .arg(test)
        .env("E173GW_IN_NETNS", "1")
        .status()
        .expect("unshare (util-linux) and ip (iproute2) are needed");
    assert!(
        status.success(),
        "{test} failed inside the network namespace"
    );
    false
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A running `e173gw` process whose JSON log lines are collected.
pub struct Running {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Running {
    /// Starts `e173gw <args>` with JSON logs on stderr.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .env("E173GW_LOG__FORMAT", "json")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start e173gw");
        let (tx, lines) = mpsc::channel();
        for stream in [
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits until `n` log lines contain `needle`.
    pub fn wait_for(&mut self, needle: &str, n: usize, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if self.seen.iter().filter(|l| l.contains(needle)).count() >= n {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self
                .lines
                .recv_timeout(left.min(Duration::from_millis(200)))
            {
                Ok(l) => self.seen.push(l),
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                Err(_) => panic!(
                    "waited for {n}x {needle:?}; log so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self, within: Duration) -> (std::process::ExitStatus, Vec<String>) {
        let _ = nix_kill(self.child.id());
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(l);
                }
                return (status, std::mem::take(&mut self.seen));
            }
            assert!(
                Instant::now() < deadline,
                "did not exit after SIGTERM:\n{}",
                self.seen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nix_kill(pid: u32) -> std::io::Result<()> {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other("kill failed"))
    }
}

/// Writes a gateway config into `dir` whose profiles are the repository's (and whose HTTP
/// server takes a free port, so tests run in parallel).
pub fn write_config(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("gw.toml");
    let text = format!(
        "[http]\nlisten = \"127.0.0.1:0\"\n[modems]\nprofiles_dir = \"{}\"\n{body}",
        root().join("modem-profiles").display()
    );
    std::fs::write(&path, text).expect("write config");
    path
}
