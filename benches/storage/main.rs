//! Call record storage: sustained record writes per second and the latency of the queries
//! the filters and the API make, on the embedded SQLite store and on PostgreSQL.
//!
//! The data looks like a gateway's: callers and callees drawn from 100,000 numbers (a few
//! hundred of them busy), calls received over 90 days (four monthly PostgreSQL
//! partitions), about half answered with talk time (a fifth of those short), the rest
//! busy, unanswered, rejected or cancelled. Records are written as the recorder writes
//! them, in batches of its batch size and one by one for contrast; then the history
//! aggregates of random numbers (with and without history) over several windows, a record
//! by Call-ID and a search by callee are timed one at a time. Every answer is checked
//! against counts kept in memory.
//!
//! Run: `scripts/bench-storage`, or `cargo bench --bench storage` (1,000,000 records,
//! 2,000 queries per row). Without `--bench` (as under `cargo test --all-targets`) a small
//! smoke run checks the figures and the answers in a few seconds. `E173GW_BENCH_RECORDS`
//! and `E173GW_BENCH_QUERIES` override the sizes; `E173GW_BENCH_BACKENDS` picks the
//! stores (`sqlite`, `postgres` or `both`, the default). PostgreSQL is
//! `E173GW_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`), in a schema
//! `bench_<pid>` dropped at the end.
//!
//! # Layout
//!
//! - `data`: the records (derived from their index, so every store gets the same ones)
//!   and the answers each query must give.
//! - `backends`: loading a store, timing and checking its queries, PostgreSQL upkeep.
//! - `report`: percentiles and the printed tables.

#![allow(clippy::print_stdout)] // The figures are the output.

mod backends;
mod data;
mod report;

use std::time::Duration;

use e173gw::adapters::postgres::PgStore;
use e173gw::adapters::sqlite::SqliteStore;
use e173gw_core::ports::civil_from_days;

use self::backends::{load, pg_settle, queries, Backend, Measured, SchemaGuard};
use self::data::Data;
use self::report::{dir_size, mib, print_report};

/// Records per store batch, as the recorder sends them (`BATCH` in
/// `actors/src/recorder/actor.rs`).
const RECORDER_BATCH: usize = 500;
/// Distinct numbers callers and callees are drawn from.
const NUMBERS: u64 = 100_000;
/// Busy numbers: callers `0..HOT` make 30% of the calls, callees `HOT..2*HOT` take 10%.
const HOT: u64 = 500;
const DAY: u64 = 86_400_000;
/// The data covers this long, up to [`END_MS`].
const SPAN: u64 = 90 * DAY;
/// 2026-11-22T18:00:00Z: the last call, and "now" for the history queries.
const END_MS: u64 = 1_795_370_400_000;
/// Answered calls with less talk than this are short.
const SHORT_CALL_MS: u64 = 6_000;
/// The history windows timed, back from [`END_MS`].
const WINDOWS: [(&str, u64); 4] = [
    ("1d", DAY),
    ("7d", 7 * DAY),
    ("30d", 30 * DAY),
    ("90d", SPAN),
];
/// Production defaults of `[storage]` (`postgres_pool`, `postgres_timeout_ms`).
const PG_POOL: usize = 16;
const PG_TIMEOUT: Duration = Duration::from_secs(2);

