//! The simulator's network side over real ptys: SMS sent in PDU mode and delivered from the
//! control socket, USSD replies that quote a balance set at run time, and incoming calls
//! rung from the control socket, answered, with audio both ways.

use std::path::Path;
use std::time::Duration;

use e173gw_actors::sim::{self, SimHandle};
use e173gw_core::config::sim::SimConfig;
use e173gw_core::sms::pdu::{self, Received, Submit};
use e173gw_core::sms::ussd::{self, UssdEncoding};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout, Instant};
use tokio_serial::{SerialPortBuilderExt, SerialStream};

async fn start() -> (tempfile::TempDir, SimHandle) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg: SimConfig = toml::from_str(
        r#"
        count = 1
        command_delay_ms = 2
        rssi_interval_ms = 0
        boot_interval_ms = 0
        cusd_ms = 50
        sms_send_ms = 50
        sms_report_ms = 100
        ring_interval_ms = 200
        [[ussd]]
        code = "*100#"
        reply = "Saldo R$ {balance}"
        "#,
    )
    .expect("config");
    cfg.dir = dir.path().to_path_buf();
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

/// Reads until `needle` shows up (returns everything read) or panics after 3 s.
async fn read_until(port: &mut SerialStream, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(3);
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

async fn send(port: &mut SerialStream, bytes: &str) {
    port.write_all(bytes.as_bytes()).await.expect("write");
}

async fn ctl(dir: &Path, line: &str) -> Value {
    let v = sim::control(dir, line)
        .await
        .expect("control socket answers");
    assert_eq!(v["ok"], true, "{line}: {v}");
    v
}

#[actix::test]
async fn sms_both_ways_and_ussd_with_a_balance() {
    let (dir, sim) = start().await;
    let mut at = open(&sim.modems()[0].at);
    send(&mut at, "ATE0\r").await;
    read_until(&mut at, "OK\r\n").await;

    // A message arrives and is read from its slot.
    ctl(dir.path(), "sms modem0 Vivo Seu saldo  acabou").await;
    read_until(&mut at, "+CMTI: \"SM\",0\r\n").await;
    send(&mut at, "AT+CMGR=0\r").await;
    let out = read_until(&mut at, "\r\nOK\r\n").await;
    let hex = out.split("\r\n").nth(2).expect("the PDU line");
    match pdu::parse(hex) {
        Ok(Received::Deliver(d)) => {
            assert_eq!(
                (d.from.as_str(), d.text.as_str()),
                ("Vivo", "Seu saldo  acabou")
            )
        }
        other => panic!("{out:?}: {other:?}"),
    }

    // One goes out, with a status report.
    let part = &pdu::submit(&Submit {
        to: "+5511912345678",
        text: "Recebido, obrigado",
        status_report: true,
        validity: 169,
        reference: 0,
    })
    .expect("encodes")[0];
    send(&mut at, &format!("AT+CMGS={}\r", part.tpdu_len)).await;
    read_until(&mut at, "\r\n> ").await;
    send(&mut at, &format!("{}\x1a", part.hex)).await;
    read_until(&mut at, "\r\n+CMGS: 0\r\n\r\nOK\r\n").await;
    read_until(&mut at, "+CDSI: \"SM\",1\r\n").await;
    let st = ctl(dir.path(), "status modem0").await;
    let m = &st["modems"][0];
    assert_eq!(m["sms_sent"][0]["text"], "Recebido, obrigado", "{st}");
    assert_eq!(m["sms_sent"][0]["mr"], 0);
    assert_eq!(m["sms"]["stored"], 2);

    // Sends can be made to fail.
    ctl(dir.path(), "sms-fail modem0 on").await;
    send(&mut at, &format!("AT+CMGS={}\r", part.tpdu_len)).await;
    read_until(&mut at, "\r\n> ").await;
    send(&mut at, &format!("{}\x1a", part.hex)).await;
    read_until(&mut at, "\r\n+CMS ERROR: 500\r\n").await;

    // The balance a USSD reply quotes is set from outside.
    ctl(dir.path(), "balance modem0 0,50").await;
    let (req, _) = ussd::request("*100#", UssdEncoding::Gsm7Hex).expect("gsm");
    send(&mut at, &format!("AT+CUSD=1,\"{req}\",15\r")).await;
    let out = read_until(&mut at, "\",15\r\n").await;
    let hex = out
        .split("+CUSD: 0,\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a +CUSD line");
    assert_eq!(ussd::reply(hex, Some(15)), "Saldo R$ 0,50");
    sim.stop().await;
}

#[actix::test]
async fn incoming_call_rings_is_answered_and_the_caller_hangs_up() {
    let (dir, sim) = start().await;
    let m = sim.modems()[0].clone();
    let mut at = open(&m.at);
    let mut audio = open(&m.audio);
    send(&mut at, "ATE0\rAT+CLIP=1\r").await;
    read_until(&mut at, "OK\r\n\r\nOK\r\n").await;
    ctl(dir.path(), "ring modem0 +5511912345678").await;
    read_until(
        &mut at,
        "RING\r\n\r\n+CLIP: \"+5511912345678\",145,,,,0\r\n",
    )
    .await;
    // Rings again on its period.
    read_until(&mut at, "RING").await;
    send(&mut at, "AT+CLCC\r").await;
    read_until(
        &mut at,
        "+CLCC: 1,1,4,0,0,\"+5511912345678\",145\r\n\r\nOK\r\n",
    )
    .await;
    send(&mut at, "ATA\r").await;
    read_until(&mut at, "OK\r\n\r\n^CONN:1,0\r\n").await;
    send(&mut at, "AT^DDSETEX=2\r").await;
    read_until(&mut at, "OK\r\n").await;

    // The modem's tone arrives, and what the host plays is recorded.
    let mut buf = vec![0u8; 4096];
    let mut got = 0;
    for _ in 0..10 {
        audio.write_all(&[0x11; 320]).await.expect("write audio");
        if let Ok(Ok(k)) = timeout(Duration::from_millis(40), audio.read(&mut buf)).await {
            got += k;
        }
    }
    assert!(got >= 320 * 3, "{got} bytes of PCM");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let st = ctl(dir.path(), "status modem0").await;
    let call = &st["modems"][0]["call"];
    assert_eq!(call["direction"], "incoming", "{st}");
    assert_eq!(call["stat"], "active");
    assert_eq!(call["rx_bytes"].as_u64(), Some(3200), "{st}");

    ctl(dir.path(), "hangup modem0").await;
    read_until(&mut at, ",104,16\r\n").await;
    let st = ctl(dir.path(), "status modem0").await;
    let last = &st["modems"][0]["last_call"];
    assert_eq!(last["outcome"], "remote_hangup", "{st}");
    assert_eq!(last["answered"], true);
    let rec = std::fs::read(dir.path().join("modem0.rx.pcm")).expect("recording");
    assert_eq!(rec.len(), 3200);

    // A delayed ring, and the control socket's refusals.
    ctl(dir.path(), "ring modem0 100 after=100").await;
    read_until(&mut at, "+CLIP: \"100\",129,,,,0").await;
    let v = sim::control(dir.path(), "ring modem0 200")
        .await
        .expect("answers");
    assert_eq!(v["ok"], false, "{v}");
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.contains("in progress")),
        "{v}"
    );
    let v = sim::control(dir.path(), "sms modem0 12-3 hi")
        .await
        .expect("answers");
    assert_eq!(v["ok"], false, "{v}");
    sim.stop().await;
}
