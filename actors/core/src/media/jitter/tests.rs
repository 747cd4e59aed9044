use super::*;
use crate::test_util::Lcg;

#[derive(Debug, Clone, Copy)]
enum Op {
    /// Push an audio packet, expecting this outcome.
    Push(u16, PushOutcome),
    /// Push a non-audio packet.
    Other(u16),
    /// Tick: expect a frame with this sequence number.
    F(u16),
    /// Tick: expect a gap starting at this sequence number.
    G(u16),
    /// Tick: expect waiting.
    W,
}
use Op::{F, G, W};

fn p(seq: u16) -> Op {
    Op::Push(seq, PushOutcome::Queued)
}
fn dup(seq: u16) -> Op {
    Op::Push(seq, PushOutcome::Duplicate)
}
fn late(seq: u16) -> Op {
    Op::Push(seq, PushOutcome::Late)
}

struct Case {
    name: &'static str,
    target: usize,
    max: usize,
    ops: Vec<Op>,
    stats: JitterStats,
}

fn stats(f: impl FnOnce(&mut JitterStats)) -> JitterStats {
    let mut s = JitterStats::default();
    f(&mut s);
    s
}

fn run(case: &Case) {
    let mut jb = JitterBuffer::new(JitterConfig {
        target_depth: case.target,
        max_depth: case.max,
    })
    .expect("valid config");
    for (i, op) in case.ops.iter().enumerate() {
        let ctx = format!("{}: op {i} {op:?}", case.name);
        match *op {
            Op::Push(seq, outcome) => {
                let ts = u32::from(seq).wrapping_mul(160);
                assert_eq!(jb.push(seq, ts, &seq.to_be_bytes()), outcome, "{ctx}");
            }
            Op::Other(seq) => {
                jb.push_other(seq);
            }
            F(seq) => match jb.pop() {
                Playout::Frame(f) => {
                    assert_eq!(f.sequence, seq, "{ctx}");
                    assert_eq!(f.timestamp, u32::from(seq).wrapping_mul(160), "{ctx}");
                    assert_eq!(f.payload, seq.to_be_bytes(), "{ctx}");
                }
                other => panic!("{ctx}: got {other:?}"),
            },
            G(seq) => assert_eq!(jb.pop(), Playout::Gap { sequence: seq }, "{ctx}"),
            W => assert_eq!(jb.pop(), Playout::Waiting, "{ctx}"),
        }
        assert!(jb.depth() <= case.max, "{ctx}");
    }
    assert_eq!(jb.stats(), case.stats, "{}", case.name);
}

#[test]
fn scenarios() {
    let cases = vec![
        Case {
            name: "in order",
            target: 2,
            max: 8,
            ops: vec![W, p(1), W, p(2), F(1), p(3), F(2), p(4), F(3), F(4), W, W],
            stats: stats(|s| {
                s.received = 4;
                s.played = 4;
                s.underruns = 1;
            }),
        },
        Case {
            name: "reordered",
            target: 2,
            max: 8,
            ops: vec![p(1), p(3), p(2), F(1), F(2), F(3), W],
            stats: stats(|s| {
                s.received = 3;
                s.played = 3;
                s.underruns = 1;
            }),
        },
        Case {
            name: "duplicates buffered and played",
            target: 2,
            max: 8,
            ops: vec![p(1), dup(1), p(2), F(1), dup(1), dup(2), F(2)],
            stats: stats(|s| {
                s.received = 5;
                s.duplicates = 3;
                s.played = 2;
            }),
        },
        Case {
            name: "single loss, then the missing packet arrives late",
            target: 2,
            max: 8,
            ops: vec![p(1), p(2), F(1), p(4), F(2), G(3), late(3), F(4), W],
            stats: stats(|s| {
                s.received = 4;
                s.late = 1;
                s.lost = 1;
                s.concealed = 1;
                s.played = 3;
                s.underruns = 1;
            }),
        },
        Case {
            name: "wrap-around at 65535",
            target: 2,
            max: 8,
            ops: vec![
                p(65534),
                p(0),
                p(65535),
                F(65534),
                p(1),
                F(65535),
                F(0),
                F(1),
                W,
            ],
            stats: stats(|s| {
                s.received = 4;
                s.played = 4;
                s.underruns = 1;
            }),
        },
        Case {
            name: "loss across the wrap",
            target: 2,
            max: 8,
            ops: vec![p(65534), p(65535), F(65534), p(1), F(65535), G(0), F(1)],
            stats: stats(|s| {
                s.received = 3;
                s.played = 3;
                s.lost = 1;
                s.concealed = 1;
            }),
        },
        Case {
            name: "burst loss costs one tick",
            target: 2,
            max: 8,
            ops: vec![p(1), p(2), p(3), F(1), p(10), F(2), F(3), G(4), F(10), W],
            stats: stats(|s| {
                s.received = 4;
                s.played = 4;
                s.lost = 6;
                s.concealed = 1;
                s.underruns = 1;
            }),
        },
        Case {
            name: "overflow before playout drops the oldest",
            target: 2,
            max: 4,
            ops: vec![
                p(1),
                p(2),
                p(3),
                p(4),
                p(5),
                p(6),
                F(3),
                F(4),
                F(5),
                F(6),
                W,
            ],
            stats: stats(|s| {
                s.received = 6;
                s.overflow = 2;
                s.played = 4;
                s.underruns = 1;
            }),
        },
        Case {
            name: "overflow while playing (fast sender)",
            target: 2,
            max: 4,
            ops: vec![p(1), p(2), F(1), p(3), p(4), p(5), p(6), F(3), F(4)],
            stats: stats(|s| {
                s.received = 6;
                s.overflow = 1;
                s.played = 3;
            }),
        },
        Case {
            name: "underrun re-primes to the target",
            target: 2,
            max: 8,
            ops: vec![p(1), p(2), F(1), F(2), W, p(3), W, p(4), F(3), F(4), W],
            stats: stats(|s| {
                s.received = 4;
                s.played = 4;
                s.underruns = 2;
            }),
        },
        Case {
            name: "loss while dry is counted on re-prime",
            target: 2,
            max: 8,
            ops: vec![p(1), p(2), F(1), F(2), W, p(5), p(6), F(5), F(6)],
            stats: stats(|s| {
                s.received = 4;
                s.played = 4;
                s.lost = 2;
                s.underruns = 1;
            }),
        },
        Case {
            name: "jump ahead restarts the stream",
            target: 2,
            max: 8,
            ops: vec![
                p(1),
                p(2),
                F(1),
                Op::Push(40000, PushOutcome::Resync),
                W,
                p(40001),
                F(40000),
                F(40001),
            ],
            stats: stats(|s| {
                s.received = 4;
                s.played = 3;
                s.resyncs = 1;
            }),
        },
        Case {
            name: "jump far back restarts the stream",
            target: 1,
            max: 8,
            ops: vec![
                p(1000),
                F(1000),
                late(950),
                Op::Push(10, PushOutcome::Resync),
                F(10),
            ],
            stats: stats(|s| {
                s.received = 3;
                s.late = 1;
                s.played = 2;
                s.resyncs = 1;
            }),
        },
        Case {
            name: "telephone-event packets are stepped over",
            target: 2,
            max: 8,
            ops: vec![
                p(1),
                p(2),
                F(1),
                Op::Other(3),
                Op::Other(4),
                p(5),
                F(2),
                F(5),
                W,
                Op::Other(6),
                W,
                p(7),
                p(8),
                F(7),
                F(8),
            ],
            stats: stats(|s| {
                s.received = 5;
                s.played = 5;
                s.underruns = 1;
            }),
        },
        Case {
            name: "target depth 3",
            target: 3,
            max: 6,
            ops: vec![p(7), p(8), W, p(9), F(7), F(8), F(9), W],
            stats: stats(|s| {
                s.received = 3;
                s.played = 3;
                s.underruns = 1;
            }),
        },
    ];
    for case in &cases {
        run(case);
    }
}

