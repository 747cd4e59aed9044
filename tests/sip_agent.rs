//! End to end: calls sent to the AI voice agent, with SIPp as the trunk and as the agent.

mod common;

use std::time::Duration;

use common::gw::{Gateway, Options};
use common::sipp::{final_scenario, scenario, Background};

fn agent_gateway(agent_port: u16, target: &str, modems: usize, extra: &str) -> Gateway {
    Gateway::start(Options {
        modems,
        target: target.into(),
        extra: format!("[agent]\nuri = \"sip:agent@127.0.0.1:{agent_port}\"\n{extra}"),
        ..Options::default()
    })
}

#[test]
fn agent_call_relays_sdp_and_tells_the_agent_why() {
    let agent = Background::start(&["-sn", "uas"]);
    let gw = agent_gateway(agent.port, "agent", 0, "");
    let sc = scenario("uac_bye.xml");
    let r = &gw.one_call(&sc, "5511912345678", &["-d", "500"]);
    assert_eq!(r["sip_status"], 200);
    assert_eq!(r["target"]["kind"], "agent");
    assert_eq!(r["end_reason"], "caller_hangup");
    std::thread::sleep(Duration::from_millis(300));
    let seen = agent.messages();
    assert!(
        seen.contains("X-E173GW-Reason: trunk routes to the agent"),
        "{seen}"
    );
    assert!(seen.contains("X-E173GW-Callee: 5511912345678"), "{seen}");
    assert!(
        seen.contains("a=rtpmap:101 telephone-event/8000"),
        "the caller's SDP reached the agent: {seen}"
    );
    assert!(seen.contains("BYE sip:"), "the agent got the BYE: {seen}");
}

#[test]
fn agent_hangs_up() {
    let sc_agent = scenario("uas_agent_bye.xml");
    let agent = Background::start(&["-sf", sc_agent.to_str().unwrap(), "-d", "500"]);
    let gw = agent_gateway(agent.port, "agent", 0, "");
    let sc = scenario("uac_remote_bye.xml");
    let r = &gw.one_call(&sc, "5511912345678", &[]);
    assert_eq!(r["sip_status"], 200);
    assert_eq!(r["end_reason"], "callee_hangup");
}

#[test]
fn agent_refusal_is_relayed() {
    let sc_agent = scenario("uas_agent_reject.xml");
    let agent = Background::start(&["-sf", sc_agent.to_str().unwrap()]);
    let gw = agent_gateway(agent.port, "agent", 0, "");
    let sc = final_scenario(gw.dir.path(), 486);
    let r = &gw.one_call(&sc, "5511912345678", &[]);
    assert_eq!(r["sip_status"], 486);
    assert_eq!(r["end_reason"], "failed");
}

#[test]
fn no_free_modem_goes_to_the_agent() {
    let agent = Background::start(&["-sn", "uas"]);
    let gw = agent_gateway(
        agent.port,
        "modems",
        0,
        "[routing]\nagent_when_no_modem = true\n",
    );
    let sc = scenario("uac_bye.xml");
    let r = &gw.one_call(&sc, "5511912345678", &["-d", "200"]);
    assert_eq!(r["target"]["kind"], "agent");
    assert!(agent.messages().contains("X-E173GW-Reason: no modem free"));
}

#[test]
fn without_an_agent_no_free_modem_is_503() {
    let gw = Gateway::start(Options {
        modems: 0,
        ..Options::default()
    });
    let sc = final_scenario(gw.dir.path(), 503);
    let r = &gw.one_call(&sc, "5511912345678", &[]);
    assert_eq!(r["sip_status"], 503);
    assert_eq!(r["end_reason"], "no_route");
}

#[test]
fn agent_that_never_answers_is_cancelled() {
    let sc_agent = scenario("uas_agent_ring.xml");
    let agent = Background::start(&["-sf", sc_agent.to_str().unwrap()]);
    let gw = Gateway::start(Options {
        modems: 0,
        target: "agent".into(),
        extra: format!(
            "[agent]\nuri = \"sip:agent@127.0.0.1:{}\"\nanswer_timeout_s = 1\n",
            agent.port
        ),
        ..Options::default()
    });
    let sc = final_scenario(gw.dir.path(), 480);
    let r = &gw.one_call(&sc, "5511912345678", &[]);
    assert_eq!(r["sip_status"], 480);
    std::thread::sleep(Duration::from_millis(500));
    let seen = agent.messages();
    assert!(
        seen.contains("CANCEL sip:"),
        "the agent got a CANCEL: {seen}"
    );
}