fn main() {
    let plan = Plan::from_env();
    let pg_url = std::env::var("E173GW_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    // Dropped last, also when a step below panics.
    let schema = plan.backends.postgres().then(|| SchemaGuard {
        url: pg_url.clone(),
        name: format!("bench_{}", std::process::id()),
    });
    let dir = tempfile::tempdir().expect("a temporary directory for the SQLite file");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let schema_name = schema.as_ref().map(|s| s.name.as_str());
    let problems = rt.block_on(run(&plan, &pg_url, schema_name, dir.path()));
    drop(rt);
    drop(schema);
    assert!(
        problems.is_empty(),
        "{} answers differ from the expected ones, first ones:\n{}",
        problems.len(),
        problems
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Runs the chosen stores (PostgreSQL in `schema`, given when it runs) and prints the
/// report; returns the answers that differ from the expected ones.
async fn run(
    plan: &Plan,
    pg_url: &str,
    schema: Option<&str>,
    dir: &std::path::Path,
) -> Vec<String> {
    let data = Data::new(plan);
    let (y0, m0, d0) = civil_from_days(((END_MS - SPAN) / DAY) as i64);
    let (y1, m1, d1) = civil_from_days((END_MS / DAY) as i64);
    println!(
        "e173gw storage benchmark ({}): {} records + {} single inserts, numbers from {NUMBERS}, \
         received {y0}-{m0:02}-{d0:02}..{y1}-{m1:02}-{d1:02}; {} queries per row",
        if plan.full { "full" } else { "smoke" },
        plan.records,
        plan.singles,
        plan.queries,
    );

    let mut lite = None;
    let mut lite_size = 0;
    if plan.backends.sqlite() {
        let sqlite = SqliteStore::open(&dir.join("e173gw.db"))
            .await
            .expect("SQLite store opens");
        let sqlite = Backend {
            name: "sqlite",
            records: sqlite.clone(),
            history: sqlite,
        };
        lite = Some(Measured {
            load: load(&sqlite, plan, &data).await,
            queries: queries(&sqlite, plan, &data).await,
        });
        lite_size = dir_size(dir);
    }

    let mut post = None;
    let mut pg_info = None;
    if let Some(schema) = schema {
        let pg = PgStore::connect(pg_url, schema, PG_POOL, PG_TIMEOUT, true)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {pg_url} (set E173GW_TEST_PG_URL): {e}"));
        let pg = Backend {
            name: "postgres",
            records: pg.clone(),
            history: pg,
        };
        let pg_load = load(&pg, plan, &data).await;
        pg_info = Some(pg_settle(pg_url, schema).await);
        let pg_queries = queries(&pg, plan, &data).await;
        post = Some(Measured {
            load: pg_load,
            queries: pg_queries,
        });
    }

    print_report(plan, lite.as_ref(), post.as_ref());
    let lite_line = lite.as_ref().map(|_| {
        format!(
            "sqlite {:.1} MiB (WAL, synchronous=NORMAL, no ANALYZE)",
            mib(lite_size)
        )
    });
    let pg_line = pg_info.as_ref().map(|i| {
        format!(
            "postgres {:.1} MiB (VACUUM ANALYZE after the load: {:.1} s), pool {PG_POOL}",
            mib(i.bytes),
            i.vacuum_s
        )
    });
    let sizes: Vec<String> = lite_line.into_iter().chain(pg_line).collect();
    println!("size: {}", sizes.join("; "));

    let measured: Vec<&Measured> = lite.iter().chain(&post).collect();
    let mut problems: Vec<String> = measured
        .iter()
        .flat_map(|m| m.load.problems.iter().chain(&m.queries.problems).cloned())
        .collect();
    if let Some(pg_info) = &pg_info {
        println!("partitions: {}", pg_info.partitions.join(", "));
        let used = pg_info
            .partitions
            .iter()
            .filter(|p| !p.starts_with("call_records_default"))
            .count();
        if used < 4 || pg_info.partitions.len() != used {
            problems.push(format!(
                "expected 4 monthly partitions: {:?}",
                pg_info.partitions
            ));
        }
    }
    let checked: usize = measured.iter().map(|m| m.queries.checked).sum::<usize>();
    println!(
        "checked: {checked} answers against the expected ones, {} differ",
        problems.len()
    );
    if !plan.full {
        for m in measured {
            m.assert_sane();
        }
    }
    problems
}

/// Which stores to run (`E173GW_BENCH_BACKENDS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backends {
    Sqlite,
    Postgres,
    Both,
}

impl Backends {
    fn sqlite(self) -> bool {
        self != Backends::Postgres
    }

    fn postgres(self) -> bool {
        self != Backends::Sqlite
    }
}

/// What to run.
#[derive(Debug)]
struct Plan {
    /// The full run (`--bench`), or the smoke run.
    full: bool,
    /// Records loaded in recorder-sized batches.
    records: u64,
    /// Records inserted one by one after those.
    singles: u64,
    /// Queries per latency row.
    queries: usize,
    /// The stores to run.
    backends: Backends,
}

impl Plan {
    fn from_env() -> Plan {
        let full = std::env::args().skip(1).any(|a| a == "--bench");
        let var = |name: &str, default: u64| match std::env::var(name) {
            Ok(v) => v
                .parse::<u64>()
                .unwrap_or_else(|e| panic!("{name}={v:?}: {e}")),
            Err(_) => default,
        };
        let records = var("E173GW_BENCH_RECORDS", if full { 1_000_000 } else { 2_000 }).max(1);
        let queries = var("E173GW_BENCH_QUERIES", if full { 2_000 } else { 100 }).max(1);
        let backends = match std::env::var("E173GW_BENCH_BACKENDS").as_deref() {
            Ok("sqlite") => Backends::Sqlite,
            Ok("postgres") => Backends::Postgres,
            Ok("both") | Ok("") | Err(_) => Backends::Both,
            Ok(other) => panic!("E173GW_BENCH_BACKENDS={other:?}: sqlite, postgres or both"),
        };
        Plan {
            full,
            records,
            singles: (records / 200).clamp(100, 5_000),
            queries: usize::try_from(queries).expect("query count fits"),
            backends,
        }
    }

    fn total(&self) -> u64 {
        self.records + self.singles
    }
}
