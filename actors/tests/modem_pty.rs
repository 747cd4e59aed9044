//! End to end over ptys: the modem actor drives simulated E173s through the real serial
//! path (tokio-serial on pty slaves), exactly as it drives hardware.

mod support;

use std::time::Duration;

use e173gw_actors::modem::{Dial, Hangup, LinkState, Reset, ResetKind, RunCommand};
use e173gw_actors::sim;
use e173gw_core::at::cause::EndKind;
use e173gw_core::at::codec::FinalResult;
use e173gw_core::at::response::RegState;
use e173gw_core::at::session::{CallEvent, CallPhase, SimState, Unavailable};
use e173gw_core::domain::DialNumber;
use support::*;

const OUTCOMES: &str = r#"
[[rule]]
number = "100"
outcome = "answer"
hangup_after_ms = 500
[[rule]]
number = "101"
outcome = "busy"
[[rule]]
number = "102"
outcome = "no_answer"
[[rule]]
number = "103"
outcome = "rejected"
[[rule]]
number = "104"
outcome = "unassigned"
[[rule]]
number = "105"
outcome = "network_failure"
[[rule]]
number = "106"
outcome = "error"
[[rule]]
number = "108"
outcome = "no_carrier"
"#;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

async fn dial(
    modem: &actix::Addr<e173gw_actors::modem::ModemActor>,
    caller: &Caller,
    number: &str,
) -> e173gw_core::at::session::CallId {
    modem
        .send(Dial {
            forms: Default::default(),
            number: DialNumber::parse(number).expect("number"),
            call_ref: format!("test-{number}"),
            events: caller.addr.clone().recipient(),
            trace: None,
            audio: Some(caller.addr.clone().recipient()),
        })
        .await
        .expect("modem alive")
        .expect("dial accepted")
}

fn end_of(ev: &CallEvent) -> (EndKind, Duration, bool) {
    match ev {
        CallEvent::Ended {
            cause,
            talk,
            answered,
            ..
        } => (cause.kind, *talk, *answered),
        other => panic!("not an end: {other:?}"),
    }
}

#[actix::test]
async fn init_learns_identity_from_the_device() {
    let (_dir, sim) = start_sim(1, None).await;
    let m = info(&sim, "modem0");
    let modem = modem_on(&m);
    let s = wait_available(&modem).await;
    let id = &s.session.identity;
    assert_eq!(
        id.imei.as_ref().map(|i| i.to_string()),
        Some(m.imei.clone())
    );
    assert_eq!(
        id.imsi.as_ref().map(|i| i.to_string()),
        Some(m.imsi.clone())
    );
    assert_eq!(
        id.iccid.as_ref().map(|i| i.to_string()),
        Some(m.iccid.clone())
    );
    assert_eq!(id.own_number.as_deref(), Some(m.number.as_str()));
    assert_eq!(id.manufacturer.as_deref(), Some("huawei"));
    assert_eq!(id.model.as_deref(), Some("E173"));
    assert!(id.firmware.is_some());
    assert_eq!(s.session.sim, SimState::Ready);
    assert_eq!(
        s.session.registration.as_ref().map(|r| r.state),
        Some(RegState::Home)
    );
    assert_eq!(s.session.operator.numeric.as_deref(), Some("72402"));
    assert_eq!(s.session.sim_plmn.as_deref(), Some("72402"));
    assert!(s.session.operator.name.is_some());
    assert!(s.session.signal.and_then(|x| x.dbm()).is_some());
    assert_eq!(s.session.voice.map(|v| v.frame_bytes()), Some(320));
    assert_eq!(s.link, LinkState::Open);
    assert_eq!(s.resets, 0);
    sim.stop().await;
}

#[actix::test]
async fn every_dial_outcome_ends_with_the_right_cause() {
    let (_dir, sim) = start_sim(1, Some(OUTCOMES)).await;
    let modem = modem_on(&info(&sim, "modem0"));
    wait_available(&modem).await;
    let cases = [
        ("100", EndKind::Normal, true),
        ("101", EndKind::Busy, false),
        ("102", EndKind::NoAnswer, false),
        ("103", EndKind::Rejected, false),
        ("104", EndKind::Unassigned, false),
        ("105", EndKind::Congestion, false),
        ("106", EndKind::ModemError, false),
        ("108", EndKind::Congestion, false),
    ];
    for (number, kind, answered) in cases {
        let mut caller = Caller::new();
        let call = dial(&modem, &caller, number).await;
        let end = caller.ended(secs(8)).await;
        assert_eq!(end.call(), call);
        let (got, talk, was_answered) = end_of(&end);
        assert_eq!(
            (got, was_answered),
            (kind, answered),
            "number {number}: {end:?}"
        );
        if answered {
            assert!(talk >= Duration::from_millis(400), "talk {talk:?}");
        }
        wait_available(&modem).await;
    }
    let s = wait_available(&modem).await;
    assert_eq!(s.session.stats.calls, cases.len() as u64);
    assert_eq!(s.session.stats.answered, 1);
    assert_eq!(
        s.resets, 0,
        "no outcome may need a reset: {:?}",
        s.last_fault
    );
    sim.stop().await;
}

