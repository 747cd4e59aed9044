//! End to end: screening with SIPp as the trunk (and as the agent), the pty simulator as
//! the modems. Rejected calls never reach the router (no modem is leased); rules reload
//! while the gateway runs, and a bad edit leaves the old rules in force.

// Tests drive real processes on the wall clock.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::{Duration, Instant};

use common::gw::{Gateway, Options};
use common::sipp::{final_scenario, scenario};

const FILTER: &str = r#"
[filter]
default_region = "BR"
[[filter.stage]]
kind = "blacklist"
entry = [
  { number = "+5511900000666", reason = "known fraud" },
  { prefix = "+552199", reason = "test range" },
]
[[filter.stage]]
kind = "phone"
allowed_regions = ["BR"]
"#;

fn gateway(filter: &str) -> Gateway {
    Gateway::start(Options {
        modems: 1,
        extra: filter.to_string(),
        ..Options::default()
    })
}

fn verdict(r: &serde_json::Value) -> Vec<String> {
    common::gw::strings(&r["verdict"])
}

#[test]
fn blacklisted_and_invalid_numbers_are_refused_before_any_modem_and_clean_ones_dialled() {
    let gw = gateway(FILTER);
    let cases: &[(&str, u16, &str)] = &[
        ("5511900000666", 403, "blacklist: match -> reject 403"),
        ("+5521998887777", 403, "blacklist: match -> reject 403"),
        ("551190", 484, "phone: invalid -> reject 484"),
        ("+351912345678", 403, "phone: region -> reject 403"),
    ];
    for (number, status, line) in cases {
        let sc = final_scenario(gw.dir.path(), *status);
        let r = gw.one_call(&sc, number, &[]);
        assert_eq!(r["sip_status"], *status, "{number}: {r}");
        assert_eq!(r["end_reason"], "screened", "{number}");
        assert_eq!(r["target"]["kind"], "none", "{number}");
        let v = verdict(&r);
        assert!(v.iter().any(|l| l.starts_with(line)), "{number}: {v:?}");
    }
    // Not one route was asked for: no modem was leased for a refused call.
    assert_eq!(gw.metric("e173gw_routing_decisions_total"), Some(0.0));
    assert_eq!(
        gw.metric("e173gw_filter_decisions_total{decision=\"reject\"}"),
        Some(4.0)
    );
    let r = gw.one_call(&scenario("uac_bye.xml"), "5511912345678", &["-d", "200"]);
    assert_eq!(r["sip_status"], 200);
    assert_eq!(r["target"]["kind"], "modem");
    let v = verdict(&r);
    assert!(
        v.iter().any(
            |l| l.starts_with("phone: pass -> continue (+5511912345678 type=mobile region=BR)")
        ),
        "{v:?}"
    );
    assert_eq!(v.last().map(String::as_str), Some("verdict: allow"));
    assert_eq!(gw.metric("e173gw_routing_decisions_total"), Some(1.0));
}

