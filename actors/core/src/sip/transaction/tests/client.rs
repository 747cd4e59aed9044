//! Client transactions: INVITE (A, B, D, M, ACK for non-2xx), non-INVITE (E, F, K), CANCEL.

use super::*;

/// A request the gateway sends, with its own branch.
fn out(method: &'static str, n: u64) -> R {
    R {
        method,
        uri: "sip:agent@ai.example",
        sent_by: "198.51.100.1:5060",
        branch: Some(new_branch("z9hG4bK-e173gw-n1-", n)),
        from_tag: "gwt",
        call_id: "gw-call-1",
        ..R::default()
    }
}

/// Sends `req` to `to`; returns the id and what came out.
fn send(h: &mut H, req: Request, to: Peer) -> (TxId, Vec<String>) {
    let id = h.l.send_request(h.now, req, to);
    (id, h.shown())
}

#[test]
fn invite_on_udp_timer_a_doubles_until_timer_b() {
    let mut h = H::new();
    let (_, sent) = send(&mut h, out("INVITE", 1).build(), udp());
    assert_eq!(sent, vec!["> INVITE"]);
    let out = h.run_until(40_000);
    // RFC 3261 §17.1.1.2: Timer A doubles without the T2 cap; Timer B (64·T1) ends it.
    assert_eq!(
        times_of(&out, "> INVITE"),
        secs(&[0.5, 1.5, 3.5, 7.5, 15.5, 31.5])
    );
    assert_eq!(times_of(&out, "timeout"), vec![32_000]);
    let c = h.l.counts();
    assert_eq!((c.client, c.timeouts, c.retransmissions), (0, 1, 6));
}

#[test]
fn invite_provisional_stops_timer_a_and_b_then_error_final_is_acked_by_the_layer() {
    let mut h = H::new();
    let inv = out("INVITE", 2).build();
    let (tx, _) = send(&mut h, inv.clone(), udp());
    h.run_until(700);
    h.drain();
    assert_eq!(
        h.recv_resp(resp(&inv, 100, "far"), udp()),
        vec!["response 100"]
    );
    assert_eq!(
        h.recv_resp(resp(&inv, 180, "far"), udp()),
        vec!["response 180"]
    );
    assert_eq!(h.l.next_deadline(), None, "Proceeding: no A, no B");
    h.at(60_000);
    h.l.on_response(h.now, resp(&inv, 486, "far"), udp());
    let outs = h.drain();
    assert_eq!(
        outs.iter().map(show).collect::<Vec<_>>(),
        vec!["> ACK", "response 486"]
    );
    let Output::Send { bytes, to } = &outs[0] else {
        panic!("ACK first")
    };
    assert_eq!(*to, udp());
    let ack = Request::try_from(bytes.as_slice()).expect("ACK parses");
    assert_eq!(ack.uri, inv.uri);
    assert_eq!(
        headers::top_via(&ack.headers).and_then(|v| v.branch),
        headers::top_via(&inv.headers).and_then(|v| v.branch)
    );
    assert_eq!(
        headers::cseq(&ack.headers).map(|c| (c.seq, c.method)),
        Some((1, "ACK".to_string()))
    );
    assert_eq!(headers::to_tag(&ack.headers), Some("far"));
    assert_eq!(headers::call_id(&ack.headers), Some("gw-call-1"));
    assert!(matches!(&outs[1], Output::Event(TuEvent::Response { tx: t, .. }) if *t == tx));
    // Retransmitted finals: the same ACK again, nothing for the TU.
    for _ in 0..2 {
        h.l.on_response(h.now, resp(&inv, 486, "far"), udp());
        let again = h.drain();
        assert_eq!(again.iter().map(show).collect::<Vec<_>>(), vec!["> ACK"]);
        assert_eq!(again[0], outs[0]);
    }
    // Timer D: 32 s on UDP.
    assert!(h.run_until(91_999).is_empty());
    assert_eq!(h.l.counts().client, 1);
    h.run_until(92_000);
    assert_eq!(h.l.counts().client, 0);
    assert_eq!(
        h.recv_resp(resp(&inv, 486, "far"), udp()),
        vec!["stray 486"]
    );
}

