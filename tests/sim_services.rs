//! SIM services end to end, against the real binary and the pty simulator: SMS sent by the
//! API (a long UCS-2 text in parts, a status report marking it delivered), SMS received
//! on a SIM and handed to a SIPp `MESSAGE` target and to a webhook that is down first,
//! and a USSD balance check read by the operator's template, low, alerting and resting
//! the SIM.

#![allow(clippy::disallowed_methods)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::gw::{free_port, http_request, Gateway, Options};
use common::sipp::{scenario, Background};
use serde_json::Value;

const TOKEN: &str = "test-token-0123456789";

fn call(gw: &Gateway, method: &str, path: &str, token: bool, body: &str) -> (u16, Value) {
    let auth = format!("Bearer {TOKEN}");
    let mut headers = vec![("Content-Type", "application/json")];
    if token {
        headers.push(("Authorization", auth.as_str()));
    }
    let (status, _, body) = http_request(gw.http, method, path, &headers, body);
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

fn gateway(extra: &str, modems: usize) -> Gateway {
    Gateway::start(Options {
        modems,
        env: vec![("E173GW_HTTP__API_TOKEN".into(), TOKEN.into())],
        extra: extra.into(),
        ..Options::default()
    })
}

/// Polls `f` every 100 ms until it gives a value or `within` passes.
fn until<T>(within: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `n` modems are available; their ids by simulated modem name.
fn wait_ready(gw: &Gateway, n: usize) -> std::collections::BTreeMap<String, String> {
    until(Duration::from_secs(20), "the modems available", || {
        let (_, m) = call(gw, "GET", "/api/modems", false, "");
        let ids: std::collections::BTreeMap<String, String> = m
            .as_array()?
            .iter()
            .filter(|m| m["state"] == "available")
            .filter_map(|m| {
                let imei = m["imei"].as_str()?;
                let st = gw.sim("status");
                let name = st["modems"]
                    .as_array()?
                    .iter()
                    .find(|s| s["imei"] == imei)?["name"]
                    .as_str()?
                    .to_string();
                Some((name, m["id"].as_str()?.to_string()))
            })
            .collect();
        (ids.len() >= n).then_some(ids)
    })
}

#[test]
fn sms_sent_by_the_api_goes_out_in_parts_and_is_delivered() {
    let gw = gateway("[sms]\npace_ms = 200\n", 2);
    let ids = wait_ready(&gw, 2);
    // Writes need the token; bad input is refused with the field named.
    let body = r#"{"to":"+5511987651234","text":"Olá"}"#;
    assert_eq!(call(&gw, "POST", "/api/sms", false, body).0, 401);
    let (s, v) = call(&gw, "POST", "/api/sms", true, r#"{"to":"12ab","text":"x"}"#);
    assert_eq!(s, 400, "{v}");
    assert!(v["error"].as_str().unwrap_or("").contains("to"), "{v}");
    // 100 characters outside GSM 7-bit: UCS-2, 2 parts of at most 67.
    let text: String = "Ação à vista — 😀 ok ".repeat(5);
    let via = &ids["modem1"];
    let req = serde_json::json!({"to": "+5511987651234", "text": text, "via": via, "status_report": true});
    let (s, v) = call(&gw, "POST", "/api/sms", true, &req.to_string());
    assert_eq!(s, 202, "{v}");
    assert_eq!(v["state"], "queued");
    assert_eq!(v["modem"].as_str(), Some(via.as_str()));
    assert_eq!(v["parts"], 2);
    let id = v["id"].as_str().expect("id").to_string();
    let done = until(Duration::from_secs(20), "the status report", || {
        let (_, v) = call(&gw, "GET", &format!("/api/sms/{id}"), false, "");
        (v["state"] == "delivered").then_some(v)
    });
    assert_eq!(
        done["references"].as_array().map(Vec::len),
        Some(2),
        "{done}"
    );
    // What the modem sent, as the simulated network read it back.
    let st = gw.sim("status modem1");
    let sent = st["modems"][0]["sms_sent"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(sent.len(), 2, "{st}");
    let whole: String = sent.iter().filter_map(|p| p["text"].as_str()).collect();
    assert_eq!(whole, text);
    assert!(sent.iter().all(|p| p["to"] == "+5511987651234"), "{st}");
    // Searchable by state.
    let (_, list) = call(
        &gw,
        "GET",
        "/api/sms?direction=outbound&state=delivered",
        false,
        "",
    );
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
}

#[test]
fn a_modem_that_refuses_is_retried_then_the_sms_fails() {
    let gw = gateway("[sms]\npace_ms = 100\nmax_attempts = 2\n", 1);
    wait_ready(&gw, 1);
    gw.sim("sms-fail modem0 on");
    let (s, v) = call(
        &gw,
        "POST",
        "/api/sms",
        true,
        r#"{"to":"5511987651234","text":"hi"}"#,
    );
    assert_eq!(s, 202, "{v}");
    let id = v["id"].as_str().expect("id").to_string();
    let v = until(Duration::from_secs(20), "the failure", || {
        let (_, v) = call(&gw, "GET", &format!("/api/sms/{id}"), false, "");
        (v["state"] == "failed").then_some(v)
    });
    assert_eq!(v["attempts"], 2, "{v}");
    assert!(v["error"].as_str().unwrap_or("").contains("500"), "{v}");
}

/// A webhook receiver: every request's head and body, in order.
fn webhook(listener: TcpListener, tx: mpsc::Sender<(String, String)>) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            let mut body = vec![0; len];
            let _ = r.read_exact(&mut body);
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = tx.send((head, String::from_utf8_lossy(&body).into_owned()));
        }
    });
}

