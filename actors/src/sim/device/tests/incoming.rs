//! Incoming calls: `RING` (or `+CRING`) and `+CLIP` on their period, `+CLCC`, `ATA` and
//! audio, and every way such a call ends.

use super::*;

const CALLER: &str = "+5511912345678";

fn quiet() -> Device {
    let mut d = device(NO_RULES, timing(), |_| {});
    d.input(0, b"ATE0\r");
    d.take_output();
    d
}

fn ring_now(d: &mut Device, t: u64) {
    d.ring(t, CALLER, 0).expect("rings");
}

#[test]
fn rings_until_answered_then_talks_with_audio() {
    let mut d = quiet();
    run(
        "answer",
        &mut d,
        &[
            S::Op(0, ring_now),
            S::Rx(0, "\r\nRING\r\n"),
            S::Tx(1, "AT+CLCC\r"),
            S::Rx(
                1,
                "\r\n+CLCC: 1,1,4,0,0,\"+5511912345678\",145\r\n\r\nOK\r\n",
            ),
            S::Tx(2, "AT+CLIP=1\rAT+CLIP?\rATD123;\r"),
            S::Rx(2, "\r\nOK\r\n\r\n+CLIP: 1,1\r\n\r\nOK\r\n\r\nERROR\r\n"),
            S::Rx(4999, ""),
            S::Rx(
                5000,
                "\r\nRING\r\n\r\n+CLIP: \"+5511912345678\",145,,,,0\r\n",
            ),
            S::Tx(5001, "AT+CRC=1\r"),
            S::Rx(
                10_000,
                "\r\nOK\r\n\r\n+CRING: VOICE\r\n\r\n+CLIP: \"+5511912345678\",145,,,,0\r\n",
            ),
            S::Tx(10_500, "AT^DDSETEX=2\r"),
            S::Op(10_500, |d, _| assert!(!d.audio_active(), "not before ATA")),
            S::Tx(11_000, "ATA\r"),
            S::Rx(11_000, "\r\nOK\r\n\r\nOK\r\n\r\n^CONN:1,0\r\n"),
            S::Op(11_000, |d, _| assert!(d.audio_active())),
            S::Tx(11_001, "AT+CLCC\r"),
            S::Rx(
                11_001,
                "\r\n+CLCC: 1,1,0,0,0,\"+5511912345678\",145\r\n\r\nOK\r\n",
            ),
            // No more RING, no give-up once answered.
            S::Rx(60_000, ""),
            S::Tx(62_000, "AT^DTMF=1,5\rAT+CHUP\r"),
            S::Rx(62_000, "\r\nOK\r\n\r\nOK\r\n\r\n^CEND:1,51,29,16\r\n"),
        ],
    );
    assert_eq!(
        d.pop_event(),
        Some(DeviceEvent::CallStarted {
            number: CALLER.into(),
            incoming: true
        })
    );
    assert_eq!(
        d.pop_event(),
        Some(DeviceEvent::CallEnded {
            number: CALLER.into(),
            incoming: true,
            outcome: "local_hangup",
            duration_s: 51
        })
    );
    let last = d.status().last_call.expect("last call");
    assert_eq!(
        (last.direction, last.answered, last.dtmf.as_str()),
        ("incoming", true, "5")
    );
    assert_eq!(d.status().counters.incoming_calls, 1);
}

#[test]
fn every_way_an_incoming_call_ends() {
    let cases: Vec<(&str, Vec<S>, &str)> = vec![
        (
            "rejected with CHUP while ringing",
            vec![
                S::Tx(3000, "AT+CHUP\r"),
                S::Rx(3000, "\r\nOK\r\n\r\n^CEND:1,0,29,16\r\n"),
            ],
            "local_hangup",
        ),
        (
            "the caller abandons",
            vec![
                S::Op(3000, |d, t| assert!(d.remote_hangup(t))),
                S::Rx(3000, "\r\n^CEND:1,0,104,16\r\n"),
            ],
            "abandoned",
        ),
        (
            "the caller hangs up after the answer",
            vec![
                S::Tx(3000, "ATA\r"),
                S::Rx(3000, "\r\nOK\r\n\r\n^CONN:1,0\r\n"),
                S::Op(7500, |d, t| assert!(d.remote_hangup(t))),
                S::Rx(7500, "\r\n^CEND:1,4,104,16\r\n"),
            ],
            "remote_hangup",
        ),
        (
            "nobody answers",
            vec![
                S::Rx(29_999, "\r\nRING\r\n".repeat(5).leak()),
                S::Rx(30_000, "\r\n^CEND:1,0,104,16\r\n"),
                S::Rx(40_000, ""),
            ],
            "no_answer",
        ),
        (
            "the signal goes",
            vec![
                S::Op(3000, |d, t| d.set_rssi(t, 0)),
                S::Rx(3000, "\r\n^RSSI:0\r\n\r\n^CEND:1,0,106\r\n\r\n^SRVST:0\r\n"),
            ],
            "signal_lost",
        ),
    ];
    for (name, steps, outcome) in cases {
        let mut d = quiet();
        ring_now(&mut d, 0);
        assert_eq!(d.take_output(), b"\r\nRING\r\n", "{name}");
        run(name, &mut d, &steps);
        let last = d.status().last_call.expect("last call");
        assert_eq!(
            (last.outcome, last.direction),
            (outcome, "incoming"),
            "{name}"
        );
        d.input(50_000, b"AT+CLCC\rATA\r");
        assert_eq!(d.take_output(), b"\r\nOK\r\n\r\nERROR\r\n", "{name}");
    }
}

#[test]
fn rings_later_or_not_at_all() {
    let mut d = quiet();
    run(
        "later",
        &mut d,
        &[
            S::Op(0, |d, t| d.ring(t, "11987654321", 2000).expect("scheduled")),
            S::Tx(0, "AT+CLIP=1\r"),
            S::Rx(1999, "\r\nOK\r\n"),
            S::Rx(2000, "\r\nRING\r\n\r\n+CLIP: \"11987654321\",129,,,,0\r\n"),
            S::Op(2001, |d, t| {
                assert_eq!(d.ring(t, CALLER, 0), Err("a call is in progress".into()))
            }),
            // A delayed call that finds the line busy is refused.
            S::Op(2001, |d, t| d.ring(t, CALLER, 10).expect("scheduled")),
            S::Rx(2011, ""),
            S::Tx(2100, "ATH\r"),
            S::Rx(2100, "\r\nOK\r\n\r\n^CEND:1,0,29,16\r\n"),
        ],
    );
    assert_eq!(d.status().counters.incoming_refused, 1);
    // ATZ turns CLIP off again (and echo on).
    d.input(2200, b"ATZ\rAT+CLIP?\rAT+CRC?\r");
    assert_eq!(
        d.take_output(),
        b"\r\nOK\r\nAT+CLIP?\r\r\n+CLIP: 0,1\r\n\r\nOK\r\nAT+CRC?\r\r\n+CRC: 0\r\n\r\nOK\r\n"
    );

    let mut d = quiet();
    d.set_voice(false);
    assert!(d.ring(0, CALLER, 0).is_err(), "voice disabled");
    let mut d = quiet();
    d.remove_sim(0);
    assert!(d.ring(0, CALLER, 0).is_err(), "no SIM");
    let mut d = quiet();
    d.set_rssi(0, 99);
    assert!(d.ring(0, CALLER, 0).is_err(), "no network");
    assert!(!d.in_call());
}
