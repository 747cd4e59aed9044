use super::*;
use crate::at::response::RegState;

#[test]
fn polls_health_on_schedule() {
    let mut h = Harness::ready();
    h.expect_no_tx();
    assert_eq!(
        h.s.next_deadline(),
        Some(h.now + Duration::from_secs(10)),
        "silence ping first"
    );
    h.advance(Duration::from_secs(9));
    h.feed("\r\n^RSSI:20\r\n"); // any byte resets the silence timer
    h.advance(Duration::from_secs(9));
    h.expect_no_tx();
    h.advance(Duration::from_secs(12)); // t = 30 s: poll
    h.answer("AT+CSQ", "\r\n+CSQ: 21,99\r\n\r\nOK\r\n");
    h.answer("AT+CREG?", "\r\n+CREG: 2,5,\"00B3\",\"926A\"\r\n\r\nOK\r\n");
    h.answer("AT+COPS?", "\r\n+COPS: 0,0,\"Vivo\",2\r\n\r\nOK\r\n");
    // The first poll of a session also reads what the SIM stores.
    h.answer("AT+CMGL=4", "\r\nOK\r\n");
    h.expect_no_tx();
    let snap = h.s.snapshot();
    assert_eq!(snap.signal.map(|s| s.rssi), Some(21));
    assert_eq!(snap.registration.map(|r| r.state), Some(RegState::Roaming));
    assert_eq!(snap.operator.name.as_deref(), Some("Vivo"));
    let ev = h.take_events();
    assert!(ev.iter().any(|e| matches!(e, SessionEvent::Operator(_))));
}

#[test]
fn silent_modem_is_pinged_and_faults_when_dead() {
    let mut h = Harness::ready();
    h.advance(Duration::from_secs(10));
    h.expect_tx("AT");
    h.advance(Duration::from_secs(1));
    assert_eq!(
        h.take_events(),
        vec![SessionEvent::Fault(Fault::CommandTimeout {
            command: "AT".into()
        })]
    );
}

#[test]
fn registration_urcs_change_availability() {
    let mut h = Harness::ready();
    h.feed("\r\n+CREG: 2\r\n");
    assert_eq!(h.s.available(), Err(Unavailable::NotRegistered));
    h.feed("\r\n+CREG: 1,\"00B3\",\"926A\"\r\n");
    assert_eq!(h.s.available(), Ok(()));
}

#[test]
fn sim_removal_and_reinsertion_with_swap() {
    let mut h = Harness::ready();
    h.feed("\r\n^SIMST:255\r\n");
    assert_eq!(h.s.available(), Err(Unavailable::Sim(SimState::Absent)));
    assert!(h
        .take_events()
        .contains(&SessionEvent::Sim(SimState::Absent)));
    h.feed("\r\n^SIMST:1\r\n");
    h.answer("AT+CIMI", "\r\n724059999999999\r\n\r\nOK\r\n");
    h.answer(
        "AT^ICCID?",
        "\r\n^ICCID: 89550599999999999999\r\n\r\nOK\r\n",
    );
    h.answer("AT+CPIN?", "\r\n+CPIN: READY\r\n\r\nOK\r\n");
    h.answer("AT+CNUM", "\r\nOK\r\n");
    let ev = h.take_events();
    assert!(
        ev.iter()
            .any(|e| matches!(e, SessionEvent::SimChanged { .. })),
        "{ev:?}"
    );
    assert!(ev.iter().any(|e| matches!(e, SessionEvent::Identity(i) if i.imsi.as_ref().map(|x| x.as_str()) == Some("724059999999999"))));
    assert_eq!(h.s.available(), Ok(()));
}

#[test]
fn echo_after_ready_means_the_modem_restarted() {
    let mut h = Harness::ready();
    h.advance(Duration::from_secs(10));
    h.expect_tx("AT");
    h.feed("AT\r\r\nOK\r\n");
    assert_eq!(h.take_events(), vec![SessionEvent::Fault(Fault::Restarted)]);
}

