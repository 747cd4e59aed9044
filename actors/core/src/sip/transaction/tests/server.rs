//! Server transactions: INVITE (G, H, I, L, RFC 6026 Accepted), non-INVITE (J).

use super::*;

/// G (and the 2xx retransmission) from a final sent at 0: T1 doubling, capped at T2.
const G_SCHEDULE: &[f64] = &[0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5];

#[test]
fn a_new_invite_gets_100_at_once_and_reaches_the_tu_once() {
    let mut h = H::new();
    let inv = R::default();
    assert_eq!(h.recv(inv.build(), udp()), vec!["> 100", "request INVITE"]);
    for _ in 0..3 {
        assert_eq!(
            h.recv(inv.build(), udp()),
            vec!["> 100"],
            "retransmission: the last response again"
        );
    }
    let c = h.l.counts();
    assert_eq!((c.server, c.absorbed, c.retransmissions), (1, 3, 3));
    assert_eq!(
        h.l.next_deadline(),
        None,
        "Proceeding waits for the transaction user"
    );
}

#[test]
fn provisional_answers_are_resent_to_retransmissions() {
    let mut h = H::new();
    let inv = R::default();
    let tx = h.new_request(inv.build(), udp());
    h.l.respond(h.now, tx, resp(&inv.build(), 180, "gt"))
        .expect("180");
    h.l.respond(h.now, tx, resp(&inv.build(), 183, "gt"))
        .expect("183");
    assert_eq!(h.shown(), vec!["> 180", "> 183"]);
    assert_eq!(h.recv(inv.build(), udp()), vec!["> 183"]);
}

#[test]
fn non_2xx_final_on_udp_is_retransmitted_by_timer_g_until_timer_h() {
    let mut h = H::new();
    let inv = R::default();
    let tx = h.new_request(inv.build(), udp());
    h.l.respond(h.now, tx, resp(&inv.build(), 486, "gt"))
        .expect("486");
    assert_eq!(h.shown(), vec!["> 486"]);
    let out = h.run_until(40_000);
    assert_eq!(times_of(&out, "> 486"), secs(G_SCHEDULE));
    assert_eq!(times_of(&out, "noack"), vec![32_000], "Timer H = 64·T1");
    assert_eq!(out.last().map(|(_, s)| s.as_str()), Some("noack"));
    assert_eq!(h.l.counts().server, 0);
    assert_eq!(h.l.counts().no_acks, 1);
    assert_eq!(h.l.next_deadline(), None);
}

#[test]
fn ack_for_a_non_2xx_is_absorbed_and_timer_i_ends_the_transaction() {
    let mut h = H::new();
    let inv = R::default();
    let tx = h.new_request(inv.build(), udp());
    h.l.respond(h.now, tx, resp(&inv.build(), 603, "gt"))
        .expect("603");
    h.drain();
    assert_eq!(times_of(&h.run_until(700), "> 603"), vec![500]);
    // The ACK of a non-2xx has the INVITE's branch and the response's To tag.
    let ack = R {
        method: "ACK",
        ..inv.clone()
    }
    .with_to_tag("gt")
    .build();
    assert_eq!(
        h.recv(ack.clone(), udp()),
        Vec::<String>::new(),
        "absorbed, never given to the TU"
    );
    assert_eq!(
        h.recv(ack, udp()),
        Vec::<String>::new(),
        "ACK retransmission absorbed too"
    );
    assert_eq!(
        h.recv(inv.build(), udp()),
        vec!["> 603"],
        "Confirmed: INVITE retransmission answered again"
    );
    let out = h.run_until(5_699);
    assert!(out.is_empty(), "no retransmission once confirmed: {out:?}");
    assert_eq!(h.l.counts().server, 1);
    h.run_until(5_700);
    assert_eq!(h.l.counts().server, 0, "Timer I = T4 after the ACK");
    assert_eq!(h.l.counts().no_acks, 0);
}

#[test]
fn accepted_2xx_is_retransmitted_until_the_ack_which_is_delivered_once() {
    let mut h = H::new();
    let inv = R::default();
    let tx = h.new_request(inv.build(), udp());
    h.l.respond(h.now, tx, resp(&inv.build(), 200, "gt"))
        .expect("200");
    assert_eq!(h.shown(), vec!["> 200"]);
    let out = h.run_until(4_000);
    assert_eq!(times_of(&out, "> 200"), secs(&G_SCHEDULE[..3]));
    // The ACK for a 2xx is a new transaction: new branch, same Call-ID, From tag, CSeq.
    assert_eq!(
        h.recv(ack_2xx(&inv, "z9hG4bKack1", "gt"), udp()),
        vec![format!("ack {tx}")]
    );
    assert_eq!(
        h.recv(ack_2xx(&inv, "z9hG4bKack1", "gt"), udp()),
        Vec::<String>::new(),
        "delivered once"
    );
    assert_eq!(
        h.recv(inv.build(), udp()),
        vec!["> 200"],
        "INVITE retransmission absorbed, 2xx resent"
    );
    let out = h.run_until(40_000);
    assert!(
        times_of(&out, "> 200").is_empty(),
        "no retransmission after the ACK: {out:?}"
    );
    assert!(times_of(&out, "noack").is_empty());
    assert_eq!(h.l.counts().server, 0, "Timer L ended it");
    // The transaction is gone: a late ACK goes to the TU unmatched.
    assert_eq!(
        h.recv(ack_2xx(&inv, "z9hG4bKack1", "gt"), udp()),
        vec!["ack"]
    );
}

