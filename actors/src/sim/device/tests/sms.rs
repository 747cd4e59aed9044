//! SMS in PDU mode: the `AT+CMGS` prompt and PDU, refusals, status reports, messages
//! delivered from the control socket and read, listed and deleted from SIM slots.

use e173gw_core::sms::pdu::{self, Concat, Received, Submit, SubmitPart};

use super::*;

/// A string for a transcript step (tests only: leaked).
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn submit(to: &str, text: &str, srr: bool) -> Vec<SubmitPart> {
    pdu::submit(&Submit {
        to,
        text,
        status_report: srr,
        validity: 169,
        reference: 9,
    })
    .expect("encodes")
}

/// `AT+CMGS=<n>` for a part.
fn cmgs(p: &SubmitPart) -> &'static str {
    leak(format!("AT+CMGS={}\r", p.tpdu_len))
}

/// The part's PDU and Ctrl-Z.
fn body(p: &SubmitPart) -> &'static str {
    leak(format!("{}\x1a", p.hex))
}

fn quiet() -> Device {
    let mut d = device(NO_RULES, timing(), |_| {});
    d.input(0, b"ATE0\r");
    d.take_output();
    d
}

/// `AT+CMGR=<i>` (earlier output dropped): (stat, TPDU length, PDU), or the raw answer
/// when it is not a message.
fn cmgr(d: &mut Device, now: u64, i: usize) -> Result<(u8, usize, String), String> {
    d.take_output();
    d.input(now, format!("AT+CMGR={i}\r").as_bytes());
    let out = String::from_utf8_lossy(&d.take_output()).to_string();
    let body = out
        .strip_prefix("\r\n+CMGR: ")
        .and_then(|s| s.strip_suffix("\r\n\r\nOK\r\n"))
        .ok_or_else(|| out.clone())?;
    let (head, hex) = body.split_once("\r\n").ok_or_else(|| out.clone())?;
    let f: Vec<&str> = head.split(',').collect();
    let stat = f[0].parse().map_err(|_| out.clone())?;
    let len = f[2].parse().map_err(|_| out.clone())?;
    Ok((stat, len, hex.to_string()))
}

fn deliver(hex: &str) -> pdu::Deliver {
    match pdu::parse(hex) {
        Ok(Received::Deliver(d)) => d,
        other => panic!("{hex}: {other:?}"),
    }
}

#[test]
fn send_with_the_prompt_then_the_network_answers() {
    let parts = submit("+5511912345678", "Oi, tudo bem?", false);
    let p = &parts[0];
    let (a, b) = p.hex.split_at(10);
    let mut d = quiet();
    run(
        "send",
        &mut d,
        &[
            S::Tx(0, "AT+CMGF=0\r"),
            S::Rx(0, "\r\nOK\r\n"),
            S::Tx(0, cmgs(p)),
            S::Rx(0, "\r\n> "),
            // The PDU split across reads, then Ctrl-Z and a command behind it.
            S::Tx(10, leak(a.to_string())),
            S::Tx(20, leak(format!("{b}\x1aAT+CSQ\r"))),
            S::Rx(419, ""),
            S::Rx(
                420,
                "\r\n+CMGS: 0\r\n\r\nOK\r\n\r\n+CSQ: 17,99\r\n\r\nOK\r\n",
            ),
            S::Tx(500, cmgs(p)),
            S::Tx(500, body(p)),
            S::Rx(900, "\r\n> \r\n+CMGS: 1\r\n\r\nOK\r\n"),
        ],
    );
    let st = d.status();
    assert_eq!(st.sms_sent.len(), 2);
    let s = &st.sms_sent[0];
    assert_eq!(
        (s.to.as_str(), s.text.as_str(), s.mr, s.seq, s.total),
        ("+5511912345678", "Oi, tudo bem?", 0, 1, 1)
    );
    assert_eq!((s.reference, s.status_report, s.ucs2), (None, false, false));
    assert_eq!(st.counters.sms_sent, 2);
}

