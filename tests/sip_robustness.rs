//! The SIP side under bad input: retransmissions, malformed messages, strangers, floods.
//! Tests with foreign hosts in their messages run inside a loopback-only network namespace.

mod common;

use std::time::Duration;

use common::gw::{header, in_dialog, invite, status_line, Gateway, Options, RawSip};
use common::inside_netns;
use common::sipp::{scenario, sipp};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn retransmitted_invite_is_still_one_call() {
    let gw = Gateway::start(Options::default());
    let c = RawSip::new("127.0.0.1", gw.udp);
    let inv = invite(
        c.local(),
        gw.udp,
        "5511912345678",
        "retx-1@test",
        "z9hG4bK-retx-1",
        40_000,
    );
    for _ in 0..3 {
        c.send(&inv);
    }
    let (ok, before) = c.recv_until("SIP/2.0 200", Duration::from_secs(10));
    let trying = before
        .iter()
        .filter(|m| m.starts_with("SIP/2.0 100"))
        .count();
    assert!(
        trying >= 2,
        "each retransmission is answered from the transaction: {before:#?}"
    );
    c.send(&in_dialog("ACK", 1, c.local(), &ok, "z9hG4bK-retx-ack"));
    std::thread::sleep(ms(300));
    c.send(&in_dialog("BYE", 2, c.local(), &ok, "z9hG4bK-retx-bye"));
    c.recv_until("SIP/2.0 200", Duration::from_secs(5));
    let recs = gw.wait_records(1, Duration::from_secs(10));
    std::thread::sleep(ms(500));
    assert_eq!(gw.records().len(), 1, "{recs:?}");
    let calls: u64 = gw.sim("status")["modems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["counters"]["calls"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(calls, 1, "exactly one modem call");
}

fn raw_request(method: &str, extra: &str, cseq: &str, body: &str) -> String {
    format!(
        "{method} sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-bad-{};rport\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\n\
         To: <sip:100@127.0.0.1>\r\nCall-ID: bad-{}@test\r\nCSeq: {cseq}\r\nMax-Forwards: 70\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        method.len() + extra.len() + body.len(),
        extra.len() + cseq.len(),
        body.len()
    )
}

#[test]
fn malformed_messages_get_the_right_errors_and_no_crash() {
    let gw = Gateway::start(Options {
        env: vec![
            ("E173GW_SIP__MAX_MESSAGE_BYTES".into(), "8192".into()),
            ("E173GW_SIP__MAX_HEADER_BYTES".into(), "4096".into()),
        ],
        ..Options::default()
    });
    let c = RawSip::new("127.0.0.1", gw.udp);
    let big = raw_request(
        "OPTIONS",
        &format!("X-Pad: {}\r\n", "a".repeat(9000)),
        "1 OPTIONS",
        "",
    );
    let cases: Vec<(&str, String, Option<&str>)> = vec![
        (
            "garbage",
            "\u{1}\u{2}\u{3} no SIP here \r\n\r\n".into(),
            None,
        ),
        (
            "binary",
            String::from_utf8_lossy(&[0xff, 0xfe, 0, 1, 2, 3, 13, 10, 13, 10]).into_owned(),
            None,
        ),
        (
            "CSeq mismatch",
            raw_request("INVITE", "", "1 BYE", ""),
            Some("SIP/2.0 400"),
        ),
        (
            "bad CSeq",
            raw_request("INVITE", "", "one INVITE", ""),
            Some("SIP/2.0 400"),
        ),
        (
            "duplicate Call-ID",
            raw_request("INVITE", "Call-ID: second@test\r\n", "1 INVITE", ""),
            Some("SIP/2.0 400"),
        ),
        (
            "unknown method",
            raw_request("FROBNICATE", "", "1 FROBNICATE", ""),
            Some("SIP/2.0 501"),
        ),
        (
            "not allowed",
            raw_request("SUBSCRIBE", "Event: presence\r\n", "1 SUBSCRIBE", ""),
            Some("SIP/2.0 405"),
        ),
        (
            "Max-Forwards 0",
            raw_request("INVITE", "", "1 INVITE", "")
                .replace("Max-Forwards: 70", "Max-Forwards: 0"),
            Some("SIP/2.0 483"),
        ),
        (
            "Require 100rel",
            raw_request("INVITE", "Require: 100rel\r\n", "1 INVITE", ""),
            Some("SIP/2.0 420"),
        ),
        (
            "text body",
            raw_request(
                "INVITE",
                "Content-Type: text/plain\r\n",
                "1 INVITE",
                "hello",
            ),
            Some("SIP/2.0 415"),
        ),
        (
            "truncated body",
            raw_request("INVITE", "", "1 INVITE", "")
                .replace("Content-Length: 0", "Content-Length: 99"),
            Some("SIP/2.0 400"),
        ),
        (
            "scheme",
            raw_request("INVITE", "", "1 INVITE", "")
                .replace("INVITE sip:100@127.0.0.1", "INVITE mailto:a@b"),
            Some("SIP/2.0 416"),
        ),
        ("too large", big, Some("SIP/2.0 513")),
        (
            "BYE outside a dialog",
            raw_request("BYE", "", "1 BYE", ""),
            Some("SIP/2.0 481"),
        ),
    ];
    for (name, msg, want) in &cases {
        c.send(msg);
        let got = c.recv_for(ms(300));
        let finals: Vec<&str> = got
            .iter()
            .map(|m| status_line(m))
            .filter(|l| !l.starts_with("SIP/2.0 100"))
            .collect();
        match want {
            Some(w) => {
                assert_eq!(finals.len(), 1, "{name}: {got:#?}");
                assert!(finals[0].starts_with(w), "{name}: got {finals:?}, want {w}");
            }
            None => assert!(
                got.is_empty(),
                "{name}: unaddressable input gets no answer: {got:#?}"
            ),
        }
    }
    // Still alive and working: OPTIONS answered, and a real call goes through.
    c.send(&raw_request("OPTIONS", "", "1 OPTIONS", ""));
    let (ok, _) = c.recv_until("SIP/2.0 200", Duration::from_secs(2));
    assert!(
        header(&ok, "Allow").is_some_and(|a| a.contains("INVITE")),
        "{ok}"
    );
    let sc = scenario("uac_bye.xml");
    let out = sipp(
        &[
            "-sf",
            sc.to_str().unwrap(),
            "-s",
            "5511912345678",
            "-m",
            "1",
            "-d",
            "200",
        ],
        gw.udp,
    );
    assert!(out.status.success());
    assert!(
        gw.records().iter().all(|r| r["callee"] != "100"),
        "rejected requests never became calls"
    );
}

#[test]
fn unknown_sources_get_403_and_learn_nothing() {
    let gw = Gateway::start(Options {
        trunk_sources: "\"127.0.0.2/32\"".into(),
        ..Options::default()
    });
    let stranger = RawSip::new("127.0.0.3", gw.udp);
    for number in ["5511912345678", "000"] {
        let inv = invite(
            stranger.local(),
            gw.udp,
            number,
            &format!("s-{number}@x"),
            &format!("z9hG4bK-s{number}"),
            40_002,
        );
        stranger.send(&inv);
        let (resp, before) = stranger.recv_until("SIP/2.0 403", Duration::from_secs(2));
        assert!(before.is_empty(), "no 100 Trying to a stranger: {before:?}");
        for h in ["Warning", "Server", "User-Agent"] {
            assert!(
                header(&resp, h).is_none(),
                "a stranger learns no {h}: {resp}"
            );
        }
    }
    // Malformed input from a stranger is not answered at all.
    stranger.send(&raw_request("INVITE", "", "1 BYE", ""));
    assert!(stranger.recv_for(ms(300)).is_empty());
    // The trunk's own address still gets in.
    let trunk = RawSip::new("127.0.0.2", gw.udp);
    trunk.send(&raw_request("OPTIONS", "", "1 OPTIONS", ""));
    let (ok, _) = trunk.recv_until("SIP/2.0 200", Duration::from_secs(2));
    assert_eq!(header(&ok, "Server"), Some("e173gw"), "{ok}");
    std::thread::sleep(ms(300));
    assert!(gw.records().is_empty(), "refused requests are not calls");
}

/// `sip.user_agent` names the product in `Server` (responses) and `User-Agent` (requests
/// the gateway sends); empty, it names nothing.
#[test]
fn the_product_is_named_as_configured() {
    for (value, expected) in [
        (None, Some("e173gw")),
        (Some("edge-7"), Some("edge-7")),
        (Some(""), None),
    ] {
        let agent = std::net::UdpSocket::bind("127.0.0.1:0").expect("agent socket");
        agent.set_read_timeout(Some(ms(200))).expect("timeout");
        let agent_addr = agent.local_addr().expect("agent addr");
        let mut env = Vec::new();
        if let Some(v) = value {
            env.push(("E173GW_SIP__USER_AGENT".to_string(), v.to_string()));
        }
        let gw = Gateway::start(Options {
            modems: 0,
            target: "agent".into(),
            extra: format!("[agent]\nuri = \"sip:agent@{agent_addr}\"\n"),
            env,
            ..Options::default()
        });
        let trunk = RawSip::new("127.0.0.1", gw.udp);
        trunk.send(&raw_request("OPTIONS", "", "1 OPTIONS", ""));
        let (ok, _) = trunk.recv_until("SIP/2.0 200", Duration::from_secs(2));
        assert_eq!(header(&ok, "Server"), expected, "{value:?}: {ok}");
        assert!(header(&ok, "User-Agent").is_none(), "{ok}");
        // What the transaction layer answers on its own is named the same way.
        trunk.send(&raw_request("FROBNICATE", "", "1 FROBNICATE", ""));
        let (err, _) = trunk.recv_until("SIP/2.0 5", Duration::from_secs(2));
        assert_eq!(header(&err, "Server"), expected, "{value:?}: {err}");
        // A request the gateway sends names it in User-Agent.
        trunk.send(&invite(
            trunk.local(),
            gw.udp,
            "5511912345678",
            "ua@x",
            "z9hG4bK-ua1",
            40_010,
        ));
        let (provisional, _) = trunk.recv_until("SIP/2.0 1", Duration::from_secs(2));
        assert_eq!(header(&provisional, "Server"), expected, "{provisional}");
        let mut buf = [0u8; 65_536];
        // The agent's socket waits 200 ms per read: 15 reads are 3 s.
        let req = (0..15)
            .find_map(|_| {
                let (n, _) = agent.recv_from(&mut buf).ok()?;
                Some(String::from_utf8_lossy(&buf[..n]).into_owned())
            })
            .expect("an INVITE reached the agent");
        assert!(req.starts_with("INVITE "), "{req}");
        assert_eq!(header(&req, "User-Agent"), expected, "{value:?}: {req}");
        assert!(header(&req, "Server").is_none(), "{req}");
    }
}

#[test]
fn unknown_sources_can_be_dropped_silently() {
    let gw = Gateway::start(Options {
        trunk_sources: "\"127.0.0.2/32\"".into(),
        env: vec![("E173GW_SIP__UNKNOWN_SOURCE".into(), "drop".into())],
        ..Options::default()
    });
    let stranger = RawSip::new("127.0.0.3", gw.udp);
    stranger.send(&invite(
        stranger.local(),
        gw.udp,
        "5511912345678",
        "d@x",
        "z9hG4bK-d1",
        40_004,
    ));
    stranger.send(&raw_request("OPTIONS", "", "1 OPTIONS", ""));
    assert!(
        stranger.recv_for(ms(1500)).is_empty(),
        "nothing at all goes back"
    );
}

#[test]
fn per_source_flood_limit() {
    let gw = Gateway::start(Options {
        modems: 0,
        env: vec![
            ("E173GW_SIP__FLOOD_RATE".into(), "20".into()),
            ("E173GW_SIP__FLOOD_BURST".into(), "20".into()),
        ],
        ..Options::default()
    });
    let c = RawSip::new("127.0.0.1", gw.udp);
    for i in 0..300 {
        c.send(
            &raw_request("OPTIONS", "", "1 OPTIONS", "")
                .replace("branch=z9hG4bK-bad-", &format!("branch=z9hG4bK-f{i}-")),
        );
    }
    let answered = c
        .recv_for(ms(800))
        .iter()
        .filter(|m| m.starts_with("SIP/2.0 200"))
        .count();
    assert!(
        (20..=45).contains(&answered),
        "about the burst plus the refill got through: {answered}"
    );
    let other = RawSip::new("127.0.0.5", gw.udp);
    other.send(&raw_request("OPTIONS", "", "1 OPTIONS", ""));
    other.recv_until("SIP/2.0 200", Duration::from_secs(2));
}

#[test]
fn responses_go_to_the_source_not_to_a_foreign_via() {
    if !inside_netns("responses_go_to_the_source_not_to_a_foreign_via") {
        return;
    }
    let gw = Gateway::start(Options {
        modems: 0,
        ..Options::default()
    });
    let c = RawSip::new("127.0.0.1", gw.udp);
    // A Via naming a host elsewhere, without rport: the answer must still come back here
    // (to the source address, per `received`), never to 203.0.113.9.
    let msg = raw_request("OPTIONS", "", "1 OPTIONS", "")
        .replace(
            "Via: SIP/2.0/UDP 127.0.0.1:5999",
            &format!("Via: SIP/2.0/UDP 203.0.113.9:{}", c.local().port()),
        )
        .replace(";rport", "");
    c.send(&msg);
    let (resp, _) = c.recv_until("SIP/2.0 200", Duration::from_secs(2));
    assert!(
        header(&resp, "Via").is_some_and(|v| v.contains("received=127.0.0.1")),
        "{resp}"
    );
}
