//! End to end: routing with SIPp as the trunk and the pty simulator as the modems.
//! Numbers spread over the SIMs and stick to the one that answered them (also after a
//! restart); operator affinity; per-SIM limits read back from the store; SIM protection
//! rests a SIM after a streak and takes it back after the cool-down; a wedged or
//! unplugged modem fails over while the caller sees one call.

// Tests drive real processes on the wall clock.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::{Duration, Instant};

use serde_json::Value;

use common::gw::{Gateway, Options};
use common::sipp::{final_scenario, scenario};

fn gateway(modems: usize, extra: &str, sim_scenario: Option<&str>) -> Gateway {
    Gateway::start(Options {
        modems,
        extra: extra.to_string(),
        scenario: sim_scenario.map(str::to_string),
        ..Options::default()
    })
}

/// The simulator's modem names by index, and their ids in the gateway (IMEIs).
fn ids(gw: &Gateway) -> Vec<String> {
    gw.sim("status")["modems"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|x| x["imei"].as_str().unwrap_or("-").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn modem_of(r: &Value) -> String {
    r["target"]["modem"].as_str().unwrap_or("-").to_string()
}

fn lines(r: &Value, field: &str) -> Vec<String> {
    common::gw::strings(&r[field])
}

fn answered_call(gw: &Gateway, number: &str) -> Value {
    let r = gw.one_call(&scenario("uac_bye.xml"), number, &["-d", "200"]);
    assert_eq!(r["sip_status"], 200, "{number}: {r}");
    r
}

#[test]
fn numbers_spread_over_the_sims_and_stick_to_theirs_also_after_a_restart() {
    let mut gw = gateway(3, "", None);
    let numbers = ["5511912340001", "5511912340002", "5511912340003"];
    let first: Vec<String> = numbers
        .iter()
        .map(|n| modem_of(&answered_call(&gw, n)))
        .collect();
    let mut distinct = first.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "three numbers, three SIMs: {first:?}");
    // Each number goes back to its SIM, though another SIM has made fewer calls since.
    for (n, m) in numbers.iter().zip(&first).rev() {
        let r = answered_call(&gw, n);
        assert_eq!(&modem_of(&r), m, "{n}");
        let why = lines(&r, "route");
        assert!(
            why.first()
                .is_some_and(|l| l.contains(&format!("#1 {m}: sticky route"))),
            "{why:?}"
        );
    }
    gw.restart();
    let r = answered_call(&gw, numbers[1]);
    assert_eq!(modem_of(&r), first[1], "the sticky map outlives a restart");
}

#[test]
fn operator_affinity_takes_an_on_net_sim() {
    let extra = r#"
[[sim.modem]]
operator = "VIVO"
[[sim.modem]]
operator = "TIM BRASIL"
[[sim.modem]]
operator = "Claro BR"
[filter]
default_region = "BR"
[[filter.stage]]
kind = "operator"
files = ["OPERATORS"]
[routing]
sticky = false
operator_affinity = true
operator_fallback = ["Vivo"]
sim_operator = { "TIM BRASIL" = "TIM", "Claro BR" = "Claro", "VIVO" = "Vivo" }
"#
    .replace(
        "OPERATORS",
        &common::root()
            .join("config/operators/55-sample.txt")
            .display()
            .to_string(),
    );
    let gw = gateway(3, &extra, None);
    let id = ids(&gw);
    // 5511910 is TIM, 5511912 Claro, 5511913 Vivo in the sample table; each twice, so
    // balancing alone would have moved the second call.
    for (number, modem) in [
        ("5511910000001", 1),
        ("5511910000002", 1),
        ("5511912000001", 2),
        ("5511912000002", 2),
        ("5511913000001", 0),
    ] {
        let r = answered_call(&gw, number);
        assert_eq!(
            modem_of(&r),
            id[modem],
            "{number}: {:?}",
            lines(&r, "route")
        );
        assert!(
            lines(&r, "route")[0].contains("on-net"),
            "{:?}",
            lines(&r, "route")
        );
    }
    // Oi (5511919) has no SIM here: the fallback operator first.
    let r = answered_call(&gw, "5511919000001");
    assert_eq!(modem_of(&r), id[0], "{:?}", lines(&r, "route"));
    assert!(lines(&r, "route")[0].contains("operator fallback #1 (Vivo)"));
}

#[test]
fn daily_limits_stop_a_sim_for_the_rest_of_the_day_also_after_a_restart() {
    let extra = r#"
[routing]
sticky = false
[routing.limits.default]
calls_per_day = 1
"#;
    let mut gw = gateway(2, extra, None);
    let a = modem_of(&answered_call(&gw, "5511912340001"));
    let b = modem_of(&answered_call(&gw, "5511912340002"));
    assert_ne!(a, b);
    let sc = final_scenario(gw.dir.path(), 480);
    let r = gw.one_call(&sc, "5511912340003", &[]);
    assert_eq!(r["sip_status"], 480, "{r}");
    assert_eq!(r["end_reason"], "no_route");
    let why = lines(&r, "route");
    assert!(
        why.iter().any(|l| l.contains("daily calls reached (1/1)")),
        "{why:?}"
    );
    // The counters were written to the store: a restart does not reset the day.
    std::thread::sleep(Duration::from_millis(600));
    gw.restart();
    std::thread::sleep(Duration::from_millis(500));
    let r = gw.one_call(&sc, "5511912340004", &[]);
    assert_eq!(r["sip_status"], 480, "{r}");
    // The operator raises the limit while the gateway runs: the next call goes through.
    let cfg = gw.dir.path().join("gw.toml");
    let text = std::fs::read_to_string(&cfg).expect("config");
    std::fs::write(&cfg, text.replace("calls_per_day = 1", "calls_per_day = 2")).expect("edit");
    gw.run
        .wait_for("Routing rules reloaded.", 1, Duration::from_secs(5));
    let r = answered_call(&gw, "5511912340005");
    assert!(
        lines(&r, "route")[0].contains("1 calls today"),
        "{:?}",
        lines(&r, "route")
    );
}

#[test]
fn a_streak_of_unanswered_calls_rests_the_sim_until_a_probe_after_the_cool_down() {
    let extra = r#"
[routing]
sticky = false
[routing.protection]
unanswered_streak = 2
rest_s = 2
short_call_s = 1
"#;
    let sim = r#"
[[rule]]
prefix = "5511900"
outcome = "busy"
"#;
    let mut gw = gateway(1, extra, Some(sim));
    let id = ids(&gw).remove(0);
    let busy = final_scenario(gw.dir.path(), 486);
    for n in ["5511900000001", "5511900000002"] {
        let r = gw.one_call(&busy, n, &[]);
        assert_eq!(r["sip_status"], 486, "{r}");
    }
    let refused = final_scenario(gw.dir.path(), 480);
    let r = gw.one_call(&refused, "5511912340001", &[]);
    assert_eq!(r["sip_status"], 480, "{r}");
    let why = lines(&r, "route");
    assert!(
        why.iter()
            .any(|l| l.contains(&format!("{id}: rested: 2 unanswered calls in a row"))),
        "{why:?}"
    );
    assert_eq!(gw.metric("e173gw_routing_sims_rested"), Some(1.0));
    std::thread::sleep(Duration::from_millis(2200));
    // The rest is over: the next call is the probe, and it is answered (and not short).
    let r = gw.one_call(&scenario("uac_bye.xml"), "5511912340002", &["-d", "1500"]);
    assert_eq!(r["sip_status"], 200, "{r}");
    assert_eq!(modem_of(&r), id);
    gw.run
        .wait_for("SIM back in rotation", 1, Duration::from_secs(5));
}

fn failover_gap_ms(r: &Value) -> Option<u64> {
    // From the failed attempt (the call back in routing) to the next modem dialling.
    let h = r["history"].as_array()?;
    let back = h
        .iter()
        .filter(|t| t["machine"] == "call" && t["to"] == "routing")
        .nth(1)?["at_ms"]
        .as_u64()?;
    let next = h
        .iter()
        .filter(|t| t["machine"] == "call" && t["to"] == "connecting")
        .nth(1)?["at_ms"]
        .as_u64()?;
    Some(next.saturating_sub(back))
}

#[test]
fn a_wedged_modem_fails_over_within_the_ack_timeout_and_the_caller_sees_one_call() {
    let gw = gateway(2, "[routing]\nsticky = false\n", None);
    // Equal SIMs are taken in id order: freeze the first one.
    let id = ids(&gw);
    let (first, second) = if id[0] < id[1] { (0, 1) } else { (1, 0) };
    // The known wedge: commands unanswered, URCs still flowing.
    gw.sim(&format!("freeze modem{first}"));
    let started = Instant::now();
    let r = answered_call(&gw, "5511912340001");
    let took = started.elapsed();
    assert_eq!(modem_of(&r), id[second], "{r}");
    let attempts = r["attempts"].as_array().cloned().unwrap_or_default();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0]["modem"], id[first].as_str());
    assert!(
        took < Duration::from_secs(6),
        "an unacknowledged ATD moves the call after 3 s, not after the network timeout: {took:?}"
    );
    let gap = failover_gap_ms(&r).expect("two routings in the history");
    eprintln!("wedge: failover to the next modem in {gap} ms; call took {took:?}");
    gw.sim(&format!("thaw modem{first}"));
}

