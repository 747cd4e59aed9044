//! The simulator over real ptys, opened with `tokio-serial` exactly as the gateway opens
//! modems. Each test runs its own simulator in its own temp dir with fast timings.

use std::path::{Path, PathBuf};
use std::time::Duration;

use e173gw_actors::sim::{self, SimHandle};
use e173gw_core::config::sim::SimConfig;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout, Instant};
use tokio_serial::{SerialPortBuilderExt, SerialStream};

fn fast(dir: &Path, count: usize) -> SimConfig {
    SimConfig {
        enabled: true,
        dir: dir.to_path_buf(),
        count,
        command_delay_ms: 2,
        orig_ms: 30,
        conf_ms: 60,
        answer_after_ms: 100,
        ring_ms: 300,
        fail_after_ms: 50,
        rssi_interval_ms: 200,
        boot_interval_ms: 0,
        reboot_ms: 300,
        ..SimConfig::default()
    }
}

async fn start_with(
    count: usize,
    scenario: Option<&str>,
    tweak: impl FnOnce(&mut SimConfig),
) -> (tempfile::TempDir, SimHandle) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = fast(dir.path(), count);
    if let Some(text) = scenario {
        std::fs::write(dir.path().join("scenario.toml"), text).expect("scenario");
        // Relative: resolved against the base directory given to start().
        cfg.scenario = Some(PathBuf::from("scenario.toml"));
    }
    tweak(&mut cfg);
    let handle = sim::start(&cfg, dir.path())
        .await
        .expect("simulator starts");
    (dir, handle)
}

fn open(path: &Path) -> SerialStream {
    tokio_serial::new(path.to_string_lossy(), 115_200)
        .open_native_async()
        .expect("open pty like a serial port")
}