#[test]
fn invite_2xx_and_its_retransmissions_all_reach_the_tu_until_timer_m() {
    let mut h = H::new();
    let inv = out("INVITE", 3).build();
    let (tx, _) = send(&mut h, inv.clone(), udp());
    h.at(200);
    assert_eq!(
        h.recv_resp(resp(&inv, 200, "far"), udp()),
        vec!["response 200"]
    );
    assert!(h.run_until(1_000).is_empty(), "Timer A stopped");
    for _ in 0..3 {
        assert_eq!(
            h.recv_resp(resp(&inv, 200, "far"), udp()),
            vec!["response 200"],
            "each 2xx surfaced: the TU re-ACKs"
        );
    }
    // A 2xx from another fork is surfaced too; provisionals and errors are absorbed.
    assert_eq!(
        h.recv_resp(resp(&inv, 200, "fork2"), udp()),
        vec!["response 200"]
    );
    assert!(h.recv_resp(resp(&inv, 180, "far"), udp()).is_empty());
    assert!(h.recv_resp(resp(&inv, 500, "far"), udp()).is_empty());
    // The ACK for 2xx is the TU's: outside any transaction.
    let ack = R {
        method: "ACK",
        branch: Some("z9hG4bKack".into()),
        ..out("INVITE", 3)
    }
    .with_to_tag("far")
    .build();
    h.l.send_ack(ack.clone(), udp());
    assert_eq!(h.shown(), vec!["> ACK"]);
    let id = h.l.send_request(h.now, ack, udp());
    assert_eq!(
        h.shown(),
        vec!["> ACK"],
        "an ACK through send_request is only sent"
    );
    assert_ne!(id, tx);
    assert_eq!(h.l.counts().client, 1);
    // Timer M = 64·T1 after the first 2xx.
    assert!(h.run_until(32_199).is_empty());
    h.run_until(32_200);
    assert_eq!(h.l.counts().client, 0);
    assert_eq!(
        h.recv_resp(resp(&inv, 200, "far"), udp()),
        vec!["stray 200"],
        "late 2xx: stray, the TU may re-ACK"
    );
}

#[test]
fn reliable_client_transactions_never_retransmit_and_end_at_once() {
    let mut h = H::new();
    let inv = R {
        proto: "TCP",
        ..out("INVITE", 4)
    }
    .build();
    let (_, _) = send(&mut h, inv.clone(), tcp());
    assert_eq!(
        h.l.next_deadline(),
        Some(h.t0 + Duration::from_secs(32)),
        "only Timer B"
    );
    assert_eq!(
        h.recv_resp(resp(&inv, 486, "far"), tcp()),
        vec!["> ACK", "response 486"]
    );
    assert_eq!(h.l.counts().client, 0, "Timer D is zero on TCP");
    assert_eq!(h.l.next_deadline(), None);

    let bye = R {
        proto: "TCP",
        ..out("BYE", 5)
    }
    .build();
    send(&mut h, bye.clone(), tcp());
    assert_eq!(
        h.recv_resp(resp(&bye, 200, "far"), tcp()),
        vec!["response 200"]
    );
    assert_eq!(h.l.counts().client, 0, "Timer K is zero on TCP");

    let silent = R {
        proto: "TCP",
        ..out("OPTIONS", 6)
    }
    .build();
    send(&mut h, silent, tcp());
    assert_eq!(
        h.run_until(40_000),
        vec![(32_000, "timeout".to_string())],
        "Timer F on TCP, no E"
    );
    assert_eq!(h.l.counts().retransmissions, 0);
}

#[test]
fn non_invite_timer_e_schedule() {
    // (provisional at, expected retransmission times, Timer F)
    let cases: &[(Option<u64>, &[f64])] = &[
        (
            None,
            &[0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5],
        ),
        // Once a provisional came, every T2 (from the next firing).
        (
            Some(700),
            &[0.5, 1.5, 5.5, 9.5, 13.5, 17.5, 21.5, 25.5, 29.5],
        ),
        (Some(100), &[0.5, 4.5, 8.5, 12.5, 16.5, 20.5, 24.5, 28.5]),
    ];
    for (provisional, schedule) in cases {
        let mut h = H::new();
        let bye = out("BYE", 7).build();
        send(&mut h, bye.clone(), udp());
        let mut got = Vec::new();
        if let Some(at) = provisional {
            got.extend(h.run_until(*at));
            assert_eq!(
                h.recv_resp(resp(&bye, 100, "far"), udp()),
                vec!["response 100"]
            );
        }
        got.extend(h.run_until(40_000));
        assert_eq!(times_of(&got, "> BYE"), secs(schedule), "{provisional:?}");
        assert_eq!(times_of(&got, "timeout"), vec![32_000], "Timer F");
        assert_eq!(h.l.counts().client, 0);
    }
}

#[test]
fn non_invite_final_then_timer_k() {
    let mut h = H::new();
    let opt = out("OPTIONS", 8).build();
    let (tx, _) = send(&mut h, opt.clone(), udp());
    h.at(300);
    h.l.on_response(h.now, resp(&opt, 200, "far"), udp());
    let outs = h.drain();
    assert!(
        matches!(&outs[..], [Output::Event(TuEvent::Response { tx: t, resp })] if *t == tx && resp.status_code.code() == 200)
    );
    assert!(
        h.recv_resp(resp(&opt, 200, "far"), udp()).is_empty(),
        "retransmitted final absorbed"
    );
    assert!(h.recv_resp(resp(&opt, 100, "far"), udp()).is_empty());
    assert!(h.run_until(5_299).is_empty(), "no E after the final");
    assert_eq!(h.l.counts().client, 1);
    h.run_until(5_300);
    assert_eq!(h.l.counts().client, 0, "Timer K = T4");
    assert_eq!(h.l.counts().absorbed, 2);
}