#[test]
fn a_modem_unplugged_mid_dial_fails_over_and_the_caller_sees_one_call() {
    let sim = r#"
[[rule]]
prefix = "5511912"
modems = ["modem0", "modem1"]
outcome = "answer"
after_ms = 3000
"#;
    let gw = gateway(2, "[routing]\nsticky = false\n", Some(sim));
    let id = ids(&gw);
    let (first, second) = if id[0] < id[1] { (0, 1) } else { (1, 0) };
    let mut caller = common::sipp::Background::caller(
        &[
            "-sf",
            scenario("uac_bye.xml").to_str().expect("utf8"),
            "-s",
            "5511912340001",
            "-m",
            "1",
            "-d",
            "200",
        ],
        gw.udp,
    );
    // Wait until the first modem rings, then pull it.
    gw.wait_sim_call(&format!("modem{first}"), Duration::from_secs(10));
    gw.sim(&format!("unplug modem{first}"));
    let status = caller.wait(Duration::from_secs(20)).expect("sipp ended");
    assert!(status.success(), "the caller saw one answered call");
    let r = gw.wait_records(1, Duration::from_secs(5)).remove(0);
    assert_eq!(r["sip_status"], 200, "{r}");
    assert_eq!(modem_of(&r), id[second]);
    let attempts = r["attempts"].as_array().cloned().unwrap_or_default();
    assert_eq!(attempts[0]["modem"], id[first].as_str(), "{attempts:?}");
    let gap = failover_gap_ms(&r).expect("two routings in the history");
    eprintln!("unplug: failover to the next modem in {gap} ms");
}