/// Reads until `needle` shows up (returns everything read) or panics after `within`.
async fn read_until(port: &mut SerialStream, needle: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        if String::from_utf8_lossy(&got).contains(needle) {
            return String::from_utf8_lossy(&got).to_string();
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match timeout(left, port.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
            other => panic!(
                "waiting for {needle:?}: {other:?}; got so far {:?}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
}

/// Sends a command and returns everything up to its final `OK`/`ERROR`.
async fn cmd(port: &mut SerialStream, line: &str, fin: &str) -> String {
    port.write_all(format!("{line}\r").as_bytes())
        .await
        .expect("write");
    read_until(port, fin, Duration::from_secs(3)).await
}

async fn ctl(dir: &Path, line: &str) -> Value {
    sim::control(dir, line)
        .await
        .expect("control socket answers")
}

fn goertzel_peak(samples: &[i16]) -> u32 {
    let power = |f: f64| {
        let c = 2.0 * (std::f64::consts::TAU * f / 8000.0).cos();
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &x in samples {
            let s0 = f64::from(x) + c * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        s1 * s1 + s2 * s2 - c * s1 * s2
    };
    (100..=3500)
        .step_by(50)
        .max_by(|a, b| power(f64::from(*a)).total_cmp(&power(f64::from(*b))))
        .unwrap_or(0)
}

fn tone_frame(hz: f64, n: usize) -> Vec<u8> {
    (0..160)
        .map(|i| {
            let t = (n * 160 + i) as f64 / 8000.0;
            ((std::f64::consts::TAU * hz * t).sin() * 8000.0) as i16
        })
        .flat_map(i16::to_le_bytes)
        .collect()
}

#[actix::test]
async fn at_answers_ok_over_tokio_serial() {
    let (dir, sim) = start_with(2, None, |_| {}).await;
    let mods = sim.modems();
    assert_eq!(mods.len(), 2);
    assert_eq!(sim.dir(), dir.path());
    assert_ne!(mods[0].imei, mods[1].imei);
    let target = std::fs::read_link(&mods[0].at).expect("modem0.at is a link");
    assert!(target.starts_with("/dev/pts"), "{target:?}");
    let mut at = open(&mods[0].at);
    // Echo is on after power-up.
    let out = cmd(&mut at, "AT", "\r\nOK\r\n").await;
    assert!(out.ends_with("AT\r\r\nOK\r\n"), "{out:?}");
    let out = cmd(&mut at, "ATE0", "\r\nOK\r\n").await;
    assert!(out.contains("ATE0\r"));
    let out = cmd(&mut at, "AT+CGSN", "\r\nOK\r\n").await;
    assert!(
        out.ends_with(&format!("\r\n{}\r\n\r\nOK\r\n", mods[0].imei)),
        "{out:?}"
    );
    let out = cmd(&mut at, "ATI", "\r\nOK\r\n").await;
    assert!(
        out.contains("Manufacturer: huawei\r\nModel: E173\r\n"),
        "{out:?}"
    );
    sim.stop().await;
    assert!(!mods[0].at.exists() && !dir.path().join("control.sock").exists());
}

#[actix::test]
async fn dial_gives_ok_orig_conf_conn_cend_in_order() {
    let scenario = "[[rule]]\nnumber = \"100\"\noutcome = \"answer\"\nhangup_after_ms = 1100\n";
    let (_dir, sim) = start_with(2, Some(scenario), |_| {}).await;
    let mut at = open(&sim.modems()[1].at);
    cmd(&mut at, "ATE0", "\r\nOK\r\n").await;
    let out = cmd(&mut at, "ATD100;", ",104,16\r\n").await;
    let lines: Vec<&str> = out
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with("^RSSI"))
        .collect();
    assert_eq!(
        lines,
        [
            "OK",
            "^ORIG:1,0",
            "^CONF:1",
            "^CONN:1,0",
            "^CEND:1,1,104,16"
        ],
        "{out:?}"
    );
    sim.stop().await;
}

#[actix::test]
async fn audio_flows_after_ddsetex_and_host_audio_is_recorded() {
    let (dir, sim) = start_with(2, None, |c| c.rssi_interval_ms = 0).await;
    let m = sim.modems()[1].clone();
    let mut at = open(&m.at);
    let mut audio = open(&m.audio);
    cmd(&mut at, "ATE0", "\r\nOK\r\n").await;
    cmd(&mut at, "ATD5511900000000;", "\r\nOK\r\n").await;
    // No PCM before AT^DDSETEX=2.
    let mut buf = vec![0u8; 4096];
    assert!(
        timeout(Duration::from_millis(150), audio.read(&mut buf))
            .await
            .is_err(),
        "audio before DDSETEX"
    );
    cmd(&mut at, "AT^DDSETEX=2", "\r\nOK\r\n").await;
    let started = Instant::now();
    let mut pcm = Vec::new();
    let mut n = 0;
    while started.elapsed() < Duration::from_millis(1000) {
        // Play one frame of 1000 Hz every 20 ms, as the gateway's pump does.
        audio
            .write_all(&tone_frame(1000.0, n))
            .await
            .expect("write audio");
        n += 1;
        if let Ok(Ok(k)) = timeout(Duration::from_millis(20), audio.read(&mut buf)).await {
            pcm.extend_from_slice(&buf[..k]);
        }
    }
    let frames = pcm.len() / 320;
    assert!((40..=56).contains(&frames), "{frames} frames in 1 s");
    let samples: Vec<i16> = pcm
        .chunks_exact(2)
        .map(|p| i16::from_le_bytes([p[0], p[1]]))
        .collect();
    assert_eq!(goertzel_peak(&samples[samples.len() - 4000..]), m.tone_hz);
    assert_eq!(m.tone_hz, 500);

    let st = ctl(dir.path(), "status modem1").await;
    let call = &st["modems"][0]["call"];
    assert_eq!(call["audio"], true, "{st}");
    assert_eq!(call["rx_bytes"].as_u64(), Some(320 * n as u64), "{st}");
    assert_eq!(call["rx_frames"].as_u64(), Some(n as u64));
    assert_eq!(call["rx_tone_hz"].as_u64(), Some(1000));
    cmd(&mut at, "AT+CHUP", "^CEND:1,").await;
    let st = ctl(dir.path(), "status modem1").await;
    let last = &st["modems"][0]["last_call"];
    assert_eq!(last["outcome"], "local_hangup", "{st}");
    assert_eq!(last["rx_tone_hz"].as_u64(), Some(1000));
    assert_eq!(last["number"], "5511900000000");
    let rec = std::fs::read(dir.path().join("modem1.rx.pcm")).expect("recording");
    assert_eq!(rec.len(), 320 * n);
    assert_eq!(
        rec[..640],
        [tone_frame(1000.0, 0), tone_frame(1000.0, 1)].concat()[..]
    );
    // The tone stops with the call.
    tokio::time::sleep(Duration::from_millis(60)).await;
    while timeout(Duration::from_millis(10), audio.read(&mut buf))
        .await
        .is_ok()
    {}
    assert!(
        timeout(Duration::from_millis(150), audio.read(&mut buf))
            .await
            .is_err(),
        "audio after ^CEND"
    );
    sim.stop().await;
}

#[actix::test]
async fn unplug_fails_reads_and_replug_as_moves_the_links() {
    let (dir, sim) = start_with(2, None, |_| {}).await;
    let m = sim.modems()[0].clone();
    let old_dev = std::fs::read_link(&m.at).expect("link");
    let mut at = open(&m.at);
    cmd(&mut at, "AT", "\r\nOK\r\n").await;
    let st = ctl(dir.path(), "unplug modem0").await;
    assert_eq!(st["ok"], true, "{st}");
    assert_eq!(st["modem"]["state"], "unplugged");
    let mut buf = [0u8; 64];
    let r = timeout(Duration::from_secs(2), async {
        loop {
            match at.read(&mut buf).await {
                Ok(0) => return "eof".to_string(),
                Ok(_) => {}
                Err(e) => return format!("error {e}"),
            }
        }
    })
    .await
    .expect("the read fails promptly");
    assert!(r == "eof" || r.starts_with("error"), "{r}");
    assert!(
        !m.at.exists() && !m.audio.exists(),
        "links removed on unplug"
    );
    // Keep the old port open across the replug, as a gateway would be.
    let st = ctl(dir.path(), "replug modem0 as e173-b").await;
    assert_eq!(st["ok"], true, "{st}");
    let new_at = dir.path().join("e173-b.at");
    let new_dev = std::fs::read_link(&new_at).expect("new link");
    assert_ne!(new_dev, old_dev);
    assert!(dir.path().join("e173-b.audio").exists());
    let info = sim
        .modems()
        .into_iter()
        .find(|i| i.name == "e173-b")
        .expect("renamed in modems()");
    assert_eq!(
        (info.at.as_path(), info.imei.as_str()),
        (new_at.as_path(), m.imei.as_str())
    );
    drop(at);
    let mut at = open(&new_at);
    let out = cmd(&mut at, "AT+CGSN", "\r\nOK\r\n").await;
    assert!(out.contains(&m.imei), "{out:?}");
    assert_eq!(ctl(dir.path(), "status modem0").await["ok"], false);
    sim.stop().await;
}

#[actix::test]
async fn frozen_modem_drops_commands_but_keeps_rssi() {
    let (dir, sim) = start_with(1, None, |_| {}).await;
    let mut at = open(&sim.modems()[0].at);
    cmd(&mut at, "ATE0", "\r\nOK\r\n").await;
    assert_eq!(
        ctl(dir.path(), "freeze modem0").await["modem"]["state"],
        "frozen"
    );
    at.write_all(b"AT+CSQ\r").await.expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    let until = Instant::now() + Duration::from_millis(700);
    while let Ok(Ok(n)) = timeout(
        until.saturating_duration_since(Instant::now()),
        at.read(&mut buf),
    )
    .await
    {
        got.extend_from_slice(&buf[..n]);
    }
    let got = String::from_utf8_lossy(&got);
    assert!(
        got.contains("^RSSI:17") && !got.contains("OK") && !got.contains("+CSQ"),
        "{got:?}"
    );
    ctl(dir.path(), "thaw modem0").await;
    cmd(&mut at, "AT+CSQ", "+CSQ: 17,99\r\n\r\nOK\r\n").await;
    sim.stop().await;
}

#[actix::test]
async fn faults_sim_signal_reboot_over_the_wire() {
    let (dir, sim) = start_with(1, None, |c| c.rssi_interval_ms = 0).await;
    let mut at = open(&sim.modems()[0].at);
    cmd(&mut at, "ATE0", "\r\nOK\r\n").await;
    ctl(dir.path(), "sim-remove modem0").await;
    read_until(&mut at, "^SIMST:255\r\n", Duration::from_secs(1)).await;
    cmd(&mut at, "AT+CIMI", "\r\nERROR\r\n").await;
    ctl(dir.path(), "sim-insert modem0 imsi=724059876543210").await;
    let out = cmd(&mut at, "AT+CIMI", "\r\nOK\r\n").await;
    assert!(
        out.contains("^SIMST:1") && out.contains("724059876543210"),
        "{out:?}"
    );
    assert_eq!(sim.modems()[0].imsi, "724059876543210");
    ctl(dir.path(), "signal modem0 0").await;
    let out = cmd(&mut at, "ATD123;", "\r\nERROR\r\n").await;
    assert!(out.contains("^RSSI:0"), "{out:?}");
    ctl(dir.path(), "signal modem0 25").await;
    cmd(&mut at, "ATD123;", "\r\nOK\r\n").await;
    ctl(dir.path(), "reboot modem0").await;
    let out = read_until(&mut at, "^RSSI:25\r\n", Duration::from_secs(2)).await;
    assert!(
        out.contains("^BOOT:") && out.contains("^SIMST:1") && !out.contains("^CEND"),
        "{out:?}"
    );
    // Echo is back on and the call is gone.
    let out = cmd(&mut at, "AT+CLCC", "\r\nOK\r\n").await;
    assert_eq!(out, "AT+CLCC\r\r\nOK\r\n");
    sim.stop().await;
}

#[actix::test]
async fn control_socket_rejects_bad_commands() {
    let (dir, sim) = start_with(2, None, |_| {}).await;
    for bad in [
        "explode",
        "unplug nosuch",
        "signal modem0 77",
        "garbage modem0 zero",
        "hangup modem0",
        "replug modem0 as modem1",
    ] {
        let v = ctl(dir.path(), bad).await;
        assert_eq!(v["ok"], false, "{bad}: {v}");
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{bad}: {v}"
        );
    }
    let v = ctl(dir.path(), "status").await;
    assert_eq!(v["ok"], true);
    assert_eq!(v["modems"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["modems"][1]["imei"], sim.modems()[1].imei.as_str());
    let v = ctl(dir.path(), "garbage modem1 100").await;
    assert_eq!(v["modem"]["io"]["garbage_bytes"].as_u64(), Some(100), "{v}");
    sim.stop().await;
    assert!(
        sim::control(dir.path(), "status").await.is_err(),
        "socket gone after stop"
    );
}

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../config")
        .join(name)
}

#[test]
fn shipped_scenarios_are_valid() {
    let names: Vec<String> = (0..4).map(|i| format!("modem{i}")).collect();
    for file in ["scenario-demo.toml", "scenario-test.toml"] {
        let text = std::fs::read_to_string(shipped(file)).expect("scenario file");
        let sc: e173gw_core::config::sim::Scenario = toml::from_str(&text).expect(file);
        assert_eq!(sc.validate("", &names), vec![], "{file}");
        assert!(!sc.rule.is_empty());
    }
}

#[actix::test]
async fn test_scenario_makes_modems_faulty() {
    let (_dir, sim) = start_with(4, None, |c| {
        c.scenario = Some(shipped("scenario-test.toml"))
    })
    .await;
    let m = sim.modems();
    let mut m0 = open(&m[0].at);
    cmd(&mut m0, "ATE0", "\r\nOK\r\n").await;
    let out = cmd(&mut m0, "ATD101;", "^CEND:1,0,104,17\r\n").await;
    assert!(out.contains("^CONF:1"), "{out:?}");
    let out = cmd(&mut m0, "ATD106;", "^CEND:1,0,101\r\n").await;
    assert!(out.contains("^ORIG:1,0"), "{out:?}");
    let mut m1 = open(&m[1].at);
    cmd(&mut m1, "ATE0", "\r\nOK\r\n").await;
    cmd(&mut m1, "ATD100;", "\r\nERROR\r\n").await;
    let mut m2 = open(&m[2].at);
    cmd(&mut m2, "ATE0", "\r\nOK\r\n").await;
    cmd(&mut m2, "AT+CIMI", "\r\nERROR\r\n").await;
    let mut m3 = open(&m[3].at);
    cmd(&mut m3, "ATE0", "\r\nOK\r\n").await;
    cmd(&mut m3, "AT^CVOICE?", "\r\nERROR\r\n").await;
    sim.stop().await;
}