fn wait_version(gw: &Gateway, v: f64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while gw.metric("e173gw_filter_rules_version") != Some(v) {
        assert!(Instant::now() < deadline, "rules version {v} never came");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn rules_reload_on_edit_and_on_sighup_calls_in_flight_finish_and_bad_edits_are_refused() {
    let mut gw = gateway(FILTER);
    let cfg = gw.dir.path().join("gw.toml");
    let text = std::fs::read_to_string(&cfg).expect("config");
    // A call in flight while the rules change.
    let mut long = common::sipp::Background::caller(
        &[
            "-sf",
            scenario("uac_bye.xml").to_str().expect("utf8"),
            "-s",
            "5511912345678",
            "-m",
            "1",
            "-d",
            "2500",
        ],
        gw.udp,
    );
    std::thread::sleep(Duration::from_millis(700));
    // Good edit: the number being called is blacklisted from now on.
    let edited = text.replace(
        "{ prefix = \"+552199\", reason = \"test range\" },",
        "{ prefix = \"+552199\", reason = \"test range\" },\n  { number = \"+5511912345678\", reason = \"added live\" },",
    );
    assert_ne!(edited, text);
    std::fs::write(&cfg, &edited).expect("edit");
    wait_version(&gw, 2.0);
    let status = long
        .wait(Duration::from_secs(15))
        .expect("the call in flight ended");
    assert!(status.success(), "the call in flight was not disturbed");
    let recs = gw.wait_records(1, Duration::from_secs(5));
    assert_eq!(recs[0]["sip_status"], 200);
    let r = gw.one_call(&final_scenario(gw.dir.path(), 403), "5511912345678", &[]);
    assert!(verdict(&r).iter().any(|l| l.contains("added live")), "{r}");

    // Bad edit: refused with the key named; the rules in force stay.
    let bad = edited.replace(
        "allowed_regions = [\"BR\"]",
        "allowed_regions = [\"Brazil\"]",
    );
    std::fs::write(&cfg, &bad).expect("edit");
    gw.run
        .wait_for("Config edit refused", 1, Duration::from_secs(10));
    assert!(
        gw.run.seen.iter().any(|l| l.contains("Config edit refused")
            && l.contains("filter.stage[1].allowed_regions[0]")),
        "the log names the key"
    );
    assert_eq!(gw.metric("e173gw_filter_reloads_refused_total"), Some(1.0));
    let r = gw.one_call(&final_scenario(gw.dir.path(), 403), "5511912345678", &[]);
    assert_eq!(r["sip_status"], 403);

    // SIGHUP reloads too (the file is good again).
    std::fs::write(&cfg, &text).expect("edit");
    wait_version(&gw, 3.0);
    let pid = gw.run.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    wait_version(&gw, 4.0);
    let r = gw.one_call(&scenario("uac_bye.xml"), "5511912345678", &["-d", "100"]);
    assert_eq!(r["sip_status"], 200);
    gw.kill9();
}

#[test]
fn the_modem_dials_the_form_its_profile_asks_for() {
    let profiles = tempfile::tempdir().expect("tmp");
    for e in std::fs::read_dir(common::root().join("modem-profiles")).expect("profiles") {
        let p = e.expect("entry").path();
        let mut text = std::fs::read_to_string(&p).expect("profile");
        if p.file_name().is_some_and(|n| n == "e173.toml") {
            text.push_str("\n[dial]\nformat = \"international\"\n");
        }
        std::fs::write(profiles.path().join(p.file_name().expect("name")), text).expect("copy");
    }
    let mut gw = Gateway::start(Options {
        modems: 1,
        extra: FILTER.to_string(),
        env: vec![(
            "E173GW_MODEMS__PROFILES_DIR".into(),
            profiles.path().display().to_string(),
        )],
        ..Options::default()
    });
    let r = gw.one_call(&scenario("uac_bye.xml"), "11912345678", &["-d", "100"]);
    assert_eq!(r["sip_status"], 200);
    assert_eq!(
        r["callee"], "11912345678",
        "the record keeps the number as received"
    );
    gw.run.wait_for("Dialling.", 1, Duration::from_secs(5));
    let line = gw
        .run
        .seen
        .iter()
        .find(|l| l.contains("Dialling."))
        .expect("a dialling line");
    assert!(line.contains("\"number\":\"+5511912345678\""), "{line}");
    assert!(line.contains("\"received\":\"11912345678\""), "{line}");
}

/// A WhatsApp provider on 127.0.0.1: WAHA's shape; numbers ending in 0 are not on
/// WhatsApp. Counts requests; `dead` makes it take connections and never answer.
struct Presence {
    port: u16,
    hits: std::sync::Arc<std::sync::atomic::AtomicU64>,
    dead: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

fn presence_server() -> Presence {
    use std::io::{Read, Write};
    use std::sync::atomic::Ordering;
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let dead = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (h, d) = (hits.clone(), dead.clone());
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            h.fetch_add(1, Ordering::SeqCst);
            if d.load(Ordering::SeqCst) {
                // Accepts and never answers.
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_secs(5));
                    drop(s);
                });
                continue;
            }
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let path = req.split_whitespace().nth(1).unwrap_or("").to_string();
            let yes = !path.ends_with('0');
            let body = format!("{{\"numberExists\":{yes}}}");
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Presence { port, hits, dead }
}

