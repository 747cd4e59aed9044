//! Bounded mutational fuzzing of everything that reads bytes from outside: the SIP
//! decoder and checks, TCP framing, SDP with negotiation, and the AT decoder inside the
//! modem session. Stable Rust, no extra tool: each target mutates seed inputs written from
//! RFC 3261/4566 and DIALECT.md, runs them under `catch_unwind` and a time limit, and
//! checks the target's invariants.
//!
//! Every test run does a short pass (`E173GW_FUZZ_ITERS`, default 2,000 per target);
//! `scripts/fuzz` runs a million per target in release mode. `E173GW_FUZZ_SEED` sets the
//! first seed; input `i` uses seed + i, so a failure is replayed from the seed it prints
//! (the input is also written under `target/fuzz-failures/`).

mod at;
mod mutate;
mod sdp;
mod seeds;
mod sip;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::test_util::{env_u64, Lcg};

/// Longer than this for one input is a hang.
const HANG: Duration = Duration::from_secs(1);

/// What a target did.
#[derive(Debug, Default)]
struct Report {
    inputs: u64,
    panics: u64,
    hangs: u64,
    violations: u64,
    first: Option<(u64, String, Vec<u8>)>,
}

/// Runs `make` then `check` on inputs seeded `seed..seed + iters`; panics with a report
/// when any input panicked, hung or broke an invariant.
#[allow(clippy::disallowed_methods)] // measures how long an input takes: wall time
fn run(
    name: &str,
    make: impl Fn(&mut Lcg) -> Vec<u8>,
    check: impl Fn(&[u8], &mut Lcg) -> Result<(), String>,
) {
    let iters = env_u64("E173GW_FUZZ_ITERS", 2_000);
    let first_seed = env_u64("E173GW_FUZZ_SEED", 0x0e17_3000);
    let started = Instant::now();
    let mut r = Report::default();
    // Expected panics are caught; keep their messages out of the output.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for i in 0..iters {
        let seed = first_seed.wrapping_add(i);
        let mut rng = Lcg(seed);
        let input = make(&mut rng);
        let t = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| check(&input, &mut rng)));
        let took = t.elapsed();
        r.inputs += 1;
        let problem = match outcome {
            Err(p) => {
                r.panics += 1;
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Some(format!("panic: {msg}"))
            }
            Ok(Err(v)) => {
                r.violations += 1;
                Some(v)
            }
            Ok(Ok(())) if took > HANG => {
                r.hangs += 1;
                Some(format!("took {took:?}"))
            }
            Ok(Ok(())) => None,
        };
        if let (Some(p), None) = (problem, &r.first) {
            r.first = Some((seed, p, input));
        }
    }
    std::panic::set_hook(hook);
    eprintln!(
        "fuzz {name}: {} inputs, {} panics, {} hangs, {} invariant violations, {:.1} s",
        r.inputs,
        r.panics,
        r.hangs,
        r.violations,
        started.elapsed().as_secs_f64()
    );
    if let Some((seed, problem, input)) = r.first {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-failures");
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join(format!("{name}-{seed}.bin")), &input);
        panic!(
            "fuzz {name}: seed {seed}: {problem}\ninput: {}",
            input.escape_ascii()
        );
    }
}
