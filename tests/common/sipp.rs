//! SIPp as the carrier trunk and as the agent: shipped scenarios, runs to completion,
//! background runs, and what their message traces say.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::gw::free_port;
use super::root;

/// A shipped SIPp scenario.
pub fn scenario(name: &str) -> PathBuf {
    root().join("tests/scenarios").join(name)
}

/// `uac_final.xml` expecting `code`, written into `dir`.
pub fn final_scenario(dir: &Path, code: u16) -> PathBuf {
    let text = std::fs::read_to_string(scenario("uac_final.xml"))
        .expect("template")
        .replace("@CODE@", &code.to_string());
    let p = dir.join(format!("uac_final_{code}.xml"));
    std::fs::write(&p, text).expect("write scenario");
    p
}

/// Runs SIPp to completion against `target`, on free local ports. `args` come first.
pub fn sipp(args: &[&str], target: SocketAddr) -> Output {
    let trace = tempfile::tempdir().expect("tmp");
    let (p, mp, cp) = (free_port(), free_port(), free_port());
    let out = Command::new("sipp")
        .args(args)
        .args([
            "-p",
            &p.to_string(),
            "-mp",
            &mp.to_string(),
            "-cp",
            &cp.to_string(),
        ])
        .args(["-nostdin", "-timeout", "60", "-timeout_error", "-trace_err"])
        .arg("-error_file")
        .arg(trace.path().join("errors.log"))
        .arg(target.to_string())
        .current_dir(trace.path())
        .stdin(Stdio::null())
        .output()
        .expect("sipp runs (package sip-tester)");
    if !out.status.success() {
        let errors = std::fs::read_to_string(trace.path().join("errors.log")).unwrap_or_default();
        eprintln!(
            "sipp {args:?} failed: {:?}\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            errors.chars().take(4000).collect::<String>()
        );
    }
    out
}

/// Starts SIPp in the background (e.g. as the agent); killed on drop.
pub struct Background {
    child: std::process::Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Background {
    pub fn start(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let (port, mp, cp) = (free_port(), free_port(), free_port());
        let child = Command::new("sipp")
            .args(args)
            .args([
                "-p",
                &port.to_string(),
                "-mp",
                &mp.to_string(),
                "-cp",
                &cp.to_string(),
                "-i",
                "127.0.0.1",
            ])
            .args(["-nostdin", "-trace_msg", "-message_file"])
            .arg(dir.path().join("messages.log"))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sipp");
        std::thread::sleep(Duration::from_millis(300));
        Self { child, port, dir }
    }

    /// What SIPp logged of the messages it saw.
    pub fn messages(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("messages.log")).unwrap_or_default()
    }
}

impl Background {
    /// Starts a SIPp caller against `target` in the background; its messages are traced.
    pub fn caller(args: &[&str], target: SocketAddr) -> Self {
        let mut all: Vec<&str> = args.to_vec();
        let t = target.to_string();
        all.extend(["-timeout", "120", "-timeout_error"]);
        let mut me = Self::start(&all.iter().copied().chain([t.as_str()]).collect::<Vec<_>>());
        me.port = 0;
        me
    }

    /// Waits for SIPp to end; `None` if it is still running after `within`.
    pub fn wait(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops SIPp now.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What SIPp's message trace says about each Call-ID.
    pub fn traced(&self) -> Traced {
        Traced::parse(&self.messages())
    }
}

/// Call-IDs seen in a SIPp message trace.
#[derive(Debug, Default)]
pub struct Traced {
    /// Call-IDs of INVITEs sent.
    pub invited: std::collections::BTreeSet<String>,
    /// Call-IDs that got any response back: the gateway took these calls.
    pub answered: std::collections::BTreeSet<String>,
}

impl Traced {
    pub fn parse(log: &str) -> Self {
        let mut t = Self::default();
        for block in log.split("----------------------------------------------- ") {
            let mut lines = block.lines().skip(1);
            let Some(kind) = lines.next() else { continue };
            let received = kind.contains("received");
            let Some(start) = lines.find(|l| !l.trim().is_empty()) else {
                continue;
            };
            let Some(id) = block
                .lines()
                .find_map(|l| l.strip_prefix("Call-ID:").map(|v| v.trim().to_string()))
            else {
                continue;
            };
            if received && start.starts_with("SIP/2.0 ") {
                t.answered.insert(id);
            } else if !received && start.starts_with("INVITE ") {
                t.invited.insert(id);
            }
        }
        t
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