#[test]
fn numbers_not_on_whatsapp_go_to_the_agent_with_the_reason_and_a_dead_provider_lets_calls_through()
{
    use std::sync::atomic::Ordering;
    let wa = presence_server();
    let agent = common::sipp::Background::start(&["-sn", "uas"]);
    let gw = Gateway::start(Options {
        modems: 1,
        extra: format!(
            r#"
[agent]
uri = "sip:agent@127.0.0.1:{agent}"
[filter]
[[filter.stage]]
kind = "phone"
[[filter.stage]]
kind = "whatsapp"
budget_ms = 300
negative_ttl_s = 600
provider = {{ url = "http://127.0.0.1:{wa}/check?phone={{digits}}", answer = "/numberExists" }}
"#,
            agent = agent.port,
            wa = wa.port
        ),
        ..Options::default()
    });
    let sc = scenario("uac_bye.xml");
    let r = gw.one_call(&sc, "5511912345670", &["-d", "200"]);
    assert_eq!(r["sip_status"], 200);
    assert_eq!(r["target"]["kind"], "agent", "{r}");
    assert!(
        verdict(&r)
            .iter()
            .any(|l| l.starts_with("whatsapp: absent -> divert (absent (provider))")),
        "{r}"
    );
    std::thread::sleep(Duration::from_millis(300));
    let seen = agent.messages();
    for want in [
        "X-E173GW-Reason: no whatsapp",
        "X-E173GW-Screening: phone=pass/continue;whatsapp=absent/divert",
        "X-E173GW-Callee-E164: +5511912345670",
    ] {
        assert!(
            seen.contains(want),
            "{want} not in what the agent got:\n{seen}"
        );
    }
    // The same number again: the negative answer is cached.
    let r = gw.one_call(&sc, "5511912345670", &["-d", "100"]);
    assert_eq!(r["target"]["kind"], "agent");
    assert!(
        verdict(&r).iter().any(|l| l.contains("absent (cached)")),
        "{r}"
    );
    assert_eq!(wa.hits.load(Ordering::SeqCst), 1);
    // On WhatsApp: dialled on the modem.
    let r = gw.one_call(&sc, "5511912345671", &["-d", "100"]);
    assert_eq!(r["target"]["kind"], "modem", "{r}");
    // A provider that never answers: the budget runs out, the default policy lets it on.
    wa.dead.store(true, Ordering::SeqCst);
    let t0 = Instant::now();
    let r = gw.one_call(&sc, "5511912345672", &["-d", "100"]);
    assert_eq!(r["target"]["kind"], "modem", "{r}");
    assert!(
        verdict(&r)
            .iter()
            .any(|l| l.starts_with("whatsapp: failure -> continue (timeout)")),
        "{r}"
    );
    let to_answer = r["answered_ms"].as_u64().unwrap_or(0) - r["received_ms"].as_u64().unwrap_or(0);
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert!(to_answer < 3000, "screening held the call {to_answer} ms");
}

#[test]
fn a_number_the_network_called_unassigned_is_refused_next_time_without_a_modem() {
    let gw = Gateway::start(Options {
        modems: 1,
        scenario: Some("[[rule]]\nnumber = \"5511900000099\"\noutcome = \"unassigned\"\n".into()),
        extra: "[filter]\n[[filter.stage]]\nkind = \"history\"\ndead_number_ttl_s = 3600\n".into(),
        ..Options::default()
    });
    let sc = final_scenario(gw.dir.path(), 404);
    let r = gw.one_call(&sc, "5511900000099", &[]);
    assert_eq!(r["target"]["kind"], "modem", "{r}");
    assert_eq!(r["gsm_end"], "unassigned", "{r}");
    assert!(
        verdict(&r).iter().any(|l| l.starts_with("history: pass")),
        "{r}"
    );
    // The record reaches the store shortly after; then the number is known dead.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = gw.one_call(&sc, "5511900000099", &[]);
        if r["end_reason"] == "screened" {
            assert!(
                verdict(&r)
                    .iter()
                    .any(|l| l.starts_with("history: dead_number -> reject 404")),
                "{r}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "never refused: {r}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let decisions = gw.metric("e173gw_routing_decisions_total").unwrap_or(0.0);
    let r = gw.one_call(&sc, "5511900000099", &[]);
    assert_eq!(r["end_reason"], "screened");
    assert_eq!(
        gw.metric("e173gw_routing_decisions_total"),
        Some(decisions),
        "no route asked"
    );
}
