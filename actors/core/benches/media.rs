//! Cost of the per-frame media work of one call direction: G.711 encode and decode of a
//! 20 ms frame, a jitter-buffer push plus pop, and RTP build plus parse.
//!
//! Run: `cargo bench -p e173gw-core --bench media`. Each iteration is one 20 ms frame, so
//! the time per iteration times 50 is the CPU share per second of audio.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use e173gw_core::media::g711::Law;
use e173gw_core::media::jitter::{JitterBuffer, JitterConfig, Playout};
use e173gw_core::media::rtp::{RtpPacket, RtpSender};
use e173gw_core::media::tone::ToneGenerator;
use e173gw_core::media::{FRAME_BYTES, G711_FRAME_BYTES};

fn g711(c: &mut Criterion) {
    let pcm = ToneGenerator::new(1004.0, 8000).next_frame_le();
    assert_eq!(pcm.len(), FRAME_BYTES);
    let mut group = c.benchmark_group("g711_frame");
    group.throughput(Throughput::Elements(1));
    for law in [Law::Ulaw, Law::Alaw] {
        let payload = law.encode_le(&pcm);
        let mut out = Vec::with_capacity(FRAME_BYTES);
        group.bench_function(format!("encode_{law:?}"), |b| {
            b.iter(|| {
                out.clear();
                law.encode_le_into(std::hint::black_box(&pcm), &mut out);
                std::hint::black_box(&out);
            })
        });
        group.bench_function(format!("decode_{law:?}"), |b| {
            b.iter(|| {
                out.clear();
                law.decode_le_into(std::hint::black_box(&payload), &mut out);
                std::hint::black_box(&out);
            })
        });
    }
    group.finish();
}

fn jitter(c: &mut Criterion) {
    let payload = [0xFFu8; G711_FRAME_BYTES];
    let mut group = c.benchmark_group("jitter_frame");
    group.throughput(Throughput::Elements(1));
    group.bench_function("push_pop_steady", |b| {
        let mut jb = JitterBuffer::new(JitterConfig::default()).expect("valid config");
        let mut seq: u16 = 0;
        for _ in 0..2 {
            jb.push(seq, u32::from(seq) * 160, &payload);
            seq = seq.wrapping_add(1);
        }
        b.iter(|| {
            jb.push(seq, u32::from(seq).wrapping_mul(160), &payload);
            seq = seq.wrapping_add(1);
            let p = jb.pop();
            assert!(matches!(p, Playout::Frame(_)));
            std::hint::black_box(p);
        })
    });
    group.bench_function("push_pop_reordered", |b| {
        let mut jb = JitterBuffer::new(JitterConfig::default()).expect("valid config");
        let mut base: u16 = 0;
        b.iter(|| {
            // Two frames per iteration, swapped in arrival order.
            jb.push(base.wrapping_add(1), 0, &payload);
            jb.push(base, 0, &payload);
            base = base.wrapping_add(2);
            std::hint::black_box(jb.pop());
            std::hint::black_box(jb.pop());
        })
    });
    group.finish();
}

fn rtp(c: &mut Criterion) {
    let payload = [0xFFu8; G711_FRAME_BYTES];
    let mut group = c.benchmark_group("rtp_frame");
    group.throughput(Throughput::Elements(1));
    let mut sender = RtpSender::new(0x1234_5678, 0, 1, 0).expect("valid payload type");
    let mut out = Vec::with_capacity(200);
    group.bench_function("build_parse", |b| {
        b.iter(|| {
            sender.audio(&payload, &mut out);
            let p = RtpPacket::parse(std::hint::black_box(&out)).expect("own packet");
            std::hint::black_box(p.payload.len());
        })
    });
    group.finish();
}

criterion_group!(benches, g711, jitter, rtp);
criterion_main!(benches);
