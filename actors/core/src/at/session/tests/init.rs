use super::*;
use crate::at::response::RegState;

#[test]
fn init_sends_the_profile_sequence_and_learns_identity() {
    let mut h = Harness::new();
    assert_eq!(h.s.available(), Err(Unavailable::Closed));
    h.s.port_opened(h.now);
    assert_eq!(h.s.available(), Err(Unavailable::Initializing));
    let sent = h.run_init(e173_answer);
    let want: Vec<String> = SessionConfig::e173_default()
        .init
        .iter()
        .map(|s| s.command.wire())
        .collect();
    assert_eq!(sent, want);
    let snap = h.s.snapshot();
    let id = &snap.identity;
    assert_eq!(id.manufacturer.as_deref(), Some("huawei"));
    assert_eq!(id.model.as_deref(), Some("E173"));
    assert_eq!(id.firmware.as_deref(), Some("11.126.85.00.209"));
    assert_eq!(
        id.imei.as_ref().map(|i| i.as_str()),
        Some("353143041234567")
    );
    assert_eq!(
        id.imsi.as_ref().map(|i| i.as_str()),
        Some("724021234567890")
    );
    assert_eq!(
        id.iccid.as_ref().map(|i| i.as_str()),
        Some("89552001234567890100")
    );
    assert_eq!(id.own_number.as_deref(), Some("+5511987650000"));
    assert_eq!(snap.sim, SimState::Ready);
    assert_eq!(snap.signal.and_then(|s| s.dbm()), Some(-79));
    assert_eq!(
        snap.registration.as_ref().map(|r| r.state),
        Some(RegState::Home)
    );
    assert_eq!(snap.operator.name.as_deref(), Some("TIM BR"));
    assert_eq!(snap.voice.map(|v| v.frame_bytes()), Some(320));
    assert_eq!(snap.available, Ok(()));
    let events = h.take_events();
    assert!(events.contains(&SessionEvent::Ready));
    assert!(events
        .iter()
        .any(|e| matches!(e, SessionEvent::Identity(i) if i.imei.is_some())));
}

#[test]
fn numeric_and_named_operator_are_both_kept() {
    let mut h = Harness::new();
    h.s.port_opened(h.now);
    let mut format = 0;
    while let Some(cmd) = h.next_tx() {
        let reply = match cmd.as_str() {
            "AT+COPS=3,2" => {
                format = 2;
                "\r\nOK\r\n"
            }
            "AT+COPS=3,0" => {
                format = 0;
                "\r\nOK\r\n"
            }
            "AT+COPS?" if format == 2 => "\r\n+COPS: 0,2,\"72402\",2\r\n\r\nOK\r\n",
            c => e173_answer(c),
        };
        h.feed(reply);
    }
    let op = h.s.snapshot().operator;
    assert_eq!(op.numeric.as_deref(), Some("72402"));
    assert_eq!(op.name.as_deref(), Some("TIM BR"));
    assert_eq!(h.s.snapshot().sim_plmn.as_deref(), Some("72402"));
}

#[test]
fn optional_and_sim_steps_do_not_stop_init() {
    // No SIM: CIMI, ICCID, CPIN, CNUM fail; CSSN is not supported. Init still completes and
    // the snapshot says why calls cannot be placed.
    let mut h = Harness::new();
    h.s.port_opened(h.now);
    h.run_init(|cmd| match cmd {
        "AT+CIMI" | "AT^ICCID?" | "AT+CPIN?" => "\r\n+CME ERROR: 10\r\n",
        "AT+CNUM" | "AT+CSSN=1,1" => "\r\nERROR\r\n",
        "AT+CREG?" => "\r\n+CREG: 2,0\r\n\r\nOK\r\n",
        c => e173_answer(c),
    });
    assert!(h.s.is_ready());
    assert_eq!(h.s.available(), Err(Unavailable::Sim(SimState::Absent)));
}

#[test]
fn voice_disabled_firmware_is_reported() {
    let mut h = Harness::new();
    h.s.port_opened(h.now);
    h.run_init(|cmd| {
        if cmd == "AT^CVOICE?" {
            "\r\nCOMMAND NOT SUPPORT\r\n"
        } else {
            e173_answer(cmd)
        }
    });
    assert!(h.s.is_ready());
    assert_eq!(h.s.available(), Err(Unavailable::NoVoice));
    assert_eq!(
        h.s.dial(h.now, &crate::domain::DialNumber::parse("100").unwrap()),
        Err(DialRefused::Unavailable(Unavailable::NoVoice))
    );
}

