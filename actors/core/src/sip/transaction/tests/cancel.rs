//! CANCEL on the server side: answered by the layer, 200 and an event, or 481.

use super::*;

#[test]
fn cancel_of_a_live_invite_is_answered_200_and_reported() {
    let mut h = H::new();
    let inv = R::default();
    let tx = h.new_request(inv.build(), udp());
    h.l.respond(h.now, tx, resp(&inv.build(), 180, "gt"))
        .expect("180");
    h.drain();
    let cancel = R {
        method: "CANCEL",
        ..inv.clone()
    }
    .build();
    let outs = {
        h.l.on_request(h.now, cancel.clone(), udp());
        h.drain()
    };
    assert_eq!(
        outs.iter().map(show).collect::<Vec<_>>(),
        vec!["> 200", "cancel"]
    );
    let Output::Send { bytes, to } = &outs[0] else {
        panic!("send first")
    };
    assert_eq!(*to, udp());
    let ok = Response::try_from(bytes.as_slice()).expect("parses");
    assert_eq!(
        headers::cseq(&ok.headers).map(|c| c.method),
        Some("CANCEL".to_string())
    );
    assert_eq!(
        headers::to_tag(&ok.headers),
        Some("gt"),
        "the tag of the INVITE's response (§9.2)"
    );
    assert!(
        matches!(&outs[1], Output::Event(TuEvent::Cancel { invite_tx, .. }) if *invite_tx == tx)
    );
    // A retransmitted CANCEL: 200 again, no second event.
    assert_eq!(h.recv(cancel, udp()), vec!["> 200"]);
    // The TU answers the INVITE 487; its ACK is absorbed.
    h.l.respond(h.now, tx, resp(&inv.build(), 487, "gt"))
        .expect("487");
    assert_eq!(h.shown(), vec!["> 487"]);
    assert!(h
        .recv(
            R {
                method: "ACK",
                ..inv
            }
            .with_to_tag("gt")
            .build(),
            udp()
        )
        .is_empty());
    assert_eq!(
        h.l.counts().server,
        2,
        "the INVITE (Confirmed) and the CANCEL (Completed)"
    );
    h.run_until(40_000);
    assert_eq!(h.l.counts().server, 0);
}

#[test]
fn cancel_before_any_tagged_response_gets_a_layer_tag() {
    let mut h = H::new();
    let inv = R::default();
    h.new_request(inv.build(), udp());
    h.l.on_request(
        h.now,
        R {
            method: "CANCEL",
            ..inv
        }
        .build(),
        udp(),
    );
    let outs = h.drain();
    let Some(Output::Send { bytes, .. }) = outs.first() else {
        panic!("200 sent")
    };
    let ok = Response::try_from(bytes.as_slice()).expect("parses");
    assert_eq!(ok.status_code.code(), 200);
    assert!(headers::to_tag(&ok.headers).is_some_and(|t| !t.is_empty()));
}

#[test]
fn cancel_matching_nothing_is_answered_481_without_event() {
    let cases = [
        R {
            method: "CANCEL",
            ..R::new("INVITE", "z9hG4bKnothing")
        },
        // Same branch, other sent-by: another transaction.
        R {
            method: "CANCEL",
            sent_by: "192.0.2.11:5060",
            ..R::default()
        },
    ];
    for cancel in cases {
        let mut h = H::new();
        h.new_request(R::default().build(), udp());
        assert_eq!(h.recv(cancel.build(), udp()), vec!["> 481"], "{cancel:?}");
    }
}