#[actix::test]
async fn local_hangup_and_media_both_ways() {
    let (dir, sim) = start_sim(1, None).await;
    let m = info(&sim, "modem0");
    let modem = modem_on(&m);
    wait_available(&modem).await;
    let mut caller = Caller::new();
    let call = dial(&modem, &caller, "5511999990000").await;
    assert_eq!(caller.next(secs(5)).await, CallEvent::Dialing(call));
    assert_eq!(caller.next(secs(5)).await, CallEvent::Alerting(call));
    assert_eq!(caller.next(secs(5)).await, CallEvent::Answered(call));
    // Play a 1 kHz tone to the callee for 1 s while reading what the modem sends.
    for n in 0..50 {
        modem.do_send(e173gw_actors::modem::AudioOut {
            call,
            pcm: tone_frame(1000.0, n),
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut received = Vec::new();
    while let Ok(frame) = caller.audio.try_recv() {
        assert_eq!(frame.len(), 320);
        received.extend(frame);
    }
    assert!(
        received.len() >= 320 * 25,
        "got {} bytes of audio",
        received.len()
    );
    let hz = dominant_hz(&received[received.len() - 320 * 20..]);
    assert!(
        hz.abs_diff(m.tone_hz) <= 20,
        "modem tone {} Hz, measured {hz} Hz",
        m.tone_hz
    );
    modem
        .send(Hangup { call })
        .await
        .expect("alive")
        .expect("hangup accepted");
    let (kind, talk, answered) = end_of(&caller.ended(secs(5)).await);
    assert_eq!((kind, answered), (EndKind::LocalHangup, true));
    assert!(talk >= Duration::from_millis(900), "talk {talk:?}");
    // The simulator recorded what the gateway played.
    let st = sim::control(dir.path(), "status").await.expect("status");
    let m0 = &st["modems"][0];
    let rx_hz = m0["last_call"]["rx_tone_hz"].as_u64().unwrap_or(0);
    let rx_frames = m0["last_call"]["rx_frames"].as_u64().unwrap_or(0);
    assert!(
        rx_frames >= 40,
        "simulator received {rx_frames} frames: {m0}"
    );
    assert!(
        rx_hz.abs_diff(1000) <= 50,
        "simulator heard {rx_hz} Hz: {m0}"
    );
    let status = wait_available(&modem).await;
    assert!(
        status.audio.frames_out >= 40 && status.audio.frames_in >= 25,
        "{:?}",
        status.audio
    );
    sim.stop().await;
}

#[actix::test]
async fn unplug_mid_call_ends_it_and_replug_recovers() {
    let (dir, sim) = start_sim(1, None).await;
    let modem = modem_on(&info(&sim, "modem0"));
    wait_available(&modem).await;
    let mut caller = Caller::new();
    let call = dial(&modem, &caller, "200").await;
    loop {
        if caller.next(secs(5)).await == CallEvent::Answered(call) {
            break;
        }
    }
    sim::control(dir.path(), "unplug modem0")
        .await
        .expect("unplug");
    let (kind, _, answered) = end_of(&caller.ended(secs(5)).await);
    assert_eq!((kind, answered), (EndKind::DeviceGone, true));
    assert!(kind.is_gateway_fault());
    let s = wait_status(&modem, secs(5), "gone", |s| s.link == LinkState::Gone).await;
    assert_eq!(s.session.available, Err(Unavailable::Closed));
    sim::control(dir.path(), "replug modem0")
        .await
        .expect("replug");
    let s = wait_available(&modem).await;
    assert_eq!(s.link, LinkState::Open);
    sim.stop().await;
}

#[actix::test]
async fn frozen_modem_is_detected_and_recovered_after_thaw() {
    let (dir, sim) = start_sim(1, None).await;
    let modem = modem_on(&info(&sim, "modem0"));
    wait_available(&modem).await;
    sim::control(dir.path(), "freeze modem0")
        .await
        .expect("freeze");
    // URCs keep coming, but the next health poll times out: the ladder starts.
    let s = wait_status(&modem, secs(8), "fault noticed", |s| {
        s.resets >= 1 && !s.is_available()
    })
    .await;
    assert!(
        s.last_fault
            .as_deref()
            .unwrap_or_default()
            .contains("timed out"),
        "{:?}",
        s.last_fault
    );
    sim::control(dir.path(), "thaw modem0").await.expect("thaw");
    let s = wait_status(&modem, secs(15), "recovered", |s| s.is_available()).await;
    assert!(s.resets >= 1);
    assert_eq!(s.recovery_rung, 0);
    sim.stop().await;
}

#[actix::test]
async fn a_dial_into_a_wedged_modem_ends_within_the_ack_timeout_and_the_ports_reopen() {
    let (dir, sim) = start_sim(1, None).await;
    let modem = modem_on(&info(&sim, "modem0"));
    wait_available(&modem).await;
    // The known E1550/E173 wedge: commands go unanswered while URCs keep flowing.
    sim::control(dir.path(), "freeze modem0")
        .await
        .expect("freeze");
    let mut caller = Caller::new();
    let started = tokio::time::Instant::now();
    let _call = dial(&modem, &caller, "400").await;
    let (kind, _, answered) = end_of(&caller.ended(secs(6)).await);
    let waited = started.elapsed();
    assert_eq!((kind, answered), (EndKind::Timeout, false));
    assert!(
        kind.is_gateway_fault(),
        "the call may move to another modem"
    );
    assert!(
        waited < Duration::from_millis(3_500),
        "an unacknowledged ATD is a wedge after dial_ack_ms (3 s), not after the network-bound timeout: {waited:?}"
    );
    // Recovery climbs the ladder (soft reset, reopen the ports, retry): the reopen must
    // not trip over the gateway's own exclusive lock on the old descriptors.
    let until = tokio::time::Instant::now() + secs(4);
    let mut faults = Vec::new();
    while tokio::time::Instant::now() < until {
        let s = modem
            .send(e173gw_actors::modem::GetStatus)
            .await
            .expect("alive");
        if let Some(f) = s.last_fault {
            if faults.last() != Some(&f) {
                faults.push(f);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        faults.iter().all(|f| !f.contains("cannot open ports")),
        "ports reopened while the old descriptors were still open: {faults:?}"
    );
    let s = modem
        .send(e173gw_actors::modem::GetStatus)
        .await
        .expect("alive");
    assert!(s.resets >= 2, "soft reset then reopen: {s:?}");
    sim::control(dir.path(), "thaw modem0").await.expect("thaw");
    let s = wait_status(&modem, secs(15), "recovered", |s| s.is_available()).await;
    assert_eq!(s.recovery_rung, 0);
    sim.stop().await;
}

#[actix::test]
async fn garbage_on_the_line_is_survived() {
    let (dir, sim) = start_sim(1, None).await;
    let modem = modem_on(&info(&sim, "modem0"));
    wait_available(&modem).await;
    for _ in 0..5 {
        sim::control(dir.path(), "garbage modem0 300")
            .await
            .expect("garbage");
    }
    let s = modem
        .send(e173gw_actors::modem::GetStatus)
        .await
        .expect("alive");
    assert_eq!(s.resets, 0, "garbage caused a reset: {:?}", s.last_fault);
    let mut caller = Caller::new();
    let call = dial(&modem, &caller, "300").await;
    loop {
        match caller.next(secs(5)).await {
            CallEvent::Answered(c) if c == call => break,
            CallEvent::Ended { cause, .. } => panic!("call ended: {cause:?}"),
            _ => {}
        }
    }
    sim::control(dir.path(), "garbage modem0 500")
        .await
        .expect("garbage");
    tokio::time::sleep(Duration::from_millis(600)).await;
    modem
        .send(Hangup { call })
        .await
        .expect("alive")
        .expect("hangup");
    assert_eq!(end_of(&caller.ended(secs(5)).await).0, EndKind::LocalHangup);
    let s = wait_available(&modem).await;
    assert!(
        s.session.stats.garbage > 0,
        "garbage was seen and counted: {:?}",
        s.session.stats
    );
    sim.stop().await;
}

#[actix::test]
async fn sim_removal_and_swap_are_noticed() {
    let (dir, sim) = start_sim(1, None).await;
    let modem = modem_on(&info(&sim, "modem0"));
    let before = wait_available(&modem).await;
    sim::control(dir.path(), "sim-remove modem0")
        .await
        .expect("remove");
    let s = wait_status(&modem, secs(5), "SIM absent", |s| {
        s.session.sim == SimState::Absent
    })
    .await;
    assert_eq!(s.session.available, Err(Unavailable::Sim(SimState::Absent)));
    let caller = Caller::new();
    let refused = modem
        .send(Dial {
            forms: Default::default(),
            number: DialNumber::parse("1").expect("n"),
            call_ref: "x".into(),
            events: caller.addr.clone().recipient(),
            trace: None,
            audio: None,
        })
        .await
        .expect("alive");
    assert!(refused.is_err());
    sim::control(
        dir.path(),
        "sim-insert modem0 imsi=724059876543210 iccid=8955059876543210987",
    )
    .await
    .expect("insert");
    let s = wait_status(&modem, secs(5), "new SIM", |s| {
        s.is_available()
            && s.session.identity.imsi.as_ref().map(|i| i.as_str()) == Some("724059876543210")
    })
    .await;
    assert_ne!(s.session.identity.imsi, before.session.identity.imsi);
    assert_eq!(
        s.session.identity.iccid.as_ref().map(|i| i.as_str()),
        Some("8955059876543210987")
    );
    sim.stop().await;
}

#[actix::test]
async fn signal_loss_and_reboot() {
    let (dir, sim) = start_sim(1, None).await;
    let modem = modem_on(&info(&sim, "modem0"));
    wait_available(&modem).await;
    sim::control(dir.path(), "signal modem0 0")
        .await
        .expect("signal");
    let s = wait_status(&modem, secs(5), "unregistered", |s| !s.is_available()).await;
    assert_eq!(s.session.available, Err(Unavailable::NotRegistered));
    sim::control(dir.path(), "signal modem0 20")
        .await
        .expect("signal");
    wait_available(&modem).await;
    sim::control(dir.path(), "reboot modem0")
        .await
        .expect("reboot");
    let s = wait_status(&modem, secs(10), "restart noticed and recovered", |s| {
        s.resets >= 1 && s.is_available()
    })
    .await;
    assert!(s.last_fault.is_some());
    sim.stop().await;
}

#[actix::test]
async fn operator_commands_and_resets() {
    let (_dir, sim) = start_sim(1, None).await;
    let modem = modem_on(&info(&sim, "modem0"));
    wait_available(&modem).await;
    let out = modem
        .send(RunCommand {
            command: "AT+CSQ".into(),
        })
        .await
        .expect("alive")
        .expect("answer");
    assert_eq!(out.result, FinalResult::Ok);
    assert!(out.lines.iter().any(|l| l.starts_with("+CSQ:")), "{out:?}");
    let out = modem
        .send(RunCommand {
            command: "AT+BOGUS".into(),
        })
        .await
        .expect("alive")
        .expect("answer");
    assert_ne!(out.result, FinalResult::Ok);
    modem
        .send(Reset {
            kind: ResetKind::Soft,
        })
        .await
        .expect("alive");
    let s = wait_available(&modem).await;
    assert_eq!(s.resets, 1);
    modem
        .send(Reset {
            kind: ResetKind::Reopen,
        })
        .await
        .expect("alive");
    let s = wait_available(&modem).await;
    assert_eq!(s.resets, 2);
    assert_eq!(s.session.call, None::<CallPhase>);
    sim.stop().await;
}

#[actix::test]
async fn drain_hangs_up_the_call_on_the_device_before_closing() {
    let (dir, sim) = start_sim(1, None).await;
    let modem = modem_on(&info(&sim, "modem0"));
    wait_available(&modem).await;
    let mut caller = Caller::new();
    let call = dial(&modem, &caller, "400").await;
    loop {
        if caller.next(secs(5)).await == CallEvent::Answered(call) {
            break;
        }
    }
    modem
        .send(e173gw_actors::modem::Drain { grace: secs(2) })
        .await
        .expect("drained");
    assert_eq!(end_of(&caller.ended(secs(1)).await).0, EndKind::LocalHangup);
    // The simulated device itself no longer has a call: it got AT+CHUP, not just a closed tty.
    let st = sim::control(dir.path(), "status modem0")
        .await
        .expect("status");
    let m = &st["modems"][0];
    assert!(m["call"].is_null(), "device still has a call: {m}");
    assert!(
        m.get("call").is_some(),
        "status reports the call field: {m}"
    );
    assert_eq!(m["last_call"]["number"].as_str(), Some("400"), "{m}");
    assert_eq!(
        m["last_call"]["outcome"].as_str(),
        Some("local_hangup"),
        "{m}"
    );
    sim.stop().await;
}
