//! Throughput of the AT decoder in lines per second, on a realistic mix of answers, URCs
//! and a call sequence, fed in USB-sized chunks.
//!
//! Run: `cargo bench -p e173gw-core --bench at_decoder`. Criterion prints the time per
//! iteration and the throughput in elements (lines) per second.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use e173gw_core::at::codec::AtDecoder;
use e173gw_core::at::command::Command;

const TRANSCRIPT: &[u8] =
    b"\r\n^RSSI:17\r\n\r\n+CSQ: 17,99\r\n\r\nOK\r\n\r\n+CREG: 2,1,\"00B3\",\"926A\"\r\n\r\nOK\r\n\
\r\n^BOOT:20952548,0,0,0,72\r\n\r\nOK\r\n\r\n^ORIG:1,0\r\n\r\n^CONF:1\r\n\r\n^CONN:1,0\r\n\
\r\n+CLCC: 1,0,0,0,0,\"0791234567\",129\r\n\r\nOK\r\n\r\n^CEND:1,12,104,16\r\n\r\n^MODE:5,4\r\n";
const LINES_PER_TRANSCRIPT: u64 = 14;

fn decode(c: &mut Criterion) {
    let reps = 64;
    let stream: Vec<u8> = TRANSCRIPT.repeat(reps);
    let mut group = c.benchmark_group("at_decoder");
    group.throughput(Throughput::Elements(LINES_PER_TRANSCRIPT * reps as u64));
    group.bench_function("mixed_lines_64B_chunks", |b| {
        b.iter(|| {
            let mut d = AtDecoder::new();
            d.expect(Command::SignalQuery.expect());
            let mut n = 0u64;
            for chunk in stream.chunks(64) {
                d.push(chunk);
                while let Some(f) = d.decode() {
                    std::hint::black_box(&f);
                    n += 1;
                }
            }
            assert_eq!(n, LINES_PER_TRANSCRIPT * reps as u64);
        })
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
