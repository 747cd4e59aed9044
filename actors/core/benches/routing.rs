//! The routing policy over 256 modems: every rule in play (a sticky route, operator
//! affinity with a fallback order, per-SIM limits, rested SIMs, leases, exclusions),
//! balancing by least calls and by round robin.
//!
//! Run: `cargo bench -p e173gw-core --bench routing`. Criterion prints the time per
//! decision; then the bench prints p50/p99/max over 100,000 decisions (target: p99 under
//! 20 µs) and decisions per second on one core.

// The figures are the output, timed on the wall clock.
#![allow(clippy::print_stdout, clippy::disallowed_methods)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use e173gw_core::routing::policy::{rank, Balance, CallFacts, PolicyConfig, SimLimits, SimView};

const OPERATORS: [&str; 4] = ["TIM", "Claro", "Vivo", "Oi"];
const NOW: u64 = 1_800_000_000_000;

fn sims(n: usize) -> Vec<SimView> {
    (0..n)
        .map(|i| SimView {
            id: format!("8603{i:011}"),
            available: i % 17 != 0,
            leased: i % 5 == 0,
            operator: Some(OPERATORS[i % 4].to_string()),
            calls_today: (i * 7 % 90) as u32,
            minutes_today: (i * 13 % 200) as u32,
            calls_month: (i * 31 % 2000) as u32,
            minutes_month: (i * 37 % 4000) as u32,
            weight: 1 + (i % 3) as u32,
            last_end_ms: Some(NOW - (i as u64 * 7_919 % 600_000)),
            rested: (i % 23 == 0).then(|| (NOW + 60_000, "5 unanswered calls in a row".into())),
            quarantined: (i % 61 == 0).then(|| "quarantined: 3 resets within 600 s".into()),
            limits: SimLimits {
                calls_per_day: Some(80),
                minutes_per_day: Some(180),
                calls_per_month: Some(1900),
                min_pause_s: Some(20),
                ..SimLimits::default()
            },
        })
        .collect()
}

fn facts(i: usize) -> CallFacts {
    CallFacts {
        callee_operator: Some(OPERATORS[i % 4].to_string()),
        sticky: (i % 3 == 0).then(|| format!("8603{:011}", i % 256)),
        exclude: if i % 10 == 0 {
            vec![format!("8603{:011}", (i + 1) % 256)]
        } else {
            Vec::new()
        },
        now_ms: NOW,
    }
}

fn bench(c: &mut Criterion) {
    let all = sims(256);
    for balance in [Balance::LeastCalls, Balance::RoundRobin] {
        let cfg = PolicyConfig {
            operator_affinity: true,
            operator_fallback: vec!["Vivo".into(), "Claro".into()],
            balance,
        };
        let name = format!("rank 256 modems ({balance:?})");
        let mut i = 0usize;
        c.bench_function(&name, |b| {
            b.iter(|| {
                i = i.wrapping_add(1);
                black_box(rank(&cfg, &facts(i), black_box(&all), i))
            })
        });
        let n = 100_000usize;
        let mut t = Vec::with_capacity(n);
        let mut ranked = 0usize;
        let start = Instant::now();
        for i in 0..n {
            let f = facts(i);
            let s = Instant::now();
            let r = rank(&cfg, &f, &all, i);
            t.push(s.elapsed().as_nanos() as u64);
            ranked += r.ranked.len();
        }
        let total = start.elapsed();
        t.sort_unstable();
        let us = |q: f64| t[((n as f64 * q) as usize).min(n - 1)] as f64 / 1000.0;
        println!(
            "{name}: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs, {:.0} decisions/s on one core, {:.0} SIMs ranked per decision",
            us(0.50),
            us(0.99),
            t[n - 1] as f64 / 1000.0,
            n as f64 / total.as_secs_f64(),
            ranked as f64 / n as f64
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
