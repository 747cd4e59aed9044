//! End to end: the AI agent transfers a call it took to a GSM number (REFER, RFC 3515).
//! SIPp is the trunk (it accepts the re-INVITE that moves its media) and the agent (it
//! sends REFER, checks the NOTIFYs 100, 180 and 200, and takes the gateway's BYE); the
//! pty simulator's modem carries the transferred call.

#![allow(clippy::disallowed_methods)]

mod common;

use std::time::Duration;

use common::gw::{Gateway, Options};
use common::sipp::{scenario, Background};

fn gateway(agent_port: u16) -> Gateway {
    Gateway::start(Options {
        modems: 1,
        target: "agent".into(),
        extra: format!("[agent]\nuri = \"sip:agent@127.0.0.1:{agent_port}\"\n"),
        ..Options::default()
    })
}

#[test]
fn the_agent_transfers_a_call_to_a_modem() {
    let sc_agent = scenario("uas_agent_refer.xml");
    let mut agent = Background::start(&[
        "-sf",
        sc_agent.to_str().expect("utf8"),
        "-key",
        "refer_to",
        "+5511987651234",
        "-m",
        "1",
    ]);
    let gw = gateway(agent.port);
    let r = gw.one_call(
        &scenario("uac_transferred.xml"),
        "5511912345678",
        &["-d", "2500"],
    );
    assert_eq!(r["sip_status"], 200, "{r}");
    assert_eq!(
        r["target"]["kind"], "modem",
        "the call ended on the modem: {r}"
    );
    assert_eq!(r["end_reason"], "caller_hangup", "{r}");
    let route: Vec<String> = r["route"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l.as_str().map(str::to_string))
        .collect();
    assert!(
        route
            .iter()
            .any(|l| l.contains("the agent referred the call to +5511987651234")),
        "{route:?}"
    );
    assert!(
        route
            .iter()
            .any(|l| l.starts_with("transfer: connected on")),
        "{route:?}"
    );
    // The agent saw 100, 180 and 200 in its NOTIFYs and took the BYE.
    let st = agent.wait(Duration::from_secs(10));
    assert!(
        st.is_some_and(|s| s.success()),
        "agent scenario: {}",
        agent.messages()
    );
    // The modem dialled the number the agent named, and it was answered.
    let sim = gw.wait_modems_idle(Duration::from_secs(10));
    let last = &sim["modems"][0]["last_call"];
    assert_eq!(last["number"], "+5511987651234", "{last}");
    assert_eq!(last["answered"], true, "{last}");
}

#[test]
fn a_failed_transfer_leaves_the_call_with_the_agent() {
    let sc_agent = scenario("uas_agent_refer_fail.xml");
    let mut agent = Background::start(&[
        "-sf",
        sc_agent.to_str().expect("utf8"),
        "-key",
        "refer_to",
        "101",
        "-m",
        "1",
    ]);
    let gw = Gateway::start(Options {
        modems: 1,
        target: "agent".into(),
        scenario: Some("[[rule]]\nnumber = \"101\"\noutcome = \"busy\"\n".into()),
        extra: format!("[agent]\nuri = \"sip:agent@127.0.0.1:{}\"\n", agent.port),
        ..Options::default()
    });
    let r = gw.one_call(&scenario("uac_bye.xml"), "5511912345678", &["-d", "3000"]);
    assert_eq!(r["sip_status"], 200, "{r}");
    assert_eq!(
        r["target"]["kind"], "agent",
        "the call stayed with the agent: {r}"
    );
    let route = r["route"].to_string();
    assert!(route.contains("transfer: failed (486)"), "{route}");
    let st = agent.wait(Duration::from_secs(10));
    assert!(
        st.is_some_and(|s| s.success()),
        "agent scenario: {}",
        agent.messages()
    );
    let sim = gw.wait_modems_idle(Duration::from_secs(10));
    assert_eq!(sim["modems"][0]["last_call"]["number"], "101", "{sim}");
    assert_eq!(sim["modems"][0]["last_call"]["answered"], false, "{sim}");
}

#[test]
fn a_transfer_to_a_blacklisted_number_is_screened_out_when_configured() {
    // The failing agent's script, expecting 403 and no ringing (nothing is dialled).
    let text = std::fs::read_to_string(scenario("uas_agent_refer_fail.xml")).expect("scenario");
    let start = text.find("  <!-- The callee rang").expect("ringing step");
    let end =
        start + text[start..].find("]]></send>\n").expect("its answer") + "]]></send>\n".len();
    let text =
        format!("{}{}", &text[..start], &text[end..]).replace("486 Busy Here", "403 Forbidden");
    let dir = tempfile::tempdir().expect("tmp");
    let sc_agent = dir.path().join("agent_refer_403.xml");
    std::fs::write(&sc_agent, text).expect("write");
    let mut agent = Background::start(&[
        "-sf",
        sc_agent.to_str().expect("utf8"),
        "-key",
        "refer_to",
        "+5511900000666",
        "-m",
        "1",
    ]);
    let gw = Gateway::start(Options {
        modems: 1,
        target: "agent".into(),
        extra: format!(
            "[agent]\nuri = \"sip:agent@127.0.0.1:{}\"\nscreen_transfers = true\n\
             [filter]\ndefault_region = \"BR\"\n[[filter.stage]]\nkind = \"blacklist\"\n\
             entry = [{{ number = \"+5511900000666\", reason = \"known fraud\" }}]\n",
            agent.port
        ),
        ..Options::default()
    });
    let r = gw.one_call(&scenario("uac_bye.xml"), "5511912345678", &["-d", "2500"]);
    assert_eq!(r["target"]["kind"], "agent", "{r}");
    let route = r["route"].to_string();
    assert!(
        route.contains("transfer screening: blacklist: match -> reject 403"),
        "{route}"
    );
    assert!(route.contains("transfer: failed (403)"), "{route}");
    let st = agent.wait(Duration::from_secs(10));
    assert!(
        st.is_some_and(|s| s.success()),
        "agent scenario: {}",
        agent.messages()
    );
    let sim = gw.sim("status modem0");
    assert!(
        sim["modems"][0]["last_call"].is_null(),
        "nothing was dialled: {sim}"
    );
}
