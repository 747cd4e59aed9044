//! Cost of one whole INVITE transaction in the transaction layer, on UDP:
//!
//! - `server_invite`: INVITE in (100 Trying sent, request event), 180, 200 (Accepted, 2xx
//!   retransmission armed), ACK in (delivered, retransmission cancelled);
//! - `client_invite`: INVITE out (Timers A and B armed), 100, 180, 200 in (each an event),
//!   ACK out.
//!
//! Every iteration also advances the clock by 1 ms and runs the due timers, so the layer
//! holds the 32 s of transactions a gateway at 1,000 transactions per second holds (Timer
//! L or M ends each one): the figure includes the hash maps and timer heap at that size.
//! Parsing and building the messages is setup, not measured: the ingress and the call
//! actors do that work. Dropping them once consumed is measured.
//!
//! Run: `cargo bench -p e173gw-core --bench transactions`. The time per iteration is the
//! cost of one transaction; criterion also prints transactions per second.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use e173gw_core::sip::transaction::{new_branch, Output, Timers, TransactionLayer, TuEvent};
use e173gw_core::sip::{build, Peer, Request, Response, Transport};

#[allow(clippy::disallowed_methods)]
fn origin() -> Instant {
    Instant::now()
}

fn peer() -> Peer {
    Peer {
        addr: "192.0.2.10:5060".parse().expect("addr"),
        transport: Transport::Udp,
    }
}

fn request(method: &str, branch: &str, n: u64, to_tag: Option<&str>) -> Request {
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    let text = format!(
        "{method} sip:+5511987650000@gw.example SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch={branch};rport\r\n\
         Max-Forwards: 70\r\nFrom: \"Agent\" <sip:agent@ai.example>;tag=f{n}\r\nTo: <sip:+5511987650000@gw.example>{to_tag}\r\n\
         Call-ID: {n}@ai.example\r\nCSeq: 1 {method}\r\nContact: <sip:agent@192.0.2.10:5060>\r\nContent-Length: 0\r\n\r\n"
    );
    Request::try_from(text.as_str()).expect("bench request parses")
}

/// Drains the layer; returns how many outputs there were.
fn drain(l: &mut TransactionLayer) -> usize {
    let mut n = 0;
    while let Some(o) = l.poll_output() {
        std::hint::black_box(&o);
        n += 1;
    }
    n
}

struct ServerMsgs {
    invite: Request,
    ringing: Response,
    ok: Response,
    ack: Request,
}

struct ClientMsgs {
    invite: Request,
    trying: Response,
    ringing: Response,
    ok: Response,
    ack: Request,
}

/// Runs `iters` iterations in chunks of at most 1,000 prepared transactions, summing the
/// time `run` measured for each chunk (building the messages is not timed).
/// Runs `iters` transactions, each on messages built just before it (hot in the cache,
/// as after the ingress parsed them), and sums the time `run` measured for each: the
/// building is not timed; two clock reads per transaction (tens of ns) are.
fn timed_each(iters: u64, mut run: impl FnMut() -> Duration) -> Duration {
    (0..iters).map(|_| run()).sum()
}

fn server_msgs(n: &mut u64) -> ServerMsgs {
    *n += 1;
    let invite = request("INVITE", &new_branch("z9hG4bKsrv", *n), *n, None);
    let ringing = build::response(&invite, 180, Some("gt"));
    let ok = build::response(&invite, 200, Some("gt"));
    let ack = request("ACK", &new_branch("z9hG4bKack", *n), *n, Some("gt"));
    ServerMsgs {
        invite,
        ringing,
        ok,
        ack,
    }
}

/// One server INVITE transaction: INVITE in, 180, 200, ACK in, due timers.
fn server_invite(layer: &mut TransactionLayer, now: Instant, m: ServerMsgs) {
    layer.on_request(now, m.invite, peer());
    let mut tx = None;
    while let Some(o) = layer.poll_output() {
        if let Output::Event(TuEvent::Request { tx: t, .. }) = o {
            tx = Some(t);
        }
    }
    let tx = tx.expect("a new transaction");
    layer.respond(now, tx, m.ringing).expect("180");
    layer.respond(now, tx, m.ok).expect("200");
    layer.on_request(now, m.ack, peer());
    assert_eq!(drain(layer), 3, "180, 200, ACK event");
    layer.on_timer(now);
    drain(layer);
}

fn client_msgs(n: &mut u64) -> ClientMsgs {
    *n += 1;
    let invite = request("INVITE", &new_branch("z9hG4bK-e173gw-n1-", *n), *n, None);
    let trying = build::response(&invite, 100, None);
    let ringing = build::response(&invite, 180, Some("far"));
    let ok = build::response(&invite, 200, Some("far"));
    let ack = request(
        "ACK",
        &new_branch("z9hG4bK-e173gw-n1-a", *n),
        *n,
        Some("far"),
    );
    ClientMsgs {
        invite,
        trying,
        ringing,
        ok,
        ack,
    }
}

/// One client INVITE transaction: INVITE out, 100, 180, 200 in, ACK out, due timers.
fn client_invite(layer: &mut TransactionLayer, now: Instant, m: ClientMsgs) {
    layer.send_request(now, m.invite, peer());
    layer.on_response(now, m.trying, peer());
    layer.on_response(now, m.ringing, peer());
    layer.on_response(now, m.ok, peer());
    layer.send_ack(m.ack, peer());
    assert_eq!(drain(layer), 5, "INVITE, 3 responses, ACK");
    layer.on_timer(now);
    drain(layer);
}

fn transactions(c: &mut Criterion) {
    let mut group = c.benchmark_group("transaction");
    group.throughput(Throughput::Elements(1));

    let mut layer = TransactionLayer::new(Timers::default());
    let mut now = origin();
    let mut n = 0u64;
    group.bench_function("server_invite", |b| {
        b.iter_custom(|iters| {
            timed_each(iters, || {
                let m = server_msgs(&mut n);
                now += Duration::from_millis(1);
                let start = origin();
                server_invite(&mut layer, now, m);
                start.elapsed()
            })
        })
    });
    let live = layer.counts();
    assert!(live.server > 0 && live.server <= 32_001, "{live:?}");

    let mut layer = TransactionLayer::new(Timers::default());
    let mut now = origin();
    let mut n = 0u64;
    group.bench_function("client_invite", |b| {
        b.iter_custom(|iters| {
            timed_each(iters, || {
                let m = client_msgs(&mut n);
                now += Duration::from_millis(1);
                let start = origin();
                client_invite(&mut layer, now, m);
                start.elapsed()
            })
        })
    });
    let live = layer.counts();
    assert!(live.client > 0 && live.client <= 32_001, "{live:?}");
    group.finish();
}

criterion_group!(benches, transactions);
criterion_main!(benches);
