//! Randomised sequences of requests, responses, answers and timer ticks: the layer never
//! panics, events name transactions it announced, and after the transaction user has
//! answered what it was given and CANCELled what it sent, 64·T1 + T4 of idle time leave
//! nothing alive.

use std::collections::HashSet;

use super::*;
use crate::sip::{Header, Method};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const METHODS: &[&str] = &["INVITE", "INVITE", "ACK", "CANCEL", "BYE", "OPTIONS"];
const BRANCHES: &[Option<&str>] = &[
    Some("z9hG4bKa"),
    Some("z9hG4bKb"),
    Some("z9hG4bKc"),
    Some("old1"),
    None,
];
const CODES: &[u16] = &[100, 180, 183, 200, 202, 404, 486, 487, 500, 603, 99, 700];

/// What the simulated transaction user knows.
#[derive(Default)]
struct Tu {
    /// Server transactions announced by `Request`, with their request.
    inbound: Vec<(TxId, Request)>,
    /// Client transactions it started, with request and destination.
    outbound: Vec<(TxId, Request, Peer)>,
    announced: HashSet<TxId>,
    /// Events seen, by kind (coverage of the generator).
    seen: HashSet<String>,
}

impl Tu {
    fn check(&mut self, outs: Vec<Output>) {
        let sent: HashSet<TxId> = self.outbound.iter().map(|(t, _, _)| *t).collect();
        for o in outs {
            let Output::Event(e) = o else { continue };
            self.seen.insert(
                show(&Output::Event(e.clone()))
                    .split(' ')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            );
            match e {
                TuEvent::Request { tx, req, .. } => {
                    assert!(self.announced.insert(tx), "{tx} announced twice");
                    assert!(!sent.contains(&tx));
                    self.inbound.push((tx, req));
                }
                TuEvent::Cancel { invite_tx: t, .. }
                | TuEvent::Ack {
                    invite_tx: Some(t), ..
                }
                | TuEvent::NoAck { tx: t } => {
                    assert!(self.announced.contains(&t), "{t} never announced");
                }
                TuEvent::Response { tx, .. } | TuEvent::Timeout { tx } => {
                    assert!(sent.contains(&tx), "{tx} never sent")
                }
                TuEvent::Ack {
                    invite_tx: None, ..
                }
                | TuEvent::StrayResponse { .. } => {}
            }
        }
    }
}

fn peer(rng: &mut Rng) -> (Peer, &'static str) {
    if rng.chance(25) {
        (tcp(), "TCP")
    } else {
        (udp(), "UDP")
    }
}