#[test]
fn long_texts_go_part_by_part_and_are_listed() {
    let text = "Promoção! ".repeat(15);
    let parts = submit("11987654321", &text, false);
    assert_eq!(parts.len(), 3);
    let mut d = quiet();
    for (i, p) in parts.iter().enumerate() {
        let t = i as u64 * 1000;
        d.input(t, cmgs(p).as_bytes());
        d.input(t, body(p).as_bytes());
        d.poll(t + 400);
        let out = String::from_utf8_lossy(&d.take_output()).to_string();
        assert_eq!(out, format!("\r\n> \r\n+CMGS: {i}\r\n\r\nOK\r\n"));
    }
    let sent = d.status().sms_sent;
    let back: String = sent.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(back, text);
    assert!(sent.iter().enumerate().all(|(i, s)| s.reference == Some(9)
        && s.total == 3
        && usize::from(s.seq) == i + 1
        && s.ucs2));
}

#[test]
fn esc_cancels_and_bad_pdus_are_refused() {
    let p = &submit("+5511912345678", "Oi", false)[0];
    let deliver_pdu = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37";
    let mut d = quiet();
    run(
        "refusals",
        &mut d,
        &[
            S::Tx(0, cmgs(p)),
            S::Tx(0, leak(format!("{}\x1b", &p.hex[..8]))),
            S::Rx(0, "\r\n> \r\nOK\r\n"),
            // The wrong length, not hex, a DELIVER, and too much.
            S::Tx(1, leak(format!("AT+CMGS={}\r", p.tpdu_len + 1))),
            S::Tx(1, body(p)),
            S::Rx(1, "\r\n> \r\n+CMS ERROR: 304\r\n"),
            S::Tx(2, cmgs(p)),
            S::Tx(2, "00ZZ\x1a"),
            S::Rx(2, "\r\n> \r\n+CMS ERROR: 304\r\n"),
            S::Tx(3, "AT+CMGS=28\r"),
            S::Tx(3, leak(format!("{deliver_pdu}\x1a"))),
            S::Rx(3, "\r\n> \r\n+CMS ERROR: 304\r\n"),
            S::Tx(4, cmgs(p)),
            S::Tx(4, leak(format!("{}\x1a", "0".repeat(1000)))),
            S::Rx(4, "\r\n> \r\n+CMS ERROR: 304\r\n"),
            S::Tx(5, "AT+CMGS=0\rAT+CMGS=165\rAT+CMGS=x\r"),
            S::Rx(
                5,
                "\r\n+CMS ERROR: 304\r\n\r\n+CMS ERROR: 304\r\n\r\n+CMS ERROR: 304\r\n",
            ),
            S::Tx(6, "AT\r"),
            S::Rx(6, "\r\nOK\r\n"),
        ],
    );
    assert!(d.status().sms_sent.is_empty());
}

