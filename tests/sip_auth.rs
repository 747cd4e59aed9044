//! Digest authentication of trunks: SIPp answering an MD5 challenge, SHA-256 and wrong
//! passwords by hand, and REGISTER from a registering trunk.

mod common;

use std::time::Duration;

use common::gw::{header, in_dialog, invite, Gateway, Options, RawSip};
use common::sipp::{scenario, sipp};
use e173gw_core::sip::auth::{expected_response, Algorithm, Credentials};

const REALM: &str = "e173gw";

fn auth_gateway(algorithms: &str, register: bool) -> Gateway {
    Gateway::start(Options {
        modems: 1,
        extra: format!(
            "[trunk.auth]\nusername = \"carrier\"\npassword = \"s3cret\"\nalgorithms = [{algorithms}]\n"
        ),
        env: if register { vec![("E173GW_TRUNK__0__REGISTER".into(), "true".into())] } else { vec![] },
        ..Options::default()
    })
}

/// The `Authorization` value answering `challenge` for `method` `uri`.
fn answer(challenge: &str, method: &str, uri: &str, password: &str) -> String {
    let param = |k: &str| {
        challenge.split(&format!("{k}=")).nth(1).map(|r| {
            r.trim_start_matches('"')
                .split(['"', ','])
                .next()
                .unwrap_or_default()
                .to_string()
        })
    };
    let alg_name = param("algorithm").unwrap_or_else(|| "MD5".into());
    let alg = Algorithm::parse(Some(&alg_name)).expect("known algorithm");
    let mut c = Credentials {
        username: "carrier".into(),
        realm: REALM.into(),
        nonce: param("nonce").expect("nonce"),
        uri: uri.into(),
        algorithm: Some(alg_name.clone()),
        qop: Some("auth".into()),
        nc: Some("00000001".into()),
        cnonce: Some("c0ffee".into()),
        ..Default::default()
    };
    c.response = expected_response(&c, alg, method, password);
    format!(
        "Digest username=\"carrier\", realm=\"{REALM}\", nonce=\"{}\", uri=\"{uri}\", algorithm={alg_name}, qop=auth, nc=00000001, cnonce=\"c0ffee\", response=\"{}\"",
        c.nonce, c.response
    )
}

#[test]
fn sipp_answers_an_md5_challenge() {
    let gw = auth_gateway("\"MD5\"", false);
    let sc = scenario("uac_auth.xml");
    let out = sipp(
        &[
            "-sf",
            sc.to_str().unwrap(),
            "-s",
            "5511912345678",
            "-m",
            "1",
            "-d",
            "300",
            "-au",
            "carrier",
            "-ap",
            "s3cret",
        ],
        gw.udp,
    );
    assert!(out.status.success(), "sipp failed");
    let recs = gw.wait_records(1, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        gw.records().len(),
        1,
        "the challenged INVITE is not a call: {recs:?}"
    );
    assert_eq!(recs[0]["sip_status"], 200);
}

#[test]
fn sha256_wrong_password_and_forged_nonces() {
    let gw = auth_gateway("\"SHA-256\", \"MD5\"", false);
    let c = RawSip::new("127.0.0.1", gw.udp);
    let uri = format!("sip:5511912345678@{}", gw.udp);
    let first = invite(
        c.local(),
        gw.udp,
        "5511912345678",
        "auth-1@test",
        "z9hG4bK-a1",
        40_200,
    );
    c.send(&first);
    let (challenge, _) = c.recv_until("SIP/2.0 401", Duration::from_secs(5));
    let offers: Vec<&str> = challenge
        .lines()
        .filter(|l| l.starts_with("WWW-Authenticate:"))
        .collect();
    assert_eq!(offers.len(), 2, "{challenge}");
    assert!(offers[0].contains("algorithm=SHA-256") && offers[1].contains("algorithm=MD5"));

    // Wrong password: 403, and still not a call.
    let bad = first.replace("z9hG4bK-a1", "z9hG4bK-a2").replace(
        "CSeq: 1 INVITE",
        &format!(
            "CSeq: 2 INVITE\r\nAuthorization: {}",
            answer(offers[0], "INVITE", &uri, "guess")
        ),
    );
    c.send(&bad);
    c.recv_until("SIP/2.0 403", Duration::from_secs(5));

    // A forged nonce gets a fresh challenge at most, never a call.
    let forged = answer(
        &offers[0].replace("nonce=\"", "nonce=\"00"),
        "INVITE",
        &uri,
        "s3cret",
    );
    let forged_req = first.replace("z9hG4bK-a1", "z9hG4bK-a3").replace(
        "CSeq: 1 INVITE",
        &format!("CSeq: 3 INVITE\r\nAuthorization: {forged}"),
    );
    c.send(&forged_req);
    c.recv_until("SIP/2.0 403", Duration::from_secs(5));

    // The right password with SHA-256: the call goes through.
    let good = first.replace("z9hG4bK-a1", "z9hG4bK-a4").replace(
        "CSeq: 1 INVITE",
        &format!(
            "CSeq: 4 INVITE\r\nAuthorization: {}",
            answer(offers[0], "INVITE", &uri, "s3cret")
        ),
    );
    c.send(&good);
    let (ok, _) = c.recv_until("SIP/2.0 200", Duration::from_secs(10));
    c.send(&in_dialog("ACK", 4, c.local(), &ok, "z9hG4bK-a4a"));
    c.send(&in_dialog("BYE", 5, c.local(), &ok, "z9hG4bK-a4b"));
    c.recv_until("SIP/2.0 200", Duration::from_secs(5));
    let recs = gw.wait_records(1, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(gw.records().len(), 1, "{recs:?}");
}

#[test]
fn registering_trunk_registers_with_digest() {
    let gw = auth_gateway("\"MD5\"", true);
    let c = RawSip::new("127.0.0.1", gw.udp);
    let register = |cseq: u32, auth: Option<String>| {
        format!(
            "REGISTER sip:{gw} SIP/2.0\r\nVia: SIP/2.0/UDP {l};branch=z9hG4bK-r{cseq};rport\r\nFrom: <sip:carrier@{gw}>;tag=r1\r\n\
             To: <sip:carrier@{gw}>\r\nCall-ID: reg-1@test\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:carrier@{l}>\r\nExpires: 7200\r\n\
             Max-Forwards: 70\r\n{}Content-Length: 0\r\n\r\n",
            auth.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default(),
            gw = gw.udp,
            l = c.local()
        )
    };
    c.send(&register(1, None));
    let (ch, _) = c.recv_until("SIP/2.0 401", Duration::from_secs(5));
    let offer = header(&ch, "WWW-Authenticate")
        .expect("challenge")
        .to_string();
    c.send(&register(
        2,
        Some(answer(
            &offer,
            "REGISTER",
            &format!("sip:{}", gw.udp),
            "s3cret",
        )),
    ));
    let (ok, _) = c.recv_until("SIP/2.0 200", Duration::from_secs(5));
    assert_eq!(header(&ok, "Expires"), Some("3600"), "expiry capped: {ok}");
    // A trunk that is not configured to register is refused.
    let plain = auth_gateway("\"MD5\"", false);
    let c2 = RawSip::new("127.0.0.1", plain.udp);
    c2.send(&register(1, None).replace(&gw.udp.to_string(), &plain.udp.to_string()));
    c2.recv_until("SIP/2.0 403", Duration::from_secs(5));
}