#[test]
fn mandatory_step_error_fails_init() {
    let mut h = Harness::new();
    h.s.port_opened(h.now);
    h.run_init(|cmd| {
        if cmd == "AT+CGSN" {
            "\r\nERROR\r\n"
        } else {
            e173_answer(cmd)
        }
    });
    let events = h.take_events();
    assert!(
        events.iter().any(|e| matches!(e, SessionEvent::Fault(Fault::InitFailed { command, .. }) if command == "AT+CGSN")),
        "{events:?}"
    );
    assert!(matches!(h.s.available(), Err(Unavailable::Failed(_))));
    // Nothing more is sent until the owner resets.
    h.expect_no_tx();
    h.advance(Duration::from_secs(60));
    h.expect_no_tx();
}

#[test]
fn garbage_imei_fails_init() {
    let mut h = Harness::new();
    h.s.port_opened(h.now);
    h.run_init(|cmd| {
        if cmd == "AT+CGSN" {
            "\r\nOK\r\n"
        } else {
            e173_answer(cmd)
        }
    });
    assert!(h
        .take_events()
        .iter()
        .any(|e| matches!(e, SessionEvent::Fault(Fault::InitFailed { command, .. }) if command == "AT+CGSN")));
}

#[test]
fn stray_urc_during_identity_is_not_the_answer() {
    // Response skew: ^RSSI and ^BOOT arrive while AT+CGMR runs.
    let mut h = Harness::new();
    h.s.port_opened(h.now);
    while let Some(cmd) = h.next_tx() {
        let reply = if cmd == "AT+CGMR" {
            "\r\n^BOOT:20952548,0,0,0,72\r\n\r\n^RSSI:9\r\n\r\n11.126.85.00.209\r\n\r\nOK\r\n"
        } else {
            e173_answer(&cmd)
        };
        h.feed(reply);
    }
    assert_eq!(h.s.identity().firmware.as_deref(), Some("11.126.85.00.209"));
}

#[test]
fn echo_during_init_is_harmless() {
    let mut h = Harness::new();
    h.s.port_opened(h.now);
    while let Some(cmd) = h.next_tx() {
        // Echo stops with ATE0 in a real modem; after init an echo means it restarted.
        let reply = if h.s.is_ready() {
            e173_answer(&cmd).to_string()
        } else {
            format!("{cmd}\r{}", e173_answer(&cmd))
        };
        h.s.receive(h.now, reply.as_bytes());
    }
    assert!(h.s.is_ready());
}

#[test]
fn init_command_timeout_is_a_fault() {
    let mut h = Harness::new();
    h.s.port_opened(h.now);
    h.expect_tx("AT");
    h.advance(ms(999));
    assert!(h.take_events().is_empty());
    h.advance(ms(1));
    assert_eq!(
        h.take_events(),
        vec![SessionEvent::Fault(Fault::CommandTimeout {
            command: "AT".into()
        })]
    );
    assert_eq!(h.s.stats().timeouts, 1);
}

#[test]
fn soft_reset_reruns_init() {
    let mut h = Harness::ready();
    h.s.soft_reset(h.now, "test");
    assert_eq!(h.s.available(), Err(Unavailable::Initializing));
    let sent = h.run_init(e173_answer);
    assert_eq!(sent.first().map(String::as_str), Some("AT"));
    assert_eq!(sent.get(1).map(String::as_str), Some("ATZ"));
    assert!(h.s.is_ready());
}

#[test]
fn sim_swap_is_detected_on_reopen() {
    let mut h = Harness::ready();
    h.s.port_closed(h.now);
    h.s.port_opened(h.now);
    h.run_init(|cmd| {
        if cmd == "AT+CIMI" {
            "\r\n724051111111111\r\n\r\nOK\r\n"
        } else {
            e173_answer(cmd)
        }
    });
    let events = h.take_events();
    assert!(
        events.iter().any(|e| matches!(e, SessionEvent::SimChanged { new_imsi: Some(n), .. } if n.as_str() == "724051111111111")),
        "{events:?}"
    );
}
