//! Shared rig for end-to-end tests over ptys: a simulator in a temp dir, modem actors with
//! a fast profile on its ports, and a probe actor that collects what modems send.

#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::mpsc;

use e173gw_actors::modem::{
    AudioIn, GetStatus, ModemActor, ModemCallEvent, ModemSpec, ModemStatus, PortPaths,
};
use e173gw_actors::sim::{self, SimHandle, SimModemInfo};
use e173gw_core::at::recovery::ExponentialBackoff;
use e173gw_core::at::session::CallEvent;
use e173gw_core::config::profile::ModemProfile;
use e173gw_core::config::sim::SimConfig;
use e173gw_core::domain::{Imei, ModemId};

/// The shipped E173 profile with timeouts short enough for tests.
pub fn fast_profile() -> Arc<ModemProfile> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../modem-profiles/e173.toml"),
    )
    .expect("e173 profile");
    let mut p = ModemProfile::parse(&text, "e173").expect("profile parses");
    let t = &mut p.timeouts;
    t.ping_ms = 500;
    t.command_ms = 1000;
    t.call_command_ms = 2000;
    t.orig_ms = 2000;
    t.alerting_ms = 3000;
    t.answer_ms = 4000;
    t.hangup_ms = 1000;
    t.silence_ping_ms = 1500;
    p.polling.health_ms = 1000;
    p.polling.call_ms = 400;
    Arc::new(p)
}

pub fn backoff() -> ExponentialBackoff {
    ExponentialBackoff::try_new(Duration::from_millis(100), Duration::from_millis(800))
        .expect("backoff")
}

/// Simulator settings with a fast network.
pub fn sim_config(dir: &Path, count: usize) -> SimConfig {
    SimConfig {
        enabled: true,
        dir: dir.to_path_buf(),
        count,
        command_delay_ms: 2,
        orig_ms: 50,
        conf_ms: 100,
        answer_after_ms: 200,
        ring_ms: 600,
        fail_after_ms: 100,
        rssi_interval_ms: 700,
        boot_interval_ms: 0,
        reboot_ms: 300,
        ..SimConfig::default()
    }
}

/// A simulator in a fresh temp dir, with an optional scenario file.
pub async fn start_sim(count: usize, scenario: Option<&str>) -> (tempfile::TempDir, SimHandle) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = sim_config(dir.path(), count);
    if let Some(text) = scenario {
        let path = dir.path().join("scenario.toml");
        std::fs::write(&path, text).expect("write scenario");
        cfg.scenario = Some(path);
    }
    let handle = sim::start(&cfg, dir.path())
        .await
        .expect("simulator starts");
    (dir, handle)
}

pub fn info(sim: &SimHandle, name: &str) -> SimModemInfo {
    sim.modems()
        .into_iter()
        .find(|m| m.name == name)
        .expect("modem in simulator")
}

/// A modem actor on the simulated modem's ports, bound to its IMEI.
pub fn modem_on(m: &SimModemInfo) -> Addr<ModemActor> {
    ModemActor::new(ModemSpec {
        id: ModemId::parse(&m.name).expect("id"),
        profile: fast_profile(),
        ports: Some(PortPaths {
            at: m.at.clone(),
            audio: m.audio.clone(),
        }),
        expect_imei: Some(Imei::parse(&m.imei).expect("imei")),
        backoff: backoff(),
    })
    .start()
}

/// Polls the modem's status until `pred` holds.
pub async fn wait_status(
    addr: &Addr<ModemActor>,
    within: Duration,
    what: &str,
    pred: impl Fn(&ModemStatus) -> bool,
) -> ModemStatus {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let s = addr.send(GetStatus).await.expect("modem actor alive");
        if pred(&s) {
            return s;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out waiting for {what}; last status: {s:#?}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

pub async fn wait_available(addr: &Addr<ModemActor>) -> ModemStatus {
    wait_status(
        addr,
        Duration::from_secs(10),
        "modem available",
        ModemStatus::is_available,
    )
    .await
}

/// Collects what a modem sends to a caller.
pub struct Probe {
    calls: mpsc::UnboundedSender<CallEvent>,
    audio: mpsc::UnboundedSender<Vec<u8>>,
}

impl Actor for Probe {
    type Context = Context<Self>;
}

impl Handler<ModemCallEvent> for Probe {
    type Result = ();
    fn handle(&mut self, msg: ModemCallEvent, _: &mut Context<Self>) {
        let _ = self.calls.send(msg.event);
    }
}

impl Handler<AudioIn> for Probe {
    type Result = ();
    fn handle(&mut self, msg: AudioIn, _: &mut Context<Self>) {
        let _ = self.audio.send(msg.pcm);
    }
}

/// A probe and the receiving ends of what it collects.
pub struct Caller {
    pub addr: Addr<Probe>,
    pub calls: mpsc::UnboundedReceiver<CallEvent>,
    pub audio: mpsc::UnboundedReceiver<Vec<u8>>,
}

impl Caller {
    pub fn new() -> Self {
        let (ctx, calls) = mpsc::unbounded_channel();
        let (atx, audio) = mpsc::unbounded_channel();
        Self {
            addr: Probe {
                calls: ctx,
                audio: atx,
            }
            .start(),
            calls,
            audio,
        }
    }

    pub async fn next(&mut self, within: Duration) -> CallEvent {
        tokio::time::timeout(within, self.calls.recv())
            .await
            .expect("call event in time")
            .expect("probe alive")
    }

    /// Waits for the end of the call, skipping progress events.
    pub async fn ended(&mut self, within: Duration) -> CallEvent {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let ev = self.next(left).await;
            if matches!(ev, CallEvent::Ended { .. }) {
                return ev;
            }
        }
    }
}

/// Power of `freq` in 16-bit little-endian PCM at 8 kHz (Goertzel).
pub fn goertzel(pcm: &[u8], freq: f64) -> f64 {
    let samples: Vec<f64> = pcm
        .chunks_exact(2)
        .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])))
        .collect();
    let k = 2.0 * (2.0 * std::f64::consts::PI * freq / 8000.0).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for x in &samples {
        let s = x + k * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - k * s1 * s2
}

/// The strongest frequency between 100 and 3500 Hz in 10 Hz steps.
pub fn dominant_hz(pcm: &[u8]) -> u32 {
    (10..=350)
        .map(|f| f * 10)
        .max_by(|a, b| goertzel(pcm, f64::from(*a)).total_cmp(&goertzel(pcm, f64::from(*b))))
        .unwrap_or(0)
}

/// One 20 ms frame of a sine tone.
pub fn tone_frame(freq: f64, n: usize) -> Vec<u8> {
    (0..160)
        .flat_map(|i| {
            {
                let t = (n * 160 + i) as f64 / 8000.0;
                ((2.0 * std::f64::consts::PI * freq * t).sin() * 8000.0) as i16
            }
            .to_le_bytes()
        })
        .collect()
}
