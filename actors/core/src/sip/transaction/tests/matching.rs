//! Matching (§17.2.3 with and without the cookie), where responses go, lazy cancellation.

use super::*;
use crate::sip::Header;

#[test]
fn branch_matching_uses_sent_by_and_method() {
    let inv = R::default();
    // (variant of the INVITE, is it the same transaction)
    let cases = [
        (inv.clone(), true),
        (
            R {
                sent_by: "192.0.2.10",
                ..inv.clone()
            },
            true,
        ),
        (
            R {
                sent_by: "192.0.2.10:5062",
                ..inv.clone()
            },
            false,
        ),
        (
            R {
                sent_by: "pc.example",
                ..inv.clone()
            },
            false,
        ),
        (
            R {
                branch: Some("z9hG4bKin2".into()),
                ..inv.clone()
            },
            false,
        ),
        (
            R {
                method: "BYE",
                ..inv.clone()
            },
            false,
        ),
        (
            R {
                method: "OPTIONS",
                ..inv.clone()
            },
            false,
        ),
    ];
    for (variant, same) in cases {
        let mut h = H::new();
        h.new_request(inv.build(), udp());
        let out = h.recv(variant.build(), udp());
        let want: Vec<String> = if same {
            vec!["> 100".into()]
        } else if variant.method == "INVITE" {
            vec!["> 100".into(), "request INVITE".into()]
        } else {
            vec![format!("request {}", variant.method)]
        };
        assert_eq!(out, want, "{variant:?}");
    }
    // Sent-by hosts compare without case.
    let mut h = H::new();
    h.new_request(
        R {
            sent_by: "PC.Example:5060",
            ..inv.clone()
        }
        .build(),
        udp(),
    );
    assert_eq!(
        h.recv(
            R {
                sent_by: "pc.example",
                ..inv
            }
            .build(),
            udp()
        ),
        vec!["> 100"]
    );
}

#[test]
fn rfc2543_requests_match_without_the_cookie() {
    for branch in [None, Some("1234".to_string())] {
        let inv = R {
            branch: branch.clone(),
            ..R::default()
        };
        let mut h = H::new();
        let tx = h.new_request(inv.build(), udp());
        assert_eq!(
            h.recv(inv.build(), udp()),
            vec!["> 100"],
            "{branch:?}: retransmission"
        );
        // Another CSeq, Request-URI, Call-ID, From tag or To tag: another transaction.
        let others = [
            R {
                seq: 2,
                ..inv.clone()
            },
            R {
                uri: "sip:other@gw.example",
                ..inv.clone()
            },
            R {
                call_id: "other",
                ..inv.clone()
            },
            R {
                from_tag: "other",
                ..inv.clone()
            },
            inv.clone().with_to_tag("t"),
            R {
                sent_by: "192.0.2.10:5070",
                ..inv.clone()
            },
        ];
        for o in others {
            assert_eq!(
                h.recv(o.build(), udp()),
                vec!["> 100", "request INVITE"],
                "{o:?}"
            );
        }
        // CANCEL: same Request-URI, tags, Call-ID, CSeq number, top Via.
        assert_eq!(
            h.recv(
                R {
                    method: "CANCEL",
                    ..inv.clone()
                }
                .build(),
                udp()
            ),
            vec!["> 200", "cancel"]
        );
        h.l.respond(h.now, tx, resp(&inv.build(), 487, "gt"))
            .expect("487");
        h.drain();
        // The ACK carries the To tag of the response: matched and absorbed.
        assert_eq!(
            h.recv(
                R {
                    method: "ACK",
                    ..inv.clone()
                }
                .with_to_tag("zz")
                .build(),
                udp()
            ),
            vec!["ack"],
            "wrong tag"
        );
        assert!(
            h.recv(
                R {
                    method: "ACK",
                    ..inv.clone()
                }
                .with_to_tag("gt")
                .build(),
                udp()
            )
            .is_empty(),
            "{branch:?}"
        );
        assert!(
            times_of(&h.run_until(4_000), "> 487").is_empty(),
            "Confirmed: G stopped"
        );
    }
}

#[test]
fn requests_without_via_or_cseq_are_ignored() {
    for strip in ["Via", "CSeq", "Call-ID"] {
        for method in ["INVITE", "ACK", "CANCEL", "BYE"] {
            let mut h = H::new();
            let mut req = R {
                branch: None,
                ..R::new(method, "x")
            }
            .build();
            req.headers.retain(|x| {
                x.name() != strip && !(strip == "Call-ID" && matches!(x, Header::CallId(_)))
            });
            let out = h.recv(req, udp());
            let c = h.l.counts();
            // Without Call-ID an RFC 2543 request has no key; an ACK without one reaches
            // the TU unmatched (it may still be an ACK for a 2xx it can place).
            let want: &[&str] = if strip == "Call-ID" && method == "ACK" {
                &["ack"]
            } else {
                &[]
            };
            assert_eq!(out, want, "{method} without {strip}");
            assert_eq!((c.server, c.client), (0, 0), "{method} without {strip}");
        }
    }
}

#[test]
fn server_responses_go_where_section_18_2_2_says() {
    let nat: Peer = Peer {
        addr: "203.0.113.5:7000".parse().expect("addr"),
        transport: Transport::Udp,
    };
    // (sent-by, rport, source, 100 sent to)
    let cases = [
        ("192.0.2.10:5060", false, udp(), "192.0.2.10:5060"),
        ("10.0.0.2:5062", false, nat, "203.0.113.5:5062"),
        ("10.0.0.2:5062", true, nat, "203.0.113.5:7000"),
        ("10.0.0.2", false, nat, "203.0.113.5:5060"),
    ];
    for (sent_by, rport, source, want) in cases {
        let mut h = H::new();
        let mut req = R {
            sent_by,
            ..R::default()
        }
        .build();
        if rport {
            for x in req.headers.iter_mut() {
                if let Header::Via(v) = x {
                    *x = build::header("Via", format!("{};rport", v.value()));
                }
            }
        }
        stamp_via(&mut req, source.addr);
        h.l.on_request(h.now, req, source);
        let outs = h.drain();
        let Some(Output::Send { to, .. }) = outs.first() else {
            panic!("100 sent")
        };
        assert_eq!(to.addr.to_string(), want, "{sent_by} rport={rport}");
    }
    // TCP: the connection it came on.
    let mut h = H::new();
    h.l.on_request(
        h.now,
        R {
            proto: "TCP",
            ..R::default()
        }
        .build(),
        tcp(),
    );
    assert!(matches!(h.drain().first(), Some(Output::Send { to, .. }) if *to == tcp()));
}

#[test]
fn cancelled_timers_never_fire_and_the_heap_drains() {
    let mut h = H::new();
    for i in 0..200u32 {
        let inv = R {
            branch: Some(format!("z9hG4bKm{i}")),
            seq: i + 1,
            ..R::default()
        };
        let tx = h.new_request(inv.build(), udp());
        h.l.respond(h.now, tx, resp(&inv.build(), 200, "gt"))
            .expect("200");
        h.recv(ack_2xx(&inv, &format!("z9hG4bKa{i}"), "gt"), udp());
    }
    // Every 2xx retransmission was cancelled by its ACK: the next deadline is Timer L.
    assert_eq!(h.l.next_deadline(), Some(h.t0 + Duration::from_secs(32)));
    assert!(h.l.heap_len() >= 200);
    let out = h.run_until(100_000);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(h.l.counts().retransmissions, 0);
    assert_eq!((h.l.counts().server, h.l.heap_len()), (0, 0));
    assert!(h.l.accepted.is_empty() && h.l.server_index.is_empty());
}