#[test]
fn accepted_without_ack_ends_in_noack_at_timer_l() {
    let mut h = H::new();
    let inv = R::default();
    h.at(1_000);
    let tx = h.new_request(inv.build(), udp());
    h.l.respond(h.now, tx, resp(&inv.build(), 200, "gt"))
        .expect("200");
    h.drain();
    let out = h.run_until(50_000);
    let want: Vec<u64> = secs(G_SCHEDULE).iter().map(|t| t + 1_000).collect();
    assert_eq!(times_of(&out, "> 200"), want);
    assert_eq!(times_of(&out, "noack"), vec![33_000]);
    assert_eq!(h.l.counts().server, 0);
}

#[test]
fn the_tu_may_pass_further_2xx_in_accepted() {
    let mut h = H::new();
    let inv = R::default();
    let tx = h.new_request(inv.build(), udp());
    h.l.respond(h.now, tx, resp(&inv.build(), 200, "gt"))
        .expect("200");
    h.l.respond(h.now, tx, resp(&inv.build(), 200, "gt"))
        .expect("2xx again");
    assert_eq!(h.shown(), vec!["> 200", "> 200"]);
    assert_eq!(
        h.l.respond(h.now, tx, resp(&inv.build(), 486, "gt")),
        Err(TxError::AlreadyFinal(tx))
    );
    assert_eq!(
        h.l.respond(h.now, tx, resp(&inv.build(), 180, "gt")),
        Err(TxError::AlreadyFinal(tx))
    );
}

#[test]
fn reliable_invite_server_has_no_retransmissions_and_zero_timer_i() {
    let mut h = H::new();
    let inv = R {
        proto: "TCP",
        ..R::default()
    };
    let tx = h.new_request(inv.build(), tcp());
    h.l.respond(h.now, tx, resp(&inv.build(), 486, "gt"))
        .expect("486");
    assert_eq!(h.shown(), vec!["> 486"]);
    // Only Timer H is armed.
    assert_eq!(h.l.next_deadline(), Some(h.t0 + Duration::from_secs(32)));
    h.at(100);
    let ack = R {
        method: "ACK",
        ..inv.clone()
    }
    .with_to_tag("gt")
    .build();
    assert!(h.recv(ack, tcp()).is_empty());
    assert_eq!(h.l.counts().server, 0, "Timer I is zero on TCP");
    assert_eq!(h.l.next_deadline(), None);

    // 2xx on TCP: no retransmission, ACK matched, Timer L still runs.
    let inv2 = R {
        proto: "TCP",
        branch: Some("z9hG4bKin2".into()),
        seq: 2,
        ..R::default()
    };
    let tx2 = h.new_request(inv2.build(), tcp());
    h.l.respond(h.now, tx2, resp(&inv2.build(), 200, "gt"))
        .expect("200");
    h.drain();
    assert_eq!(
        h.l.next_deadline(),
        Some(h.now + Duration::from_secs(32)),
        "only Timer L"
    );
    assert_eq!(
        h.recv(ack_2xx(&inv2, "z9hG4bKack2", "gt"), tcp()),
        vec![format!("ack {tx2}")]
    );
    assert!(h.run_until(40_000).is_empty());
    assert_eq!(h.l.counts().server, 0);

    // 2xx on TCP without ACK: NoAck at Timer L.
    let inv3 = R {
        proto: "TCP",
        branch: Some("z9hG4bKin3".into()),
        seq: 3,
        ..R::default()
    };
    let tx3 = h.new_request(inv3.build(), tcp());
    h.l.respond(h.now, tx3, resp(&inv3.build(), 200, "gt"))
        .expect("200");
    h.drain();
    assert_eq!(h.run_until(80_000), vec![(72_000, "noack".to_string())]);
    assert_eq!(h.l.counts().retransmissions, 0);
}

