//! End to end: two e173gw nodes on loopback sharing one PostgreSQL and one Redis. They
//! check each other with SIP OPTIONS; one sticky map (in Redis) sends a number to the SIM
//! that answered it, whichever node the call lands on, and the call crosses nodes; a node
//! killed mid-run is out of rotation within a second, and a call on its way to it moves to
//! a SIM of the node that took the call.

// Tests drive real processes on the wall clock.
#![allow(clippy::disallowed_methods)]

mod common;

use std::time::{Duration, Instant};

use serde_json::Value;

use common::gw::{free_port, Gateway, Options};
use common::services::{Postgres, Redis};
use common::sipp::{scenario, Background};

const IMSI_A: &str = "724020001000000";
const IMSI_B: &str = "724020001000099";

fn node(
    name: &str,
    ip: &str,
    port: u16,
    peer: (&str, &str, u16),
    sim: (&str, &str),
    pg: &Postgres,
    redis: &Redis,
) -> Gateway {
    let (peer_name, peer_ip, peer_port) = peer;
    let extra = format!(
        r#"
[[sim.modem]]
imei = "{imei}"
imsi = "{imsi}"
[[trunk]]
name = "peers"
sources = ["127.0.0.2/32", "127.0.0.3/32"]
peer = true
[[peer]]
name = "{peer_name}"
uri = "sip:{peer_ip}:{peer_port}"
[storage]
backend = "production"
postgres_url = "{pg}"
redis_url = "{redis}"
redis_prefix = "t:"
"#,
        imei = sim.0,
        imsi = sim.1,
        pg = pg.url(),
        redis = redis.url(),
    );
    let scenario = r#"
[[rule]]
prefix = "5511955"
outcome = "answer"
after_ms = 2500
"#;
    Gateway::start(Options {
        modems: 1,
        extra,
        scenario: Some(scenario.into()),
        trunk_sources: "\"127.0.0.1/32\"".into(),
        udp_listen: format!("{ip}:{port}"),
        env: vec![("E173GW_SIP__NODE_ID".into(), name.into())],
        ..Options::default()
    })
}

fn wait_metric(gw: &Gateway, name: &str, want: f64, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if gw.metric(name) == Some(want) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "{name} never became {want}: {:?}",
            gw.metric(name)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn call(gw: &Gateway, number: &str) -> Value {
    let r = gw.one_call(&scenario("uac_bye.xml"), number, &["-d", "200"]);
    assert_eq!(r["sip_status"], 200, "{r}");
    r
}

/// Waits until node `gw`'s dry run for `number` says `what`.
fn wait_route(gw: &Gateway, number: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, body) = gw.http_get(&format!("/route?callee={number}"));
        if body.contains(what) {
            return;
        }
        assert!(Instant::now() < deadline, "never {what:?}: {body}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn lines(r: &Value) -> Vec<String> {
    r["route"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn two_nodes_share_one_sticky_map_route_across_and_a_killed_node_leaves_rotation() {
    let pg = Postgres::start();
    let redis = Redis::start();
    let (pa, pb) = (free_port(), free_port());
    let a = node(
        "a",
        "127.0.0.2",
        pa,
        ("b", "127.0.0.3", pb),
        ("354911021000005", IMSI_A),
        &pg,
        &redis,
    );
    let mut b = node(
        "b",
        "127.0.0.3",
        pb,
        ("a", "127.0.0.2", pa),
        ("354911021000013", IMSI_B),
        &pg,
        &redis,
    );
    wait_metric(&a, "e173gw_peers_up", 1.0, Duration::from_secs(10));
    wait_metric(&b, "e173gw_peers_up", 1.0, Duration::from_secs(10));

    // A number answered on node B's SIM sticks to it in the shared map...
    let n = "5511912340001";
    let rb = call(&b, n);
    assert_eq!(rb["target"]["imsi"], IMSI_B);
    // ... so a call to it that lands on node A crosses to node B, which dials its SIM
    // (once A's view of B, at most one check old, shows the SIM free again; A's dry run
    // says so).
    wait_route(&a, n, "the call would take b.354911021000013");
    let ra = call(&a, n);
    assert_eq!(ra["target"]["kind"], "peer", "{ra}");
    assert_eq!(ra["target"]["node"], "b");
    assert_eq!(ra["target"]["imsi"], IMSI_B);
    let why = lines(&ra);
    assert!(
        why[0].contains("#1 b.354911021000013: sticky route"),
        "{why:?}"
    );
    let on_b = b.wait_records(2, Duration::from_secs(10));
    let forwarded = on_b.last().expect("B's record of the forwarded call");
    assert_eq!(forwarded["trunk"], "peers");
    assert_eq!(forwarded["target"]["imsi"], IMSI_B);
    assert_eq!(forwarded["sip_status"], 200);
    // Node A counted nothing for B's SIM (B did, in the shared store): a route through
    // A's own SIM for an unknown number still shows B's SIM with its calls.
    let ra2 = call(&a, "5511912340002");
    assert!(
        lines(&ra2).iter().any(|l| l.contains("b.354911021000013")),
        "{:?}",
        lines(&ra2)
    );

    // A call on its way to node B (ringing there) when B is killed moves to A's SIM;
    // the caller sees one answered call.
    let slow = "5511955000001";
    let r = b.one_call(&scenario("uac_bye.xml"), slow, &["-d", "200"]);
    assert_eq!(r["target"]["imsi"], IMSI_B, "sticky to B's SIM");
    wait_route(&a, slow, "the call would take b.354911021000013");
    let before = a.records().len();
    let mut caller = Background::caller(
        &[
            "-sf",
            scenario("uac_bye.xml").to_str().expect("utf8"),
            "-s",
            slow,
            "-m",
            "1",
            "-d",
            "200",
        ],
        a.udp,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let st = b.sim("status modem0");
        if !st["modems"][0]["call"].is_null() {
            break;
        }
        assert!(Instant::now() < deadline, "B's modem never rang: {st}");
        std::thread::sleep(Duration::from_millis(50));
    }
    b.kill9();
    let out = wait_metric(&a, "e173gw_peers_up", 0.0, Duration::from_secs(5));
    eprintln!(
        "node b killed: out of node a's rotation after {} ms",
        out.as_millis()
    );
    assert!(out < Duration::from_millis(1500), "{out:?}");
    let st = caller.wait(Duration::from_secs(30)).expect("sipp ended");
    assert!(st.success(), "the caller saw one answered call");
    let recs = a.wait_records(before + 1, Duration::from_secs(10));
    let moved = &recs[before];
    assert_eq!(moved["sip_status"], 200, "{moved}");
    assert_eq!(moved["target"]["imsi"], IMSI_A, "{moved}");
    let attempts = moved["attempts"].as_array().cloned().unwrap_or_default();
    assert_eq!(attempts[0]["modem"], "b.354911021000013", "{attempts:?}");
    assert!(
        attempts[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("went down")),
        "{attempts:?}"
    );
    // With B out, its SIM is not even a candidate.
    let r = call(&a, n);
    assert_eq!(r["target"]["imsi"], IMSI_A);
    assert!(
        lines(&r).iter().all(|l| !l.contains("b.")),
        "{:?}",
        lines(&r)
    );
}
