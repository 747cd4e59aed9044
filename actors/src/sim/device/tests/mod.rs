//! Table-driven transcripts of the device model: bytes in at a time, exact bytes out.
//! SMS, USSD and incoming calls have their own files.

use e173gw_core::config::sim::{Scenario, SimConfig};

use super::*;

mod incoming;
mod sms;
mod ussd;

pub(super) fn timing() -> Timing {
    Timing {
        command_delay_ms: 0,
        orig_ms: 100,
        conf_ms: 200,
        answer_after_ms: 300,
        ring_ms: 1000,
        fail_after_ms: 50,
        cusd_ms: 500,
        rssi_interval_ms: 0,
        boot_interval_ms: 0,
        reboot_ms: 1000,
        sms_send_ms: 400,
        sms_report_ms: 1000,
        ring_interval_ms: 5000,
        incoming_give_up_ms: 30_000,
    }
}

pub(super) fn device(rules: &str, t: Timing, tweak: fn(&mut SimConfig)) -> Device {
    let mut cfg = SimConfig {
        count: 1,
        ..SimConfig::default()
    };
    tweak(&mut cfg);
    let id = cfg.resolve_modems().remove(0);
    let sc: Scenario = toml::from_str(rules).expect("rules");
    Device::new(id, t, sc.rule, 0).with_ussd(cfg.ussd)
}