#[test]
fn non_invite_server_table() {
    // (transport, answers, retransmission answered with, Timer J)
    type Case = (Transport, &'static [u16], Option<u16>, Option<u64>);
    let cases: &[Case] = &[
        (Transport::Udp, &[], None, None),
        (Transport::Udp, &[100], Some(100), None),
        (Transport::Udp, &[180, 200], Some(200), Some(32_000)),
        (Transport::Udp, &[404], Some(404), Some(32_000)),
        (Transport::Tcp, &[200], None, Some(0)),
    ];
    for (transport, answers, again, j) in cases {
        let mut h = H::new();
        let peer = if *transport == Transport::Udp {
            udp()
        } else {
            tcp()
        };
        let opt = R {
            proto: if *transport == Transport::Udp {
                "UDP"
            } else {
                "TCP"
            },
            ..R::new("OPTIONS", "z9hG4bKo1")
        };
        let tx = h.new_request(opt.build(), peer);
        for code in *answers {
            h.l.respond(h.now, tx, resp(&opt.build(), *code, "gt"))
                .expect("answer");
        }
        let sent: Vec<String> = answers.iter().map(|c| format!("> {c}")).collect();
        assert_eq!(h.shown(), sent, "{transport:?} {answers:?}");
        let want: Vec<String> = again.iter().map(|c| format!("> {c}")).collect();
        let retransmitted = h.recv(opt.build(), peer);
        match j {
            Some(0) => assert_eq!(
                retransmitted,
                vec!["request OPTIONS"],
                "terminated at once: a new transaction"
            ),
            _ => assert_eq!(retransmitted, want, "{transport:?} {answers:?}"),
        }
        if let Some(j @ 1..) = j {
            assert_eq!(
                h.l.next_deadline(),
                Some(h.t0 + Duration::from_millis(*j)),
                "Timer J"
            );
            assert!(h.run_until(*j).is_empty(), "Timer J is silent");
            assert_eq!(h.l.counts().server, 0);
        }
    }
}

#[test]
fn acks_that_match_nothing_go_to_the_tu() {
    let mut h = H::new();
    let inv = R::default();
    let tx = h.new_request(inv.build(), udp());
    h.l.respond(h.now, tx, resp(&inv.build(), 200, "gt"))
        .expect("200");
    h.drain();
    let cases = [
        ack_2xx(
            &R {
                seq: 2,
                ..inv.clone()
            },
            "z9hG4bKa",
            "gt",
        ),
        ack_2xx(
            &R {
                call_id: "other",
                ..inv.clone()
            },
            "z9hG4bKa",
            "gt",
        ),
        ack_2xx(
            &R {
                from_tag: "other",
                ..inv.clone()
            },
            "z9hG4bKa",
            "gt",
        ),
    ];
    for ack in cases {
        assert_eq!(h.recv(ack, udp()), vec!["ack"]);
    }
    // An ACK with the INVITE's branch in Accepted acknowledges the 2xx too.
    assert_eq!(
        h.recv(
            R {
                method: "ACK",
                ..inv
            }
            .with_to_tag("gt")
            .build(),
            udp()
        ),
        vec![format!("ack {tx}")]
    );
}

#[test]
fn respond_errors() {
    let mut h = H::new();
    let inv = R::default();
    let tx = h.new_request(inv.build(), udp());
    let bye = R::new("BYE", "z9hG4bKbye").build();
    let cancel = R {
        method: "CANCEL",
        ..inv.clone()
    }
    .build();
    h.l.on_request(h.now, cancel.clone(), udp());
    h.drain();
    let cancel_tx = TxId(tx.0 + 1);
    let cases = [
        (
            TxId(999),
            resp(&inv.build(), 200, "gt"),
            TxError::UnknownTransaction(TxId(999)),
        ),
        (
            tx,
            resp(&bye, 200, "gt"),
            TxError::WrongMethod {
                tx,
                expected: "INVITE".into(),
                got: "BYE".into(),
            },
        ),
        (
            tx,
            Response {
                status_code: 99.into(),
                ..resp(&inv.build(), 200, "gt")
            },
            TxError::InvalidStatus { tx, code: 99 },
        ),
        (
            tx,
            Response {
                status_code: 700.into(),
                ..resp(&inv.build(), 200, "gt")
            },
            TxError::InvalidStatus { tx, code: 700 },
        ),
        // The layer already answered the CANCEL.
        (
            cancel_tx,
            resp(&cancel, 200, "gt"),
            TxError::AlreadyFinal(cancel_tx),
        ),
    ];
    for (id, r, want) in cases {
        assert_eq!(h.l.respond(h.now, id, r), Err(want.clone()), "{want}");
    }
    h.l.respond(h.now, tx, resp(&inv.build(), 404, "gt"))
        .expect("404");
    assert_eq!(
        h.l.respond(h.now, tx, resp(&inv.build(), 200, "gt")),
        Err(TxError::AlreadyFinal(tx))
    );
    assert!(h.drain().len() == 1, "only the 404 went out");
}