#[test]
fn noise_that_starts_with_at_is_not_an_echo() {
    let mut h = Harness::ready();
    h.advance(Duration::from_secs(10));
    h.expect_tx("AT");
    h.feed("ATx\u{fffd}\r\nAT+CSQ\r\n\r\nOK\r\n");
    assert!(h.take_events().is_empty());
    assert!(h.s.is_ready());
}

#[test]
fn incoming_calls_are_rejected() {
    let mut h = Harness::ready();
    h.feed("\r\nRING\r\n");
    assert_eq!(h.take_events(), vec![SessionEvent::IncomingRejected]);
    h.expect_tx("AT+CHUP");
    assert_eq!(h.s.available(), Err(Unavailable::InCall));
    h.feed("\r\nRING\r\n\r\n+CLIP: \"+5511\",145,,,,0\r\n");
    assert!(h.take_events().is_empty(), "one rejection per ringing call");
    h.feed("\r\nOK\r\n");
    assert_eq!(h.s.available(), Ok(()));
}

#[test]
fn user_commands_get_their_answer_lines() {
    let mut h = Harness::ready();
    h.s.submit(
        h.now,
        7,
        crate::at::command::Command::Raw("AT^SYSCFG?".into()),
    );
    h.answer(
        "AT^SYSCFG?",
        "\r\n^SYSCFG:2,2,3FFFFFFF,1,2\r\n\r\n^RSSI:3\r\n\r\nOK\r\n",
    );
    assert!(h.take_events().contains(&SessionEvent::CommandDone {
        id: 7,
        result: Some(crate::at::codec::FinalResult::Ok),
        lines: vec!["^SYSCFG:2,2,3FFFFFFF,1,2".into()],
    }));
}

#[test]
fn garbage_between_answers_is_counted_and_survived() {
    let mut h = Harness::ready();
    h.feed("\u{1}\u{2}\u{3}zz\r\n\r\nfoo bar\r\n");
    h.advance(Duration::from_secs(10));
    h.expect_tx("AT");
    h.feed("\r\n\u{7f}\r\nOK\r\n");
    assert!(h.s.is_ready());
    assert!(h.s.stats().garbage >= 2, "{:?}", h.s.stats());
    assert!(h.take_events().is_empty());
}

#[test]
fn stray_finals_are_counted_not_credited() {
    let mut h = Harness::ready();
    h.feed("\r\nOK\r\n\r\nERROR\r\n");
    assert_eq!(h.s.stats().stray_finals, 2);
    assert!(h.s.is_ready());
}

#[test]
fn random_input_never_panics_the_session() {
    const PIECES: &[&str] = &[
        "\r\n",
        "OK",
        "ERROR",
        "^CEND:1,0,104,16",
        "^ORIG:1,0",
        "^CONF:1",
        "^CONN:1,0",
        "+CLCC: 1,0,0,0,0,\"1\",129",
        "RING",
        "^SIMST:1",
        "^SIMST:255",
        "+CREG: 1",
        "+CREG: 2",
        "AT",
        "\u{fffd}",
        "^CEND:",
        "NO CARRIER",
        "BUSY",
    ];
    let mut seed = 7u64;
    let mut rnd = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (seed >> 33) as usize
    };
    for _ in 0..300 {
        let mut h = Harness::ready();
        for step in 0..200 {
            match rnd() % 10 {
                0 => {
                    let _ =
                        h.s.dial(h.now, &crate::domain::DialNumber::parse("100").unwrap());
                }
                1 => {
                    let _ = h.s.hangup(h.now, CallId(rnd() as u64 % 3));
                }
                2 => h.advance(ms((rnd() % 20_000) as u64)),
                3 if step % 50 == 0 => h.s.soft_reset(h.now, "random"),
                _ => {
                    let p = PIECES[rnd() % PIECES.len()];
                    h.feed(p);
                }
            }
            while h.s.poll_transmit().is_some() {}
        }
        h.take_events();
    }
}