#[test]
fn responses_that_match_nothing_are_stray() {
    let mut h = H::new();
    let inv = out("INVITE", 9).build();
    send(&mut h, inv.clone(), udp());
    let cases = [
        resp(&out("INVITE", 10).build(), 200, "far"),
        // The INVITE's branch with another CSeq method.
        resp(
            &R {
                method: "BYE",
                ..out("INVITE", 9)
            }
            .build(),
            200,
            "far",
        ),
        resp(
            &R {
                branch: None,
                ..out("INVITE", 9)
            }
            .build(),
            200,
            "far",
        ),
    ];
    for r in cases {
        assert_eq!(h.recv_resp(r, udp()), vec!["stray 200"]);
    }
    // A response without Via or CSeq is ignored.
    let mut bare = resp(&inv, 200, "far");
    bare.headers
        .retain(|x| !matches!(x, crate::sip::Header::Via(_)));
    assert!(h.recv_resp(bare, udp()).is_empty());
    assert_eq!(h.l.counts().client, 1);
}

#[test]
fn transport_errors_end_client_transactions() {
    let mut h = H::new();
    let (inv, _) = send(&mut h, out("INVITE", 11).build(), tcp());
    h.l.transport_error(h.now, inv);
    assert_eq!(h.shown(), vec!["timeout"]);
    h.l.transport_error(h.now, inv);
    assert!(h.shown().is_empty(), "already gone");
    // After a final: ends silently.
    let opt = out("OPTIONS", 12).build();
    let (o, _) = send(&mut h, opt.clone(), udp());
    h.recv_resp(resp(&opt, 200, "far"), udp());
    h.l.transport_error(h.now, o);
    assert!(h.shown().is_empty());
    // A server transaction is left to its timers.
    let s = h.new_request(R::default().build(), udp());
    h.l.transport_error(h.now, s);
    assert!(h.shown().is_empty());
    let c = h.l.counts();
    assert_eq!((c.client, c.server, c.timeouts), (0, 1, 1));
}

#[test]
fn cancel_is_its_own_transaction_and_bounds_the_invite() {
    let mut h = H::new();
    let inv_r = out("INVITE", 13);
    let inv = inv_r.build();
    let (itx, _) = send(&mut h, inv.clone(), udp());
    h.at(400);
    h.recv_resp(resp(&inv, 180, "far"), udp());
    h.at(10_000);
    let cancel = cancel_for(&inv);
    let (ctx, sent) = send(&mut h, cancel.clone(), udp());
    assert_eq!(sent, vec!["> CANCEL"]);
    assert_ne!(ctx, itx);
    // The 200 for the CANCEL goes to the CANCEL, not the INVITE.
    h.at(10_100);
    let outs = {
        h.l.on_response(h.now, resp(&cancel, 200, "far"), udp());
        h.drain()
    };
    assert!(matches!(&outs[..], [Output::Event(TuEvent::Response { tx, .. })] if *tx == ctx));
    // The far end never sends the 487: the INVITE ends 64·T1 after the CANCEL (§9.1).
    let out = h.run_until(60_000);
    assert_eq!(out, vec![(42_000, "timeout".to_string())]);
    assert_eq!(h.l.counts().client, 0);
}

#[test]
fn cancel_sent_while_calling_is_bounded_once_proceeding() {
    let mut h = H::new();
    let inv = out("INVITE", 14).build();
    send(&mut h, inv.clone(), udp());
    h.at(100);
    send(&mut h, cancel_for(&inv), udp());
    h.at(2_000);
    h.recv_resp(resp(&inv, 183, "far"), udp());
    h.recv_resp(resp(&cancel_for(&inv), 200, "far"), udp());
    let out = h.run_until(60_000);
    // No more INVITE retransmissions after the 183; the CANCEL's E stopped at its 200.
    assert_eq!(times_of(&out, "> INVITE"), Vec::<u64>::new());
    assert_eq!(
        times_of(&out, "timeout"),
        vec![32_100],
        "64·T1 after the CANCEL"
    );
    // A 487 in time instead: acknowledged, no timeout.
    let mut h = H::new();
    send(&mut h, inv.clone(), udp());
    h.recv_resp(resp(&inv, 180, "far"), udp());
    send(&mut h, cancel_for(&inv), udp());
    h.at(3_000);
    assert_eq!(
        h.recv_resp(resp(&inv, 487, "far"), udp()),
        vec!["> ACK", "response 487"]
    );
    assert!(
        times_of(&h.run_until(60_000), "timeout").len() == 1,
        "only the unanswered CANCEL times out"
    );
}