/// One step of a transcript.
pub(super) enum S {
    /// The host writes these bytes at this time.
    Tx(u64, &'static str),
    /// At this time (after polling), the device has written exactly this since the last check.
    Rx(u64, &'static str),
    /// A control operation at this time.
    Op(u64, fn(&mut Device, u64)),
}

pub(super) fn run(name: &str, d: &mut Device, steps: &[S]) {
    for (i, s) in steps.iter().enumerate() {
        match s {
            S::Tx(t, b) => {
                d.poll(*t);
                d.input(*t, b.as_bytes());
            }
            S::Op(t, f) => {
                d.poll(*t);
                f(d, *t);
            }
            S::Rx(t, want) => {
                d.poll(*t);
                let got = String::from_utf8_lossy(&d.take_output()).to_string();
                assert_eq!(got, *want, "{name}: step {i}");
            }
        }
    }
}

pub(super) const NO_RULES: &str = "";

pub(super) fn case(name: &str, rules: &str, steps: &[S]) {
    let mut d = device(rules, timing(), |_| {});
    run(name, &mut d, steps);
}

#[test]
fn init_answers() {
    let mut d = device(NO_RULES, timing(), |_| {});
    let imei = d.identity().imei.clone();
    let imsi = d.identity().imsi.clone();
    let iccid = d.identity().iccid.clone();
    let number = d.identity().number.clone();
    let script: Vec<(&str, String)> = vec![
        ("AT\r", "AT\r\r\nOK\r\n".into()),
        ("ATZ\r", "ATZ\r\r\nOK\r\n".into()),
        ("ATE0\r", "ATE0\r\r\nOK\r\n".into()),
        ("AT^U2DIAG=0\r", "\r\nOK\r\n".into()),
        ("AT+CGMI\r", "\r\nhuawei\r\n\r\nOK\r\n".into()),
        ("AT+CGMM\r", "\r\nE173\r\n\r\nOK\r\n".into()),
        ("AT+CGMR\r", "\r\n11.126.85.00.209\r\n\r\nOK\r\n".into()),
        ("AT+CMEE=0\r", "\r\nOK\r\n".into()),
        ("AT+CGSN\r", format!("\r\n{imei}\r\n\r\nOK\r\n")),
        ("AT+CIMI\r", format!("\r\n{imsi}\r\n\r\nOK\r\n")),
        ("AT^ICCID?\r", format!("\r\n^ICCID: {iccid}\r\n\r\nOK\r\n")),
        ("AT+CPIN?\r", "\r\n+CPIN: READY\r\n\r\nOK\r\n".into()),
        ("AT+COPS=0,0\r", "\r\nOK\r\n".into()),
        ("AT+CREG=2\r", "\r\nOK\r\n".into()),
        ("AT+CREG?\r", "\r\n+CREG: 2,1,\"00B3\",\"926A\"\r\n\r\nOK\r\n".into()),
        ("AT+CNUM\r", format!("\r\n+CNUM: \"\",\"{number}\",145\r\n\r\nOK\r\n")),
        ("AT^CVOICE?\r", "\r\n^CVOICE:0,8000,16,20\r\n\r\nOK\r\n".into()),
        ("AT+CSCA?\r", "\r\n+CSCA: \"+551181119000\",145\r\n\r\nOK\r\n".into()),
        ("AT+CSSN=1,1\r", "\r\nOK\r\n".into()),
        ("AT+CMGF=0\r", "\r\nOK\r\n".into()),
        ("AT+CPMS=\"SM\",\"SM\",\"SM\"\r", "\r\n+CPMS: 0,50,0,50,0,50\r\n\r\nOK\r\n".into()),
        ("AT+CNMI=2,1,0,2,0\r", "\r\nOK\r\n".into()),
        ("AT+CSQ\r", "\r\n+CSQ: 17,99\r\n\r\nOK\r\n".into()),
        ("AT+COPS?\r", "\r\n+COPS: 0,0,\"TIM BRASIL\",2\r\n\r\nOK\r\n".into()),
        ("AT+COPS=3,2\r", "\r\nOK\r\n".into()),
        ("AT+COPS?\r", "\r\n+COPS: 0,2,\"72402\",2\r\n\r\nOK\r\n".into()),
        ("AT+CLCC\r", "\r\nOK\r\n".into()),
        ("AT+CCWA=1,2,1\r", "\r\n+CCWA: 0,1\r\n\r\nOK\r\n".into()),
        ("AT+CLVL=5\r", "\r\nOK\r\n".into()),
        ("AT^PORTSEL=1\r", "\r\nOK\r\n".into()),
        ("AT+CMGR=0\r", "\r\n+CMS ERROR: 321\r\n".into()),
        ("AT+BOGUS\r", "\r\nERROR\r\n".into()),
        (
            "ATI\r",
            format!(
                "\r\nManufacturer: huawei\r\nModel: E173\r\nRevision: 11.126.85.00.209\r\nIMEI: {imei}\r\n+GCAP: +CGSM,+DS,+ES\r\n\r\nOK\r\n"
            ),
        ),
        // CRLF and LF endings, lower case, and two commands in one line.
        ("at\r\n", "\r\nOK\r\n".into()),
        ("AT+CGMI;+CSQ\n", "\r\nhuawei\r\n+CSQ: 17,99\r\n\r\nOK\r\n".into()),
    ];
    for (tx, want) in script {
        d.input(0, tx.as_bytes());
        let got = String::from_utf8_lossy(&d.take_output()).to_string();
        assert_eq!(got, want, "answer to {tx:?}");
    }
}

#[test]
fn echo_and_cmee_modes() {
    case(
        "echo",
        NO_RULES,
        &[
            S::Tx(0, "AT\r"),
            S::Rx(0, "AT\r\r\nOK\r\n"),
            S::Tx(0, "ATE0\r"),
            S::Rx(0, "ATE0\r\r\nOK\r\n"),
            S::Tx(0, "AT\r"),
            S::Rx(0, "\r\nOK\r\n"),
            S::Tx(0, "ATE1\r"),
            S::Rx(0, "\r\nOK\r\n"),
            S::Tx(0, "AT\r"),
            S::Rx(0, "AT\r\r\nOK\r\n"),
        ],
    );
    case(
        "cmee",
        NO_RULES,
        &[
            S::Tx(0, "ATE0\r"),
            S::Rx(0, "ATE0\r\r\nOK\r\n"),
            S::Tx(0, "AT^DTMF=1,1\r"),
            S::Rx(0, "\r\nERROR\r\n"),
            S::Tx(0, "AT+CMEE=1\r"),
            S::Tx(0, "AT^DTMF=1,1\r"),
            S::Rx(0, "\r\nOK\r\n\r\n+CME ERROR: 3\r\n"),
            S::Tx(0, "AT+CMEE=2\r"),
            S::Tx(0, "AT^DTMF=1,1\r"),
            S::Rx(0, "\r\nOK\r\n\r\n+CME ERROR: operation not allowed\r\n"),
            S::Tx(0, "AT+NOPE\r"),
            S::Rx(0, "\r\nERROR\r\n"),
            S::Op(0, |d, t| d.remove_sim(t)),
            S::Tx(0, "AT+CIMI\r"),
            S::Rx(
                0,
                "\r\n^SIMST:255\r\n\r\n^SRVST:0\r\n\r\n+CME ERROR: SIM not inserted\r\n",
            ),
            S::Tx(0, "AT+CMEE=0\r"),
            S::Tx(0, "AT+CPIN?\r"),
            S::Rx(0, "\r\nOK\r\n\r\nERROR\r\n"),
        ],
    );
}

/// `ATE0` then `ATD<n>;` at t=0 (OK at once).
const DIAL: [S; 3] = [
    S::Tx(0, "ATE0\r"),
    S::Tx(0, "ATD5511912345678;\r"),
    S::Rx(0, "ATE0\r\r\nOK\r\n\r\nOK\r\n"),
];

fn dial_case(name: &str, rules: &str, rest: &[S]) {
    let mut d = device(rules, timing(), |_| {});
    run(name, &mut d, &DIAL);
    run(name, &mut d, rest);
}

#[test]
fn call_outcomes_in_order() {
    let cases: Vec<(&str, &str, Vec<S>)> = vec![
        (
            "default answers and holds",
            NO_RULES,
            vec![
                S::Rx(99, ""),
                S::Rx(100, "\r\n^ORIG:1,0\r\n"),
                S::Rx(300, "\r\n^CONF:1\r\n"),
                S::Rx(600, "\r\n^CONN:1,0\r\n"),
                S::Rx(100_000, ""),
            ],
        ),
        (
            "answer then remote hangup",
            "[[rule]]\noutcome = \"answer\"\nafter_ms = 100\nhangup_after_ms = 2500",
            vec![
                S::Rx(400, "\r\n^ORIG:1,0\r\n\r\n^CONF:1\r\n\r\n^CONN:1,0\r\n"),
                S::Rx(2899, ""),
                S::Rx(2900, "\r\n^CEND:1,2,104,16\r\n"),
            ],
        ),
        (
            "busy",
            "[[rule]]\nprefix = \"55\"\noutcome = \"busy\"",
            vec![S::Rx(
                350,
                "\r\n^ORIG:1,0\r\n\r\n^CONF:1\r\n\r\n^CEND:1,0,104,17\r\n",
            )],
        ),
        (
            "no answer rings ring_ms",
            "[[rule]]\noutcome = \"no_answer\"",
            vec![
                S::Rx(1299, "\r\n^ORIG:1,0\r\n\r\n^CONF:1\r\n"),
                S::Rx(1300, "\r\n^CEND:1,0,104,19\r\n"),
            ],
        ),
        (
            "rejected",
            "[[rule]]\nnumber = \"5511912345678\"\noutcome = \"rejected\"",
            vec![S::Rx(
                350,
                "\r\n^ORIG:1,0\r\n\r\n^CONF:1\r\n\r\n^CEND:1,0,104,21\r\n",
            )],
        ),
        (
            "unassigned has no CONF",
            "[[rule]]\noutcome = \"unassigned\"",
            vec![S::Rx(150, "\r\n^ORIG:1,0\r\n\r\n^CEND:1,0,104,1\r\n")],
        ),
        (
            "network failure",
            "[[rule]]\noutcome = \"network_failure\"",
            vec![S::Rx(
                350,
                "\r\n^ORIG:1,0\r\n\r\n^CONF:1\r\n\r\n^CEND:1,0,104,34\r\n",
            )],
        ),
        (
            "network failure 101 without cause",
            "[[rule]]\noutcome = \"network_failure\"\nend_status = 101",
            vec![S::Rx(
                350,
                "\r\n^ORIG:1,0\r\n\r\n^CONF:1\r\n\r\n^CEND:1,0,101\r\n",
            )],
        ),
        (
            "no carrier",
            "[[rule]]\noutcome = \"no_carrier\"",
            vec![
                S::Rx(150, "\r\n^ORIG:1,0\r\n\r\nNO CARRIER\r\n"),
                S::Tx(151, "AT+CLCC\r"),
                S::Rx(151, "\r\nOK\r\n"),
            ],
        ),
        (
            "a rule for another modem does not apply",
            "[[rule]]\noutcome = \"busy\"\nmodems = [\"modem7\"]",
            vec![S::Rx(
                600,
                "\r\n^ORIG:1,0\r\n\r\n^CONF:1\r\n\r\n^CONN:1,0\r\n",
            )],
        ),
    ];
    for (name, rules, steps) in cases {
        // Rules restricted to other modems are filtered out by the IO layer; mimic it.
        let rules = if rules.contains("modem7") { "" } else { rules };
        dial_case(name, rules, &steps);
    }
}

#[test]
fn atd_error_and_refusals() {
    case(
        "error outcome",
        "[[rule]]\noutcome = \"error\"",
        &[
            S::Tx(0, "ATE0\rATD123;\r"),
            S::Rx(0, "ATE0\r\r\nOK\r\n\r\nERROR\r\n"),
            S::Rx(5000, ""),
        ],
    );
    case(
        "no data calls, one call at a time, no bad numbers",
        NO_RULES,
        &[
            S::Tx(0, "ATE0\rAT+CMEE=1\rATD123\r"),
            S::Rx(0, "ATE0\r\r\nOK\r\n\r\nOK\r\n\r\nERROR\r\n"),
            S::Tx(0, "ATD12x;\r"),
            S::Rx(0, "\r\n+CME ERROR: 50\r\n"),
            S::Tx(0, "ATD123;\rATD456;\r"),
            S::Rx(0, "\r\nOK\r\n\r\n+CME ERROR: 3\r\n"),
        ],
    );
    let mut d = device(NO_RULES, timing(), |c| c.modem = vec![Default::default()]);
    d.set_voice(false);
    run(
        "voice disabled",
        &mut d,
        &[
            S::Tx(0, "ATE0\rAT^CVOICE?\rATD1;\r"),
            S::Rx(0, "ATE0\r\r\nOK\r\n\r\nERROR\r\n\r\nERROR\r\n"),
        ],
    );
    case(
        "no signal",
        NO_RULES,
        &[
            S::Op(0, |d, t| d.set_rssi(t, 0)),
            S::Tx(0, "ATE0\rAT+CMEE=1\rATD1;\rAT+COPS?\r"),
            S::Rx(0, "\r\n^RSSI:0\r\n\r\n^SRVST:0\r\nATE0\r\r\nOK\r\n\r\nOK\r\n\r\n+CME ERROR: 30\r\n\r\n+COPS: 0\r\n\r\nOK\r\n"),
        ],
    );
}

#[test]
fn clcc_stat_at_each_phase_and_chup() {
    dial_case(
        "clcc",
        NO_RULES,
        &[
            S::Tx(1, "AT+CLCC\r"),
            S::Rx(
                1,
                "\r\n+CLCC: 1,0,2,0,0,\"5511912345678\",129\r\n\r\nOK\r\n",
            ),
            S::Tx(150, "AT+CLCC\r"),
            S::Rx(
                150,
                "\r\n^ORIG:1,0\r\n\r\n+CLCC: 1,0,2,0,0,\"5511912345678\",129\r\n\r\nOK\r\n",
            ),
            S::Tx(350, "AT+CLCC\r"),
            S::Rx(
                350,
                "\r\n^CONF:1\r\n\r\n+CLCC: 1,0,3,0,0,\"5511912345678\",129\r\n\r\nOK\r\n",
            ),
            S::Tx(700, "AT+CLCC\r"),
            S::Rx(
                700,
                "\r\n^CONN:1,0\r\n\r\n+CLCC: 1,0,0,0,0,\"5511912345678\",129\r\n\r\nOK\r\n",
            ),
            S::Tx(4000, "AT^DTMF=1,5\rAT^DTMF=1,#\rAT^DTMF=1,A\r"),
            S::Rx(4000, "\r\nOK\r\n\r\nOK\r\n\r\nERROR\r\n"),
            S::Tx(4000, "AT+CHUP\r"),
            S::Rx(4000, "\r\nOK\r\n\r\n^CEND:1,3,29,16\r\n"),
            S::Tx(4001, "AT+CLCC\r"),
            S::Rx(4001, "\r\nOK\r\n"),
        ],
    );
    let mut d = device(NO_RULES, timing(), |_| {});
    run("status", &mut d, &DIAL);
    assert!(!d.audio_active());
    d.input(1, b"AT^DDSETEX=2\r");
    assert!(d.audio_active());
    assert_eq!(
        d.pop_event(),
        Some(DeviceEvent::CallStarted {
            number: "5511912345678".into(),
            incoming: false,
        })
    );
    d.input(1000, b"AT^DTMF=1,7\rAT+CHUP\r");
    assert!(!d.audio_active());
    let last = d.status().last_call.expect("last call");
    assert_eq!((last.outcome, last.dtmf.as_str()), ("local_hangup", "7"));
}

#[test]
fn faults_end_calls() {
    dial_case(
        "signal loss",
        NO_RULES,
        &[
            S::Tx(0, "AT+CREG=1\r"),
            S::Rx(
                700,
                "\r\nOK\r\n\r\n^ORIG:1,0\r\n\r\n^CONF:1\r\n\r\n^CONN:1,0\r\n",
            ),
            S::Op(2700, |d, t| d.set_rssi(t, 99)),
            S::Rx(
                2700,
                "\r\n^RSSI:99\r\n\r\n^CEND:1,2,106\r\n\r\n+CREG: 2\r\n\r\n^SRVST:0\r\n",
            ),
            S::Op(3000, |d, t| d.set_rssi(t, 20)),
            S::Rx(3000, "\r\n^RSSI:20\r\n\r\n+CREG: 1\r\n\r\n^SRVST:2\r\n"),
        ],
    );
    dial_case(
        "sim removal",
        NO_RULES,
        &[
            S::Op(150, |d, t| d.remove_sim(t)),
            S::Rx(
                150,
                "\r\n^ORIG:1,0\r\n\r\n^SIMST:255\r\n\r\n^CEND:1,0,106\r\n\r\n^SRVST:0\r\n",
            ),
            S::Tx(200, "AT+CIMI\r"),
            S::Rx(200, "\r\nERROR\r\n"),
            S::Op(300, |d, _| {
                d.insert_sim(Some("724021234567890".into()), None)
            }),
            S::Tx(300, "AT+CIMI\r"),
            S::Rx(
                300,
                "\r\n^SIMST:1\r\n\r\n^SRVST:2\r\n\r\n724021234567890\r\n\r\nOK\r\n",
            ),
        ],
    );
    dial_case(
        "remote hangup from control",
        NO_RULES,
        &[
            S::Rx(600, "\r\n^ORIG:1,0\r\n\r\n^CONF:1\r\n\r\n^CONN:1,0\r\n"),
            S::Op(1700, |d, t| assert!(d.remote_hangup(t))),
            S::Rx(1700, "\r\n^CEND:1,1,104,16\r\n"),
        ],
    );
}

#[test]
fn reboot_resets_settings() {
    case(
        "reboot",
        NO_RULES,
        &[
            S::Tx(0, "ATE0\rAT+CMEE=1\rAT+CREG=2\rATD1;\r"),
            S::Rx(0, "ATE0\r\r\nOK\r\n\r\nOK\r\n\r\nOK\r\n\r\nOK\r\n"),
            S::Tx(10, "AT+CFUN=1,1\r"),
            S::Rx(10, "\r\nOK\r\n"),
            S::Tx(500, "AT\r"),
            S::Rx(1009, ""),
            S::Rx(
                1010,
                "\r\n^BOOT:20952548,0,0,0,72\r\n\r\n^SIMST:1\r\n\r\n^SRVST:2\r\n\r\n^RSSI:17\r\n",
            ),
            S::Tx(1100, "AT+CREG?\r"),
            S::Rx(1100, "AT+CREG?\r\r\n+CREG: 0,1\r\n\r\nOK\r\n"),
            S::Tx(1100, "AT+CLCC\rAT^DTMF=1,1\r"),
            S::Rx(1100, "AT+CLCC\r\r\nOK\r\nAT^DTMF=1,1\r\r\nERROR\r\n"),
        ],
    );
}

#[test]
fn frozen_drops_commands_but_keeps_urcs() {
    let t = Timing {
        rssi_interval_ms: 1000,
        boot_interval_ms: 3000,
        ..timing()
    };
    let mut d = device(NO_RULES, t, |_| {});
    run(
        "frozen",
        &mut d,
        &[
            S::Op(0, |d, _| d.set_frozen(true)),
            S::Tx(10, "AT\r"),
            S::Rx(999, ""),
            S::Rx(1000, "\r\n^RSSI:17\r\n"),
            S::Tx(1500, "AT+CSQ\r"),
            S::Rx(
                3000,
                "\r\n^RSSI:17\r\n\r\n^BOOT:20952548,0,0,0,72\r\n\r\n^RSSI:17\r\n",
            ),
            S::Op(3000, |d, _| d.set_frozen(false)),
            S::Tx(3000, "AT\r"),
            S::Rx(3000, "AT\r\r\nOK\r\n"),
        ],
    );
    assert_eq!(d.status().counters.commands_dropped, 2);
    assert_eq!(d.next_deadline(), Some(4000));
}

#[test]
fn commands_queue_in_order_behind_the_delay() {
    let t = Timing {
        command_delay_ms: 50,
        ..timing()
    };
    let mut d = device(NO_RULES, t, |_| {});
    run(
        "queue",
        &mut d,
        &[
            S::Tx(0, "ATE0\rAT+CGMI\rAT+CSQ\r"),
            S::Rx(0, "ATE0\rAT+CGMI\rAT+CSQ\r"),
            S::Rx(50, "\r\nOK\r\n"),
            S::Rx(100, "\r\nhuawei\r\n\r\nOK\r\n"),
            S::Rx(150, "\r\n+CSQ: 17,99\r\n\r\nOK\r\n"),
        ],
    );
}

#[test]
fn iccid_swapped() {
    let mut d = device(NO_RULES, timing(), |c| {
        c.modem = vec![e173gw_core::config::sim::SimModemConfig {
            iccid_swapped: Some(true),
            ..Default::default()
        }]
    });
    d.input(0, b"ATE0\rAT^ICCID?\r");
    let out = String::from_utf8_lossy(&d.take_output()).to_string();
    let reported = out
        .split("^ICCID: ")
        .nth(1)
        .and_then(|s| s.split('\r').next())
        .expect("iccid line");
    assert!(reported.starts_with("98"), "{reported}");
    let back = e173gw_core::domain::Iccid::parse_reported(reported).expect("parses");
    assert_eq!(back.as_str(), d.identity().iccid);
}

#[test]
fn unplug_and_power_up() {
    let mut d = device(
        NO_RULES,
        Timing {
            rssi_interval_ms: 1000,
            ..timing()
        },
        |_| {},
    );
    d.input(0, b"ATE0\rATD1;\r");
    d.unplug();
    assert_eq!(d.next_deadline(), None);
    assert!(!d.in_call());
    assert_eq!(d.status().last_call.map(|c| c.outcome), Some("unplugged"));
    d.power_up(5000);
    assert_eq!(d.next_deadline(), Some(6000));
    d.input(5000, b"AT\r");
    assert_eq!(d.take_output(), b"AT\r\r\nOK\r\n");
}