#[test]
fn agent_delivery_by_redirect_answers_302_with_the_agents_contact() {
    // Trunk "test" is redirected; the agent never hears from the gateway.
    let gw = Gateway::start(Options {
        modems: 1,
        target: "agent".into(),
        extra: "[agent]\nuri = \"sip:agent@127.0.0.1:5999\"\n[routing]\nagent_delivery_by_trunk = { test = \"redirect\" }\n"
            .into(),
        ..Options::default()
    });
    let raw = common::gw::RawSip::new("127.0.0.1", gw.udp);
    let inv = common::gw::invite(
        raw.local(),
        gw.udp,
        "5511912340001",
        "redir-1@test",
        "z9hG4bKr1",
        4000,
    );
    raw.send(&inv);
    let (resp, _) = raw.recv_until("SIP/2.0 302", Duration::from_secs(5));
    assert_eq!(
        common::gw::header(&resp, "Contact"),
        Some("<sip:agent@127.0.0.1:5999>"),
        "{resp}"
    );
    // The ACK for the 302 (same branch, RFC 3261 §17.1.1.3) ends the transaction.
    let to = common::gw::header(&resp, "To")
        .unwrap_or_default()
        .to_string();
    let local = raw.local();
    raw.send(&format!(
        "ACK sip:5511912340001@{gw} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKr1;rport\r\nFrom: <sip:5511977776666@{local}>;tag=raw1\r\n\
         To: {to}\r\nCall-ID: redir-1@test\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        gw = gw.udp
    ));
    let r = gw.wait_records(1, Duration::from_secs(10)).remove(0);
    assert_eq!(r["sip_status"], 302, "{r}");
    assert_eq!(r["end_reason"], "redirected");
    assert_eq!(r["target"]["kind"], "agent");
    assert_eq!(r["target"]["uri"], "sip:agent@127.0.0.1:5999");
    // No retransmission of the 302 after the ACK.
    let later = raw.recv_for(Duration::from_millis(1200));
    assert!(
        later.iter().all(|m| !m.starts_with("SIP/2.0 302")),
        "{later:?}"
    );
}

