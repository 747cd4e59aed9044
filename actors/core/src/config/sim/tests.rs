//! Tests of the simulator configuration and scenarios.

use super::*;
use crate::domain::luhn_valid;

#[test]
fn generated_identities_are_valid_and_deterministic() {
    let cfg = SimConfig {
        count: 40,
        ..SimConfig::default()
    };
    let a = cfg.resolve_modems();
    assert_eq!(a, cfg.resolve_modems());
    for m in &a {
        assert!(Imei::parse(&m.imei).unwrap().luhn_ok(), "{}", m.imei);
        assert_eq!(m.imsi.len(), 15);
        assert!(m.imsi.starts_with("72402"));
        assert!(m.iccid.starts_with("89") && luhn_valid(&m.iccid));
        assert!(Iccid::parse(&m.iccid).is_ok());
        assert!(DialNumber::parse(&m.number).is_ok());
        assert!((100..=3500).contains(&m.tone_hz));
    }
    assert_eq!(a[1].name, "modem1");
    assert_eq!(a[1].tone_hz, 500);
    assert!(cfg.validate("sim").is_empty());
    assert_eq!(generated_imsi("310260", 3).len(), 15);
}

#[test]
fn validate_names_bad_keys() {
    let cfg = SimConfig {
        mcc_mnc: "7240".into(),
        rssi_interval_ms: 5,
        modem: vec![
            SimModemConfig::default(),
            SimModemConfig {
                imei: Some("490154203237519".into()),
                rssi: Some(40),
                ..Default::default()
            },
            SimModemConfig {
                name: Some("modem1".into()),
                tone_hz: Some(9000),
                ..Default::default()
            },
        ],
        ..SimConfig::default()
    };
    let keys: Vec<String> = cfg.validate("sim").into_iter().map(|p| p.key).collect();
    for k in [
        "sim.mcc_mnc",
        "sim.rssi_interval_ms",
        "sim.modem[1].imei",
        "sim.modem[1].rssi",
        "sim.modem[2].tone_hz",
        "sim.modem[2].name",
    ] {
        assert!(keys.iter().any(|x| x == k), "{k} missing from {keys:?}");
    }
}

#[test]
fn config_parses_strictly() {
    let ok: SimConfig =
        toml::from_str("enabled = true\ncount = 3\n[[modem]]\nname = \"a\"\nvoice = false\n")
            .unwrap();
    assert_eq!(ok.resolve_modems()[0].name, "a");
    assert!(!ok.resolve_modems()[0].voice);
    assert!(toml::from_str::<SimConfig>("cuont = 3").is_err());
    assert!(toml::from_str::<SimConfig>("[[modem]]\nimie = \"1\"").is_err());
}

#[test]
fn rules_match_first_wins() {
    let sc: Scenario = toml::from_str(
        r#"
        [[rule]]
        number = "100"
        outcome = "busy"
        modems = ["modem1"]
        [[rule]]
        prefix = "0800"
        outcome = "unassigned"
        [[rule]]
        pattern = "_55[1-2]X."
        outcome = "no_answer"
        ring_ms = 50
        [[rule]]
        outcome = "rejected"
        "#,
    )
    .unwrap();
    let out = |n: &str, m: &str| sc.find_rule(n, m).map(|r| r.outcome);
    let cases = [
        ("100", "modem1", Some(Outcome::Busy)),
        ("100", "modem0", Some(Outcome::Rejected)),
        ("08001234", "modem0", Some(Outcome::Unassigned)),
        ("5511987", "modem0", Some(Outcome::NoAnswer)),
        ("5531987", "modem0", Some(Outcome::Rejected)),
        ("551", "modem0", Some(Outcome::Rejected)),
    ];
    for (n, m, want) in cases {
        assert_eq!(out(n, m), want, "{n} on {m}");
    }
    assert_eq!(sc.rule[2].after_ms, Some(50));
    assert!(sc
        .validate("", &["modem0".into(), "modem1".into()])
        .is_empty());
}

