//! Incoming GSM calls end to end, against the real binary and the pty simulator: a call
//! rung on a SIM is offered to a SIPp desk and bridged with audio both ways (SIPp echoes
//! the RTP, so the caller hears its own tone back through the gateway); a call whose
//! target is down is released; a SIM whose policy refuses calls hangs up at once. Each
//! leaves one record with direction `inbound`.

#![allow(clippy::disallowed_methods)]

mod common;

use std::time::{Duration, Instant};

use common::gw::{free_port, Gateway, Options};
use common::sipp::{scenario, Background};
use serde_json::Value;

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

fn gateway(extra: &str, modems: usize) -> Gateway {
    let gw = Gateway::start(Options {
        modems,
        extra: extra.into(),
        ..Options::default()
    });
    until(Duration::from_secs(20), "the modems", || {
        let (_, body) = gw.http_get("/api/modems");
        let v: Value = serde_json::from_str(&body).ok()?;
        (v.as_array()?
            .iter()
            .filter(|m| m["state"] == "available")
            .count()
            >= modems)
            .then_some(())
    });
    gw
}

fn inbound_records(gw: &Gateway) -> Vec<Value> {
    gw.records()
        .into_iter()
        .filter(|r| r["direction"] == "inbound")
        .collect()
}

#[test]
fn an_incoming_call_is_bridged_to_a_sip_desk_with_audio_both_ways() {
    let desk = Background::start(&[
        "-sf",
        scenario("uas_inbound.xml").to_str().expect("utf8"),
        "-rtp_echo",
        "-m",
        "1",
    ]);
    let extra = format!(
        "[inbound]\npolicy = \"answer\"\ntarget = \"sip:desk@127.0.0.1:{}\"\n",
        desk.port
    );
    let gw = gateway(&extra, 1);
    let r = gw.sim("ring modem0 +5511911112222");
    assert_eq!(r["ok"], true, "{r}");
    // The desk answers; the modem answers the GSM caller; audio flows.
    until(
        Duration::from_secs(15),
        "the call answered on the modem",
        || {
            let st = gw.sim("status modem0");
            (st["modems"][0]["call"]["stat"] == "active").then_some(())
        },
    );
    std::thread::sleep(Duration::from_millis(2500));
    let r = gw.sim("hangup modem0");
    assert_eq!(r["ok"], true, "{r}");
    let rec = until(Duration::from_secs(15), "the inbound record", || {
        inbound_records(&gw).into_iter().next()
    });
    assert_eq!(rec["caller"], "+5511911112222", "{rec}");
    assert_eq!(rec["sip_status"], 200, "{rec}");
    assert_eq!(rec["end_reason"], "caller_hangup", "{rec}");
    assert!(rec["talk_ms"].as_u64().unwrap_or(0) >= 1500, "{rec}");
    let desk_saw = desk.messages();
    assert!(
        desk_saw.contains("From: <sip:+5511911112222@"),
        "{desk_saw}"
    );
    assert!(
        desk_saw.contains("BYE sip:desk@"),
        "the caller's hang-up reached the desk"
    );
    // The modem heard its own tone back: through the gateway to the desk's RTP and back.
    let st = gw.wait_modems_idle(Duration::from_secs(5));
    let m = &st["modems"][0];
    let (sent, heard) = (
        m["tone_hz"].as_u64().unwrap_or(0),
        m["last_call"]["rx_tone_hz"].as_u64().unwrap_or(0),
    );
    assert!(
        heard.abs_diff(sent) <= 30,
        "the modem sent {sent} Hz and heard {heard} Hz: {m}"
    );
    assert!(
        m["last_call"]["rx_frames"].as_u64().unwrap_or(0) >= 50,
        "{m}"
    );
}

#[test]
fn a_target_that_is_down_releases_the_call_and_a_refusing_sim_hangs_up() {
    let down = free_port();
    // modem0's SIM answers (to a desk nobody runs); every other SIM refuses.
    let sims = e173gw_core::config::sim::SimConfig {
        count: 2,
        ..Default::default()
    }
    .resolve_modems();
    let extra = format!(
        "[inbound]\npolicy = \"reject\"\ntarget = \"sip:desk@127.0.0.1:{down}\"\nanswer_timeout_s = 5\n\
         [[inbound.rule]]\nmatch = \"{}\"\npolicy = \"answer\"\n",
        sims[0].imsi
    );
    let gw = gateway(&extra, 2);
    gw.sim("ring modem1 +5511955556666");
    let st = until(Duration::from_secs(10), "the refusal", || {
        let st = gw.sim("status modem1");
        st["modems"][0]["last_call"]["outcome"]
            .as_str()
            .is_some()
            .then_some(st)
    });
    assert_eq!(
        st["modems"][0]["last_call"]["outcome"], "local_hangup",
        "{st}"
    );
    assert!(
        inbound_records(&gw).is_empty(),
        "a refused ring is not a call"
    );
    let started = Instant::now();
    gw.sim("ring modem0 +5511933334444");
    let rec = until(Duration::from_secs(40), "the inbound record", || {
        inbound_records(&gw).into_iter().next()
    });
    assert!(
        started.elapsed() < Duration::from_secs(35),
        "released in time"
    );
    assert_eq!(rec["caller"], "+5511933334444", "{rec}");
    assert!(rec["answered_ms"].is_null(), "{rec}");
    let status = rec["sip_status"].as_u64().unwrap_or(0);
    assert!(matches!(status, 408 | 503), "{rec}");
    assert!(rec["q850"].as_u64().is_some(), "a cause is recorded: {rec}");
    let st = gw.wait_modems_idle(Duration::from_secs(10));
    assert_eq!(st["modems"][0]["last_call"]["answered"], false, "{st}");
    assert_eq!(
        st["modems"][0]["last_call"]["number"], "+5511933334444",
        "{st}"
    );
}
