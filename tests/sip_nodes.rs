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

#[allow(clippy::too_many_arguments)]
fn node(
    name: &str,
    ip: &str,
    port: u16,
    peer: (&str, &str, u16),
    sim: (&str, &str),
    routing: &str,
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
{routing}
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
    common::gw::strings(&r["route"])
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
        "",
        &pg,
        &redis,
    );
    let mut b = node(
        "b",
        "127.0.0.3",
        pb,
        ("a", "127.0.0.2", pa),
        ("354911021000013", IMSI_B),
        "",
        &pg,
        &redis,
    );
    wait_metric(&a, "e173gw_peers_up", 1.0, Duration::from_secs(10));
    wait_metric(&b, "e173gw_peers_up", 1.0, Duration::from_secs(10));
    assert_eq!(a.metric("e173gw_peer_up{peer=\"b\"}"), Some(1.0));
    wait_metric(
        &a,
        "e173gw_peer_free_sims{peer=\"b\"}",
        1.0,
        Duration::from_secs(5),
    );
    assert!(
        a.metric("e173gw_peer_rtt_ms{peer=\"b\"}")
            .is_some_and(|ms| ms < 250.0),
        "a check's round trip is under its timeout"
    );

    // Equal SIMs are taken in id order, a node's own ids ("354...") before its peers'
    // ("a.354...", "b.354..."): the first number, called on node B, sticks to B's SIM; the
    // second, called on node A, to A's.
    let slow = "5511955000001";
    let r = b.one_call(&scenario("uac_bye.xml"), slow, &["-d", "200"]);
    assert_eq!(r["target"]["imsi"], IMSI_B, "{r}");
    let n = "5511912340001";
    let r = call(&a, n);
    assert_eq!(r["target"]["imsi"], IMSI_A, "{r}");
    // One sticky map in Redis: the second number, now called on node B, crosses to node
    // A's SIM (once B's view of A, at most one check old, shows it free again; B's dry
    // run says so), and A dials it.
    wait_route(&b, n, "the call would take a.354911021000005");
    let rb = call(&b, n);
    assert_eq!(rb["target"]["kind"], "peer", "{rb}");
    assert_eq!(rb["target"]["node"], "a");
    assert_eq!(rb["target"]["imsi"], IMSI_A);
    let why = lines(&rb);
    assert!(
        why[0].contains("#1 a.354911021000005: sticky route"),
        "{why:?}"
    );
    let on_a = a.wait_records(2, Duration::from_secs(10));
    let forwarded = on_a.last().expect("A's record of the forwarded call");
    assert_eq!(forwarded["trunk"], "peers");
    assert_eq!(forwarded["target"]["imsi"], IMSI_A);
    assert_eq!(forwarded["sip_status"], 200);

    // The first number called on node A goes to B's SIM; it rings there when B is
    // killed: the call moves to A's SIM and the caller sees one answered call.
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
    b.wait_sim_call("modem0", Duration::from_secs(10));
    b.kill9();
    let out = wait_metric(&a, "e173gw_peers_up", 0.0, Duration::from_secs(5));
    eprintln!(
        "node b killed: out of node a's rotation after {} ms",
        out.as_millis()
    );
    // The figure is printed above; the bound here only catches a node left in rotation.
    assert!(out < Duration::from_secs(3), "{out:?}");
    assert_eq!(a.metric("e173gw_peer_up{peer=\"b\"}"), Some(0.0));
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
