//! The screening pipeline with warm caches: a rule set of realistic size (10,000
//! blacklist entries of every kind, phone validation, and the operator prefix table: the
//! full libphonenumber Brazil file when it is found, else the project's sample), over a
//! mix of callees. Lookups (WhatsApp, store history) are outside the process and not here.
//!
//! Run: `cargo bench -p e173gw-core --bench filter`. Criterion prints the time per
//! screening; then the bench prints p50/p99/max over 200,000 screenings and screenings
//! per second on one core.
//! The Brazil file: `$E173GW_BRAZIL_CARRIER_FILE`, or `../shared/data/libphonenumber-carrier-55.txt`
//! beside the repository.

// The figures are the output, timed on the wall clock.
#![allow(clippy::print_stdout, clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use e173gw_core::config::filter::FilterConfig;
use e173gw_core::filter::{Memory, Request, Rules, Screening, Step};

fn brazil_file() -> Option<PathBuf> {
    let p = std::env::var_os("E173GW_BRAZIL_CARRIER_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/data/libphonenumber-carrier-55.txt")
        });
    p.exists().then_some(p)
}

/// Writes a blacklist of `n` entries (exact, prefix, caller, per trunk, a few patterns
/// and allowlist entries) and returns the filter config using it.
fn rules(dir: &Path, n: usize) -> Arc<Rules> {
    let mut bl = String::new();
    for i in 0..n {
        let line = match i % 10 {
            0..=5 => format!(
                "[[entry]]\nnumber = \"+55119{:08}\"\nreason = \"r{i}\"\n",
                i * 7
            ),
            6 | 7 => format!("[[entry]]\nprefix = \"+55{}9{:04}\"\n", 11 + i % 80, i),
            8 => format!(
                "[[entry]]\nnumber = \"+55219{:08}\"\nparty = \"caller\"\n",
                i
            ),
            _ => format!("[[entry]]\nprefix = \"+5531{:05}\"\ntrunk = \"b\"\n", i),
        };
        bl.push_str(&line);
    }
    bl.push_str("[[entry]]\npattern = '\\+55\\d\\d9(0{8}|9{8})'\n");
    bl.push_str("[[entry]]\npattern = '\\+5511911[0-9]{6}'\nallow = true\n");
    std::fs::write(dir.join("bl.toml"), bl).expect("write blacklist");
    let mut text = String::from(
        "[filter]\n[[filter.stage]]\nkind = \"blacklist\"\nfiles = [\"bl.toml\"]\n\
         [[filter.stage]]\nkind = \"phone\"\nallowed_regions = [\"BR\"]\n",
    );
    let table = brazil_file().unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/operators/55-sample.txt")
    });
    if table.exists() {
        text.push_str(&format!(
            "[[filter.stage]]\nkind = \"operator\"\nfiles = [\"{}\"]\n",
            table.display()
        ));
    }
    #[derive(serde::Deserialize)]
    struct W {
        filter: FilterConfig,
    }
    let w: W = toml::from_str(&text).expect("config");
    Arc::new(Rules::check_and_build(&w.filter, dir, 1).expect("rules"))
}

fn callees() -> Vec<String> {
    (0..1000u64)
        .map(|i| match i % 4 {
            0 => format!("5511{}", 987_000_000 + i * 13),
            1 => format!("+55119{:08}", i * 7),
            2 => format!("21{}", 996_000_000 + i),
            _ => format!("+5531{}", 991_000_000 + i),
        })
        .collect()
}

fn screen(rules: &Arc<Rules>, mem: &mut Memory, callee: &str) -> bool {
    let mut clock = Instant::now;
    let mut s = Screening::new(
        rules.clone(),
        Request {
            caller: "11987650000".into(),
            callee: callee.into(),
            trunk: Some("a".into()),
            now_ms: 1_790_000_000_000,
        },
    );
    match s.advance(mem, &mut clock) {
        Step::Done(v) => v.decision.name() == "allow",
        Step::Lookup(_) => false,
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile_dir();
    let r = rules(&dir, 10_000);
    let nums = callees();
    let mut mem = Memory::default();
    let mut i = 0;
    c.bench_function("screening_10k_blacklist_phone_operator", |b| {
        b.iter(|| {
            i = (i + 1) % nums.len();
            std::hint::black_box(screen(&r, &mut mem, &nums[i]))
        })
    });
    // Percentiles, one screening at a time.
    let n = 200_000;
    let mut t = Vec::with_capacity(n);
    let mut allowed = 0;
    let start = Instant::now();
    for k in 0..n {
        let t0 = Instant::now();
        allowed += usize::from(screen(&r, &mut mem, &nums[k % nums.len()]));
        t.push(t0.elapsed().as_nanos() as u64);
    }
    let wall = start.elapsed();
    t.sort_unstable();
    let pct = |p: f64| t[((t.len() as f64 - 1.0) * p) as usize] as f64 / 1000.0;
    println!(
        "screening (stages: {}, operator table: {}): p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs, {:.0} screenings/s on one core, {allowed} of {n} allowed",
        r.stages.len(),
        brazil_file().map_or("sample".into(), |p| p.display().to_string()),
        pct(0.5),
        pct(0.99),
        pct(1.0),
        n as f64 / wall.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("e173gw-filter-bench-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

criterion_group!(benches, bench);
criterion_main!(benches);