#[test]
fn check_number_asks_the_running_gateway_why_this_sim() {
    let gw = gateway(2, "", None);
    let sim = modem_of(&answered_call(&gw, "5511912340001"));
    let cfg = gw.dir.path().join("gw.toml");
    let out = std::process::Command::new(common::bin())
        .args(["check-number", "--config"])
        .arg(&cfg)
        .args(["--callee", "5511912340001", "--gateway"])
        .arg(gw.http.to_string())
        .output()
        .expect("check-number runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("verdict: ALLOW"), "{text}");
    assert!(text.contains("route (dry run on the gateway at"), "{text}");
    assert!(text.contains(&format!("#1 {sim}: sticky route")), "{text}");
    assert!(
        text.contains(&format!("the call would take {sim}")),
        "{text}"
    );
    // A dry run leases nothing and counts no decision.
    assert_eq!(gw.metric("e173gw_routing_leases"), Some(0.0));
    assert_eq!(gw.metric("e173gw_routing_decisions_total"), Some(1.0));
    // Another number has no sticky route: the SIM with fewer calls today.
    let (code, body) = gw.http_get("/route?callee=5511912340002");
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let lines: Vec<&str> = v["route"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(lines[0], "no sticky route", "{lines:?}");
    assert!(lines[1].contains("0 calls today"), "{lines:?}");
    assert!(!lines[1].contains(&sim), "{lines:?}");
    assert_eq!(gw.http_get("/route").0, 400);
}

#[test]
fn strict_sticky_mode_waits_for_the_busy_sim_instead_of_taking_another() {
    let gw = gateway(
        2,
        "[routing]\nsticky_mode = \"strict\"\nsticky_wait_ms = 8000\n",
        None,
    );
    let number = "5511912340001";
    let sim = modem_of(&answered_call(&gw, number));
    // A long call holds the number's SIM; a second call to the number waits for it
    // although the other SIM is free.
    let mut long = common::sipp::Background::caller(
        &[
            "-sf",
            scenario("uac_bye.xml").to_str().expect("utf8"),
            "-s",
            number,
            "-m",
            "1",
            "-d",
            "2500",
        ],
        gw.udp,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while gw.metric("e173gw_routing_leases") != Some(1.0) {
        assert!(Instant::now() < deadline, "the long call never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    answered_call(&gw, number);
    assert!(long.wait(Duration::from_secs(20)).expect("ended").success());
    // The waiting call ended after the long one: its record is not the one `one_call`
    // saw first; take the call received last.
    let r = gw
        .wait_records(3, Duration::from_secs(5))
        .into_iter()
        .max_by_key(|x| x["received_ms"].as_u64())
        .expect("records");
    assert_eq!(modem_of(&r), sim, "{:?}", lines(&r, "route"));
    let why = lines(&r, "route");
    assert!(
        why[0].contains(&format!("sticky SIM {sim} freed up while the call waited")),
        "{why:?}"
    );
}

#[test]
fn a_modem_that_keeps_failing_is_quarantined_then_readmitted() {
    let mut gw = gateway(
        2,
        "[routing]\nsticky = false\n[recovery]\nquarantine_after = 2\nquarantine_window_s = 60\nquarantine_s = 3\n",
        None,
    );
    let id = ids(&gw);
    let (first, second) = if id[0] < id[1] { (0, 1) } else { (1, 0) };
    // A wedged modem fails a call and climbs its recovery ladder: soft reset, then reopen.
    gw.sim(&format!("freeze modem{first}"));
    let r = answered_call(&gw, "5511912340001");
    assert_eq!(modem_of(&r), id[second]);
    gw.run
        .wait_for("Modem quarantined", 1, Duration::from_secs(10));
    let (_, body) = gw.http_get("/route?callee=5511912340002");
    assert!(
        body.contains(&format!("{}: quarantined: 2 resets within 60 s", id[first])),
        "{body}"
    );
    // It recovers at once, but stays out until the quarantine is over.
    gw.sim(&format!("thaw modem{first}"));
    gw.run.wait_for(
        "Modem readmitted after quarantine.",
        1,
        Duration::from_secs(10),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = gw.http_get("/route?callee=5511912340002");
        if body.contains(&format!("the call would take {}", id[first])) {
            assert!(!body.contains("quarantined"), "{body}");
            break;
        }
        assert!(Instant::now() < deadline, "never readmitted: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_sims_longest_call_limit_hangs_the_call_up() {
    let gw = gateway(1, "[routing.limits.default]\nmax_call_s = 1\n", None);
    let started = Instant::now();
    let r = gw.one_call(&scenario("uac_remote_bye.xml"), "5511912340001", &[]);
    assert_eq!(r["sip_status"], 200, "{r}");
    assert_eq!(r["end_reason"], "max_duration", "{r}");
    let talk = r["talk_ms"].as_u64().unwrap_or(0);
    assert!((900..3000).contains(&talk), "talked {talk} ms");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn options_carry_the_node_view_only_to_peer_trunks() {
    let gw = Gateway::start(Options {
        modems: 1,
        trunk_sources: "\"127.0.0.1/32\"".into(),
        extra: "[[trunk]]\nname = \"peers\"\nsources = [\"127.0.0.5/32\"]\npeer = true\n".into(),
        ..Options::default()
    });
    let id = ids(&gw).remove(0);
    let options = |from: &str| {
        let raw = common::gw::RawSip::new(from, gw.udp);
        let local = raw.local();
        raw.send(&format!(
            "OPTIONS sip:{gw} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKo1;rport\r\nFrom: <sip:n@{local}>;tag=o1\r\n\
             To: <sip:{gw}>\r\nCall-ID: opt-{from}@test\r\nCSeq: 1 OPTIONS\r\nAccept: application/x-e173gw-node+json\r\n\
             Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
            gw = gw.udp
        ));
        raw.recv_until("SIP/2.0 200", Duration::from_secs(5)).0
    };
    // The view is rewritten at most every 100 ms: the modem shows free shortly after ready.
    let deadline = Instant::now() + Duration::from_secs(3);
    let view = loop {
        let peer = options("127.0.0.5");
        let body = peer.split("\r\n\r\n").nth(1).unwrap_or_default();
        let view: Value = serde_json::from_str(body).expect("a node view");
        if view["modems"][0]["free"] == true || Instant::now() > deadline {
            break view;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(view["node"], "n1");
    assert_eq!(view["modems"][0]["id"], id.as_str(), "{view}");
    assert_eq!(view["modems"][0]["free"], true, "{view}");
    let trunk = options("127.0.0.1");
    assert_eq!(
        common::gw::header(&trunk, "Content-Length"),
        Some("0"),
        "{trunk}"
    );
}

#[test]
fn a_screening_rule_can_redirect_its_calls_to_the_agent() {
    let gw = Gateway::start(Options {
        modems: 1,
        extra: r#"
[agent]
uri = "sip:agent@127.0.0.1:5998"
[filter]
[[filter.stage]]
kind = "blacklist"
entry = [{ prefix = "55119000", reason = "suspect range" }]
on_match = { action = "divert", reason = "suspect", delivery = "redirect" }
"#
        .into(),
        ..Options::default()
    });
    let sc = final_scenario(gw.dir.path(), 302);
    let r = gw.one_call(&sc, "5511900001234", &[]);
    assert_eq!(r["sip_status"], 302, "{r}");
    assert_eq!(r["end_reason"], "redirected");
    assert_eq!(r["target"]["uri"], "sip:agent@127.0.0.1:5998");
    // Calls the rule does not divert go to a modem as usual.
    let r = answered_call(&gw, "5511912340001");
    assert_eq!(r["target"]["kind"], "modem");
}