#[test]
fn received_sms_reach_the_sip_target_and_a_webhook_that_was_down() {
    let target = Background::start(&[
        "-sf",
        scenario("uas_message.xml").to_str().expect("utf8"),
        "-m",
        "1",
    ]);
    let hook_port = free_port();
    let extra = format!(
        "[sms]\ndeliver_uri = \"sip:sms@127.0.0.1:{}\"\nwebhook_url = \"http://127.0.0.1:{hook_port}/sms\"\nwebhook_secret = \"s3cret\"\nretry_max_s = 1\n",
        target.port
    );
    let gw = gateway(&extra, 1);
    wait_ready(&gw, 1);
    // A long text in three GSM 7-bit parts, and a short one.
    let long = "Seu codigo de acesso e 4711. ".repeat(15);
    let r = gw.sim(&format!("sms modem0 +5511911112222 {long}"));
    assert_eq!(r["ok"], true, "{r}");
    let got = until(Duration::from_secs(20), "the stored SMS", || {
        let (_, v) = call(&gw, "GET", "/api/sms?direction=inbound", false, "");
        v.as_array().filter(|a| !a.is_empty()).cloned()
    });
    assert_eq!(got[0]["text"].as_str(), Some(long.trim_end()), "{got:?}");
    assert_eq!(got[0]["parts"], 3);
    assert_eq!(got[0]["number"], "+5511911112222");
    // The SIP target took it; the webhook is down, so the message waits.
    until(Duration::from_secs(20), "the MESSAGE", || {
        target
            .messages()
            .contains("Seu codigo de acesso")
            .then_some(())
    });
    std::thread::sleep(Duration::from_millis(1500));
    let (_, v) = call(
        &gw,
        "GET",
        &format!("/api/sms/{}", got[0]["id"].as_str().expect("id")),
        false,
        "",
    );
    assert_eq!(v["state"], "received", "{v}");
    assert_eq!(v["delivered_to"], serde_json::json!(["sip"]), "{v}");
    // The webhook comes up: the message is handed on, signed.
    let (tx, rx) = mpsc::channel();
    webhook(
        TcpListener::bind(("127.0.0.1", hook_port)).expect("bind webhook"),
        tx,
    );
    let (head, body) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("webhook called");
    let sig = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("x-e173gw-signature:")
                .then(|| l[19..].trim().to_string())
        })
        .expect("signature header");
    assert_eq!(
        Some(sig),
        e173gw_core::sms::delivery::signature("s3cret", body.as_bytes())
    );
    let ev: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(ev["event"], "sms.received");
    assert_eq!(ev["sms"]["text"].as_str(), Some(long.trim_end()));
    let v = until(Duration::from_secs(10), "delivered", || {
        let (_, v) = call(
            &gw,
            "GET",
            &format!("/api/sms/{}", got[0]["id"].as_str().unwrap_or("")),
            false,
            "",
        );
        (v["state"] == "delivered").then_some(v)
    });
    assert_eq!(
        v["delivered_to"],
        serde_json::json!(["sip", "webhook"]),
        "{v}"
    );
    // The parts left the SIM once the whole message was kept.
    let st = gw.sim("status modem0");
    assert_eq!(st["modems"][0]["sms"]["stored"], 0, "{st}");
}