#[test]
fn no_sim_no_network_text_mode_and_failing_sends() {
    let p = &submit("+5511912345678", "Oi", false)[0];
    let mut d = quiet();
    run(
        "no network",
        &mut d,
        &[
            S::Op(0, |d, t| d.set_rssi(t, 0)),
            S::Tx(0, cmgs(p)),
            // The host writes the PDU anyway: it is not taken for commands.
            S::Tx(0, body(p)),
            S::Tx(0, "AT\r"),
            S::Rx(
                0,
                "\r\n^RSSI:0\r\n\r\n^SRVST:0\r\n\r\n+CMS ERROR: 331\r\n\r\nOK\r\n",
            ),
            S::Op(1, |d, t| d.set_rssi(t, 20)),
            S::Op(1, |d, t| d.remove_sim(t)),
            S::Tx(1, cmgs(p)),
            S::Tx(1, "AT+CMGR=0\rAT+CPMS?\r"),
            S::Rx(
                1,
                "\r\n^RSSI:20\r\n\r\n^SRVST:2\r\n\r\n^SIMST:255\r\n\r\n^SRVST:0\r\n\r\n+CMS ERROR: 310\r\n\r\n+CMS ERROR: 310\r\n\r\n+CMS ERROR: 310\r\n",
            ),
            S::Op(2, |d, _| d.insert_sim(None, None)),
            S::Tx(2, "AT+CMGF=1\rAT+CMGF?\r"),
            S::Tx(2, cmgs(p)),
            S::Tx(2, "AT+CMGF=0\r"),
            S::Rx(
                2,
                "\r\n^SIMST:1\r\n\r\n^SRVST:2\r\n\r\nOK\r\n\r\n+CMGF: 1\r\n\r\nOK\r\n\r\n+CMS ERROR: 302\r\n\r\nOK\r\n",
            ),
            S::Op(3, |d, _| d.set_sms_fail(true)),
            S::Tx(3, cmgs(p)),
            S::Tx(3, body(p)),
            S::Rx(402, "\r\n> "),
            S::Rx(403, "\r\n+CMS ERROR: 500\r\n"),
            S::Op(404, |d, _| d.set_sms_fail(false)),
            S::Tx(404, cmgs(p)),
            S::Tx(404, body(p)),
            S::Rx(804, "\r\n> \r\n+CMGS: 0\r\n\r\nOK\r\n"),
        ],
    );
    assert!(!d.status().sms.fail);
}

#[test]
fn a_pdu_written_before_the_prompt_is_kept_and_echo_shows_it() {
    let p = &submit("+5511912345678", "Oi", false)[0];
    let mut d = device(
        NO_RULES,
        Timing {
            command_delay_ms: 50,
            ..timing()
        },
        |_| {},
    );
    let line = leak(format!("{}{}", cmgs(p), body(p)));
    run(
        "early pdu",
        &mut d,
        &[
            S::Tx(0, line),
            // Echo on: the command and the PDU come back as typed.
            S::Rx(0, line),
            S::Rx(50, "\r\n> "),
            S::Rx(450, "\r\n+CMGS: 0\r\n\r\nOK\r\n"),
        ],
    );
}

#[test]
fn status_reports_arrive_in_a_slot() {
    let p = &submit("+5511912345678", "Chegou?", true)[0];
    let mut d = quiet();
    run(
        "report",
        &mut d,
        &[
            S::Tx(0, cmgs(p)),
            S::Tx(0, body(p)),
            S::Rx(400, "\r\n> \r\n+CMGS: 0\r\n\r\nOK\r\n"),
            S::Rx(1399, ""),
            S::Rx(1400, "\r\n+CDSI: \"SM\",0\r\n"),
        ],
    );
    let (stat, len, hex) = cmgr(&mut d, 1500, 0).expect("a report");
    assert_eq!((stat, len), (0, hex.len() / 2 - 8));
    assert_eq!(
        pdu::parse(&hex),
        Ok(Received::Status(pdu::StatusReport {
            reference: 0,
            to: "+5511912345678".into(),
            status: 0
        }))
    );
    assert!(d.status().sms_sent[0].status_report);
}