#[test]
fn scenario_validation() {
    let sc: Scenario = toml::from_str(
        r#"
        [[rule]]
        number = "1"
        prefix = "2"
        outcome = "busy"
        hangup_after_ms = 5
        [[rule]]
        pattern = "12[3"
        outcome = "answer"
        modems = ["ghost"]
        cause = 300
        [[modem]]
        name = "nope"
        rssi = 50
        "#,
    )
    .unwrap();
    let keys: Vec<String> = sc
        .validate("scenario.", &["modem0".into()])
        .into_iter()
        .map(|p| p.key)
        .collect();
    for k in [
        "scenario.rule[0].number",
        "scenario.rule[0].hangup_after_ms",
        "scenario.rule[1].pattern",
        "scenario.rule[1].modems",
        "scenario.rule[1].cause",
        "scenario.modem[0].name",
        "scenario.modem[0].rssi",
    ] {
        assert!(keys.iter().any(|x| x == k), "{k} missing from {keys:?}");
    }
    assert!(toml::from_str::<Scenario>("[[rule]]\noutcome = \"explode\"").is_err());
}

#[test]
fn ussd_replies_parse_and_validate() {
    let ok: SimConfig = toml::from_str(
        r#"
        sms_send_ms = 200
        [[ussd]]
        code = "*100#"
        reply = "Saldo R$ {balance} valido ate 10/12"
        [[ussd]]
        code = "*111#"
        reply = "1 Saldo 2 Pacotes"
        mode = 1
        encoding = "text"
        delay_ms = 50
        [[ussd]]
        code = "*111#>2"
        reply = "Pacote ativado, ação concluída"
        encoding = "ucs2"
        "#,
    )
    .unwrap();
    assert_eq!(ok.ussd.len(), 3);
    assert_eq!(ok.ussd[0].encoding, UssdReplyEncoding::Gsm7);
    assert_eq!(ok.ussd[1].encoding, UssdReplyEncoding::Text);
    assert_eq!((ok.ussd[1].mode, ok.ussd[1].delay_ms), (1, Some(50)));
    assert_eq!(
        ok.ussd[0].render("3,50", "+55"),
        "Saldo R$ 3,50 valido ate 10/12"
    );
    assert_eq!(ok.sms_send_ms, 200);
    assert_eq!(ok.sms_report_ms, 1000);
    assert!(ok.validate("sim").is_empty(), "{:?}", ok.validate("sim"));

    let bad: SimConfig = toml::from_str(
        r#"
        ring_interval_ms = 10
        [[ussd]]
        code = "*100#"
        reply = "ação"
        mode = 2
        [[ussd]]
        code = "*100#"
        reply = "x"
        delay_ms = 70000
        [[ussd]]
        code = "*1#>"
        reply = "say \"hi\""
        encoding = "text"
        "#,
    )
    .unwrap();
    let keys: Vec<String> = bad.validate("sim").into_iter().map(|p| p.key).collect();
    for k in [
        "sim.ring_interval_ms",
        "sim.ussd[0].reply",
        "sim.ussd[0].mode",
        "sim.ussd[1].code",
        "sim.ussd[1].delay_ms",
        "sim.ussd[2].code",
        "sim.ussd[2].reply",
    ] {
        assert!(keys.iter().any(|x| x == k), "{k} missing from {keys:?}");
    }
    assert!(toml::from_str::<SimConfig>(
        "[[ussd]]\ncode = \"*1#\"\nreply = \"x\"\nencoding = \"utf8\""
    )
    .is_err());
    assert!(toml::from_str::<SimConfig>("[[ussd]]\ncode = \"*1#\"\nrepyl = \"x\"").is_err());
}

#[test]
fn balances() {
    for ok in ["10,00", "0.50", "-3,20", "1234567890,00", "7"] {
        assert_eq!(check_balance(ok), Ok(()), "{ok}");
    }
    for bad in ["", "-", ",", "R$ 1", "1e3", "12345678901234", "1,0a"] {
        assert!(check_balance(bad).is_err(), "{bad}");
    }
    let sc: Scenario =
        toml::from_str("[[modem]]\nname = \"modem0\"\nbalance = \"x\"\nsms_fail = true").unwrap();
    let keys: Vec<String> = sc
        .validate("scenario.", &["modem0".into()])
        .into_iter()
        .map(|p| p.key)
        .collect();
    assert_eq!(keys, vec!["scenario.modem[0].balance".to_string()]);
    assert_eq!(sc.modem[0].sms_fail, Some(true));
}