fn step(h: &mut H, tu: &mut Tu, rng: &mut Rng, n: u64) {
    match rng.below(9) {
        0..=2 => {
            let (from, proto) = peer(rng);
            let mut r = R {
                method: rng.pick(METHODS),
                proto,
                branch: rng.pick(BRANCHES).map(str::to_string),
                seq: 1 + rng.below(3) as u32,
                sent_by: rng.pick(&["192.0.2.10:5060", "192.0.2.10"]),
                ..R::default()
            };
            if rng.chance(30) {
                r.to_tag = Some(rng.pick(&["gt", "zz"]).to_string());
            }
            let mut req = r.build();
            if rng.chance(5) {
                let strip = rng.pick(&["Via", "CSeq", "Call-ID", "From"]);
                req.headers.retain(|x| {
                    x.name() != strip && !(strip == "Call-ID" && matches!(x, Header::CallId(_)))
                });
            }
            if rng.chance(50) {
                stamp_via(&mut req, from.addr);
            }
            h.l.on_request(h.now, req, from);
        }
        3 => {
            let code = rng.pick(CODES);
            let target = if tu.inbound.is_empty() || rng.chance(10) {
                None
            } else {
                Some(tu.inbound[rng.below(tu.inbound.len())].clone())
            };
            let _ = match target {
                Some((tx, req)) => h.l.respond(h.now, tx, resp(&req, code, "gt")),
                None => h.l.respond(
                    h.now,
                    TxId(rng.next() % (n + 2)),
                    resp(&R::default().build(), code, "gt"),
                ),
            };
        }
        4 => {
            let (to, proto) = peer(rng);
            let invites: Vec<&(TxId, Request, Peer)> = tu
                .outbound
                .iter()
                .filter(|(_, r, _)| r.method == Method::Invite)
                .collect();
            let req = match rng.below(5) {
                0 if !invites.is_empty() => cancel_for(&invites[rng.below(invites.len())].1),
                k => R {
                    method: ["INVITE", "BYE", "OPTIONS", "ACK", "INVITE"][k],
                    proto,
                    branch: Some(new_branch("z9hG4bK-e173gw-t-", n)),
                    ..R::default()
                }
                .build(),
            };
            let is_ack = req.method == Method::Ack;
            let tx = h.l.send_request(h.now, req.clone(), to);
            if !is_ack {
                tu.outbound.push((tx, req, to));
            }
        }
        5 => {
            let code = rng.pick(CODES);
            let mut r = if tu.outbound.is_empty() || rng.chance(10) {
                resp(&R::default().build(), code, "far")
            } else {
                resp(
                    &tu.outbound[rng.below(tu.outbound.len())].1,
                    code,
                    rng.pick(&["far", "f2"]),
                )
            };
            if rng.chance(5) {
                r.headers.retain(|x| !matches!(x, Header::Via(_)));
            }
            let (from, _) = peer(rng);
            h.l.on_response(h.now, r, from);
        }
        6 => h.l.transport_error(h.now, TxId(rng.next() % (n + 2))),
        7 => {
            let ms = rng.below(3_000) as u64;
            h.now += Duration::from_millis(ms);
            h.l.on_timer(h.now);
        }
        _ => {
            if let Some(d) = h.l.next_deadline() {
                h.now = h.now.max(d);
                h.l.on_timer(h.now);
            }
        }
    }
    let outs = h.drain();
    tu.check(outs);
}

fn run(seed: u64, steps: u64) -> (HashSet<String>, TxCounts) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut h = H::new();
    let mut tu = Tu::default();
    for n in 0..steps {
        step(&mut h, &mut tu, &mut rng, n);
    }
    // The transaction user finishes: every request it was given gets a final, every
    // INVITE it sent a CANCEL.
    for (tx, req) in tu.inbound.clone() {
        let _ =
            h.l.respond(h.now, tx, resp(&req, rng.pick(&[200, 486]), "gt"));
    }
    for (_, req, to) in tu.outbound.clone() {
        if req.method == Method::Invite {
            let cancel = cancel_for(&req);
            let tx = h.l.send_request(h.now, cancel.clone(), to);
            tu.outbound.push((tx, cancel, to));
        }
    }
    let outs = h.drain();
    tu.check(outs);
    // Idle: only timers.
    let t = h.l.timers();
    let end = h.now + t.timeout() + t.t4;
    while let Some(d) = h.l.next_deadline().filter(|d| *d <= end) {
        h.now = d;
        h.l.on_timer(d);
        let outs = h.drain();
        tu.check(outs);
    }
    h.l.on_timer(end);
    let c = h.l.counts();
    assert_eq!(
        (c.server, c.client),
        (0, 0),
        "seed {seed}: transactions left alive"
    );
    assert_eq!(h.l.next_deadline(), None, "seed {seed}");
    assert_eq!(h.l.heap_len(), 0, "seed {seed}");
    assert!(
        h.l.server_index.is_empty() && h.l.client_index.is_empty() && h.l.accepted.is_empty(),
        "seed {seed}: index leak"
    );
    (tu.seen, c)
}

#[test]
fn random_sequences_never_panic_and_leave_nothing_alive() {
    let mut seen = HashSet::new();
    let (mut absorbed, mut retransmissions, mut no_acks) = (0, 0, 0);
    for seed in 1..=150 {
        let (s, c) = run(seed, 300);
        seen.extend(s);
        absorbed += c.absorbed;
        retransmissions += c.retransmissions;
        no_acks += c.no_acks;
    }
    // The generator reaches every kind of event and the interesting counters.
    let mut kinds: Vec<String> = seen.into_iter().collect();
    kinds.sort();
    assert_eq!(
        kinds,
        ["ack", "cancel", "noack", "request", "response", "stray", "timeout"]
    );
    assert!(absorbed > 0 && retransmissions > 0 && no_acks > 0);
}