#[test]
fn a_low_balance_is_read_alerted_and_rests_the_sim() {
    let extra = r#"
[[sim.ussd]]
code = "*222#"
reply = "Saldo R$ {balance} valido ate 10/12/2026"
[[sim.ussd]]
code = "*222*12345678#"
reply = "Recarga de R$ 20,00 efetuada"
[[sim.ussd]]
code = "*111#"
reply = "1 Saldo 2 Pacotes"
mode = 1
encoding = "ucs2"
[[sim.ussd]]
code = "*111#>2"
reply = "Pacote diário: R$ 1,99"
encoding = "ucs2"
[ussd]
low_balance_cents = 500
rest_when_low = true
[[ussd.balance]]
plmn = "*"
code = "*222#"
pattern = "Saldo R\\$ (?P<balance>[0-9.,]+) valido ate (?P<expiry>\\S+)"
recharge = "*222*{voucher}#"
recharge_ok = "efetuada"
"#;
    let gw = gateway(extra, 1);
    let id = wait_ready(&gw, 1)["modem0"].clone();
    gw.sim("balance modem0 3,50");
    let (s, v) = call(&gw, "POST", &format!("/api/modems/{id}/balance"), true, "");
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["cents"], 350);
    assert_eq!(v["expiry"], "10/12/2026");
    assert_eq!(v["low"], true);
    let (_, list) = call(&gw, "GET", "/api/balances", false, "");
    assert_eq!(list[0]["low"], true, "{list}");
    assert_eq!(
        gw.metric(&format!("e173gw_sim_balance_low{{modem=\"{id}\"}}")),
        Some(1.0)
    );
    assert_eq!(
        gw.metric(&format!("e173gw_sim_balance_cents{{modem=\"{id}\"}}")),
        Some(350.0)
    );
    let m = until(Duration::from_secs(5), "the rest", || {
        let (_, m) = call(&gw, "GET", &format!("/api/modems/{id}"), false, "");
        (m["state"] == "rested").then_some(m)
    });
    assert!(
        m["reason"].as_str().unwrap_or("").contains("balance"),
        "{m}"
    );
    // A recharge with a voucher, read by the operator's success pattern.
    let (s, v) = call(
        &gw,
        "POST",
        &format!("/api/modems/{id}/recharge"),
        true,
        r#"{"voucher":"12345678"}"#,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["text"], "Recarga de R$ 20,00 efetuada");
    let (s, _) = call(
        &gw,
        "POST",
        &format!("/api/modems/{id}/recharge"),
        true,
        r#"{"voucher":"99"}"#,
    );
    assert_eq!(
        s, 503,
        "an unknown voucher gets the network's fallback reply, not a success"
    );
    assert_eq!(
        call(
            &gw,
            "POST",
            &format!("/api/modems/{id}/recharge"),
            true,
            r#"{"voucher":"12ab"}"#
        )
        .0,
        400
    );
    // Topped up: the next check says so.
    gw.sim("balance modem0 25,00");
    let (_, v) = call(&gw, "POST", &format!("/api/modems/{id}/balance"), true, "");
    assert_eq!(
        (v["cents"].as_i64(), v["low"].as_bool()),
        (Some(2500), Some(false)),
        "{v}"
    );
    // Any code, and a bad one.
    let (s, v) = call(
        &gw,
        "POST",
        &format!("/api/modems/{id}/ussd"),
        true,
        r#"{"code":"*222#"}"#,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["text"], "Saldo R$ 25,00 valido ate 10/12/2026");
    assert_eq!(
        call(
            &gw,
            "POST",
            &format!("/api/modems/{id}/ussd"),
            true,
            r#"{"code":"AT+CFUN"}"#
        )
        .0,
        400
    );
    assert_eq!(
        call(&gw, "POST", "/api/modems/nope/balance", true, "").0,
        404
    );
}

#[test]
fn a_trunk_message_is_sent_as_sms() {
    let gw = gateway("[sms]\npace_ms = 100\n", 1);
    wait_ready(&gw, 1);
    let out = common::sipp::sipp(
        &[
            "-sf",
            scenario("uac_message.xml").to_str().expect("utf8"),
            "-s",
            "+5511987654321",
            "-m",
            "1",
        ],
        gw.udp,
    );
    assert!(
        out.status.success(),
        "SIPp: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sent = until(Duration::from_secs(20), "the SMS on the modem", || {
        let st = gw.sim("status modem0");
        st["modems"][0]["sms_sent"]
            .as_array()
            .filter(|a| !a.is_empty())
            .cloned()
    });
    assert_eq!(sent[0]["to"], "+5511987654321");
    assert_eq!(sent[0]["text"], "Pedido 4711 enviado. Obrigado!");
    let (_, list) = call(&gw, "GET", "/api/sms?direction=outbound", false, "");
    assert_eq!(list[0]["origin"], "sip:test", "{list}");
}