#[test]
fn config_validation() {
    let cases = [
        (0, 4, Err(JitterError::ZeroTarget)),
        (3, 2, Err(JitterError::MaxBelowTarget { target: 3, max: 2 })),
        (1, 1, Ok(())),
        (2, 8, Ok(())),
    ];
    for (target, max, expect) in cases {
        let r = JitterBuffer::new(JitterConfig {
            target_depth: target,
            max_depth: max,
        });
        assert_eq!(r.map(|_| ()), expect, "{target}/{max}");
    }
    assert!(JitterBuffer::new(JitterConfig::default()).is_ok());
}

#[test]
fn reset_clears_everything() {
    let mut jb = JitterBuffer::new(JitterConfig::default()).expect("valid");
    jb.push(1, 0, &[1]);
    jb.push(2, 160, &[2]);
    assert!(matches!(jb.pop(), Playout::Frame(_)));
    assert!(jb.is_playing());
    jb.reset();
    assert_eq!(jb.stats(), JitterStats::default());
    assert_eq!(jb.depth(), 0);
    assert!(!jb.is_playing());
    assert_eq!(jb.push(30000, 0, &[]), PushOutcome::Queued);
}

#[test]
fn random_network_keeps_order_and_bounds() {
    let mut rng = Lcg(42);
    let mut jb = JitterBuffer::new(JitterConfig {
        target_depth: 3,
        max_depth: 10,
    })
    .expect("valid");
    let start: u16 = 64000;
    let n: u16 = 5000;
    // Packets sent one per tick; each is delayed 0-2 ticks, 3 % lost, 3 % duplicated.
    let mut in_flight: Vec<(u64, u16)> = Vec::new();
    let mut played: Vec<i64> = Vec::new();
    let mut ext_base = 0i64;
    let mut last_raw: Option<u16> = None;
    for tick in 0..u64::from(n) + 10 {
        if tick < u64::from(n) {
            let seq = start.wrapping_add(tick as u16);
            let r = rng.next() % 100;
            if r >= 3 {
                in_flight.push((tick + rng.next() % 3, seq));
            }
            if r >= 97 {
                in_flight.push((tick + rng.next() % 3, seq));
            }
        }
        in_flight.sort_by_key(|&(due, _)| due);
        while in_flight.first().is_some_and(|&(due, _)| due <= tick) {
            let (_, seq) = in_flight.remove(0);
            jb.push(seq, u32::from(seq) * 160, &[0xFF; 160]);
        }
        if let Playout::Frame(f) = jb.pop() {
            if let Some(prev) = last_raw {
                if f.sequence < prev {
                    ext_base += 65536;
                }
            }
            last_raw = Some(f.sequence);
            played.push(ext_base + i64::from(f.sequence));
        }
        assert!(jb.depth() <= 10);
    }
    assert!(
        played.windows(2).all(|w| w[0] < w[1]),
        "played out of order or twice"
    );
    let s = jb.stats();
    assert!(s.played > u64::from(n) * 85 / 100, "{s:?}");
    assert_eq!(s.resyncs, 0, "{s:?}");
    assert!(s.duplicates > 0 && s.lost > 0, "{s:?}");
}