#[test]
fn received_messages_are_stored_read_listed_and_deleted() {
    let mut d = quiet();
    run(
        "receive",
        &mut d,
        &[
            S::Op(0, |d, t| {
                assert_eq!(
                    d.receive_sms(t, "+5511988887777", "Saldo baixo: R$ 0,50", false),
                    Ok(vec![0])
                );
            }),
            S::Op(0, |d, t| {
                assert_eq!(d.receive_sms(t, "Vivo", "Olá", false), Ok(vec![1]));
            }),
            S::Rx(0, "\r\n+CMTI: \"SM\",0\r\n\r\n+CMTI: \"SM\",1\r\n"),
            S::Tx(0, "AT+CPMS=\"SM\",\"SM\",\"SM\"\r"),
            S::Rx(0, "\r\n+CPMS: 2,50,2,50,2,50\r\n\r\nOK\r\n"),
        ],
    );
    let (stat, len, hex) = cmgr(&mut d, 1, 0).expect("slot 0");
    assert_eq!((stat, len), (0, hex.len() / 2 - 8));
    let m = deliver(&hex);
    assert_eq!(
        (m.from.as_str(), m.text.as_str()),
        ("+5511988887777", "Saldo baixo: R$ 0,50")
    );
    assert_eq!(m.timestamp, "26-03-01 09:00:00-12");
    assert_eq!(cmgr(&mut d, 2, 0).expect("again").0, 1, "read now");
    let m = deliver(&cmgr(&mut d, 2, 1).expect("slot 1").2);
    assert_eq!((m.from.as_str(), m.text.as_str()), ("Vivo", "Olá"));
    let st = d.status().sms;
    assert_eq!((st.stored, st.unread, st.capacity), (2, 0, 50));

    d.receive_sms(3, "123", "terceira", true).expect("stored");
    d.input(3, b"AT+CMGL=4\r");
    let out = String::from_utf8_lossy(&d.take_output()).to_string();
    let heads: Vec<&str> = out
        .split("\r\n")
        .filter(|l| l.starts_with("+CMGL:"))
        .collect();
    assert_eq!(heads.len(), 3, "{out}");
    assert!(heads[0].starts_with("+CMGL: 0,1,,") && heads[2].starts_with("+CMGL: 2,0,,"));
    run(
        "delete",
        &mut d,
        &[
            S::Tx(4, "AT+CMGL=0\rAT+CMGD=0\rAT+CMGD=0\rAT+CMGD=50\rAT+CMGR=0\rAT+CPMS?\r"),
            S::Rx(
                4,
                "\r\nOK\r\n\r\nOK\r\n\r\nOK\r\n\r\n+CMS ERROR: 321\r\n\r\n+CMS ERROR: 321\r\n\r\n+CPMS: \"SM\",2,50,\"SM\",2,50,\"SM\",2,50\r\n\r\nOK\r\n",
            ),
            S::Tx(5, "AT+CMGD=0,4\rAT+CPMS?\r"),
            S::Rx(
                5,
                "\r\nOK\r\n\r\n+CPMS: \"SM\",0,50,\"SM\",0,50,\"SM\",0,50\r\n\r\nOK\r\n",
            ),
        ],
    );
    let m = deliver(&{
        d.receive_sms(6, "123", "x", true).expect("stored");
        cmgr(&mut d, 6, 0).expect("ucs2").2
    });
    assert_eq!(m.text, "x");
    assert_eq!(d.status().counters.sms_received, 4);
}

#[test]
fn long_messages_take_several_slots_until_the_sim_is_full() {
    let mut d = quiet();
    let text = "Seu pacote de dados acabou. ".repeat(8);
    assert_eq!(
        d.receive_sms(0, "+5511900001111", &text, false),
        Ok(vec![0, 1])
    );
    let parts: Vec<pdu::Deliver> = (0..2)
        .map(|i| deliver(&cmgr(&mut d, 0, i).expect("part").2))
        .collect();
    assert_eq!(format!("{}{}", parts[0].text, parts[1].text), text);
    assert_eq!(
        parts[1].concat,
        Some(Concat {
            reference: 1,
            total: 2,
            seq: 2
        })
    );
    for _ in 2..49 {
        d.receive_sms(1, "100", "x", false).expect("room");
    }
    d.take_output();
    assert_eq!(d.receive_sms(2, "100", &text, false), Ok(vec![49]));
    assert_eq!(
        String::from_utf8_lossy(&d.take_output()),
        "\r\n+CMTI: \"SM\",49\r\n\r\n^SMMEMFULL: \"SM\"\r\n"
    );
    assert_eq!(d.status().sms.stored, 50);
    assert!(d
        .receive_sms(2, "100", "y", false)
        .expect("dropped")
        .is_empty());
    d.remove_sim(3);
    assert!(d.receive_sms(3, "100", "y", false).is_err());
}
