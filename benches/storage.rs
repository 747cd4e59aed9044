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
//! and `E173GW_BENCH_QUERIES` override the sizes; PostgreSQL is `E173GW_TEST_PG_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`), in a schema `bench_<pid>` dropped
//! at the end.

#![allow(clippy::print_stdout)] // The figures are the output.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use e173gw::adapters::postgres::PgStore;
use e173gw::adapters::sqlite::SqliteStore;
use e173gw_core::at::cause::EndKind;
use e173gw_core::ports::{
    civil_from_days, HistoryStore, LastOutcome, NumberHistory, Party, RecordQuery, RecordStore,
};
use e173gw_core::record::{Attempt, CallRecord, EndReason, RecordTarget};
use tokio::time::Instant;

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
    let schema = SchemaGuard {
        url: pg_url.clone(),
        name: format!("bench_{}", std::process::id()),
    };
    let dir = tempfile::tempdir().expect("a temporary directory for the SQLite file");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let problems = rt.block_on(run(&plan, &pg_url, &schema.name, dir.path()));
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

async fn run(plan: &Plan, pg_url: &str, schema: &str, dir: &std::path::Path) -> Vec<String> {
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

    let sqlite = SqliteStore::open(&dir.join("e173gw.db"))
        .await
        .expect("SQLite store opens");
    let sqlite = Backend {
        name: "sqlite",
        records: sqlite.clone(),
        history: sqlite,
    };
    let lite = Measured {
        load: load(&sqlite, plan, &data).await,
        queries: queries(&sqlite, plan, &data).await,
    };
    let lite_size = dir_size(dir);

    let pg = PgStore::connect(pg_url, schema, PG_POOL, PG_TIMEOUT, true)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {pg_url} (set E173GW_TEST_PG_URL): {e}"));
    let pg = Backend {
        name: "postgres",
        records: pg.clone(),
        history: pg,
    };
    let pg_load = load(&pg, plan, &data).await;
    let pg_info = pg_settle(pg_url, schema).await;
    let pg_queries = queries(&pg, plan, &data).await;
    let post = Measured {
        load: pg_load,
        queries: pg_queries,
    };

    print_report(plan, &lite, &post);
    println!(
        "size: sqlite {:.1} MiB (WAL, synchronous=NORMAL, no ANALYZE); postgres {:.1} MiB \
         (VACUUM ANALYZE after the load: {:.1} s), pool {PG_POOL}",
        mib(lite_size),
        mib(pg_info.bytes),
        pg_info.vacuum_s
    );
    println!("partitions: {}", pg_info.partitions.join(", "));

    let mut problems: Vec<String> = [&lite, &post]
        .iter()
        .flat_map(|m| m.load.problems.iter().chain(&m.queries.problems).cloned())
        .collect();
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
    let checked: usize = [&lite, &post]
        .iter()
        .map(|m| m.queries.checked)
        .sum::<usize>();
    println!(
        "checked: {checked} answers against the expected ones, {} differ",
        problems.len()
    );
    if !plan.full {
        for m in [&lite, &post] {
            m.assert_sane();
        }
    }
    problems
}

// === Plan and data ===

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
        Plan {
            full,
            records,
            singles: (records / 200).clamp(100, 5_000),
            queries: usize::try_from(queries).expect("query count fits"),
        }
    }

    fn total(&self) -> u64 {
        self.records + self.singles
    }
}

/// A small deterministic generator (SplitMix64), so both stores get the same data.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Answered,
    Busy,
    NoAnswer,
    Rejected,
    Cancelled,
}

/// The queried fields of one record: what the expected answers are computed from.
#[derive(Debug, Clone, Copy)]
struct Shape {
    caller: u32,
    callee: u32,
    received_ms: u64,
    outcome: Outcome,
    talk_ms: u64,
}

impl Shape {
    /// Record `k` of `total`; receive times rise strictly with `k`.
    fn new(k: u64, total: u64) -> Shape {
        let step = (SPAN / total).max(1);
        let mut r = Rng(k.wrapping_mul(0xA076_1D64_78BD_642F) ^ 0xE173);
        let caller = if r.below(100) < 30 {
            r.below(HOT)
        } else {
            r.below(NUMBERS)
        };
        let callee = if r.below(100) < 10 {
            HOT + r.below(HOT)
        } else {
            r.below(NUMBERS)
        };
        let received_ms = END_MS - SPAN + k * step + r.below(step);
        let outcome = match r.below(100) {
            0..45 => Outcome::Answered,
            45..70 => Outcome::Busy,
            70..85 => Outcome::NoAnswer,
            85..95 => Outcome::Rejected,
            _ => Outcome::Cancelled,
        };
        let talk_ms = match (outcome, r.below(100)) {
            (Outcome::Answered, 0..20) => 300 + r.below(SHORT_CALL_MS - 300),
            (Outcome::Answered, _) => {
                let long = r.below(900_000);
                SHORT_CALL_MS + r.below(long + 1)
            }
            _ => 0,
        };
        Shape {
            caller: u32::try_from(caller).expect("number index fits"),
            callee: u32::try_from(callee).expect("number index fits"),
            received_ms,
            outcome,
            talk_ms,
        }
    }

    fn sip_status(&self) -> u16 {
        match self.outcome {
            Outcome::Answered => 200,
            Outcome::Busy => 486,
            Outcome::NoAnswer => 480,
            Outcome::Rejected => 403,
            Outcome::Cancelled => 487,
        }
    }

    fn gsm_end(&self) -> Option<EndKind> {
        match self.outcome {
            Outcome::Answered => Some(EndKind::Normal),
            Outcome::Busy => Some(EndKind::Busy),
            Outcome::NoAnswer => Some(EndKind::NoAnswer),
            Outcome::Rejected | Outcome::Cancelled => None,
        }
    }

    fn last(&self) -> LastOutcome {
        LastOutcome {
            at_ms: self.received_ms,
            sip_status: self.sip_status(),
            gsm_end: self.gsm_end(),
            talk_ms: self.talk_ms,
        }
    }
}

/// Number `i` of the universe: Brazilian mobiles, scattered (48271 is prime to 10^8).
fn number(i: u32) -> String {
    format!(
        "5511{:09}",
        900_000_000 + (u64::from(i) * 48_271) % 100_000_000
    )
}

fn call_id(k: u64) -> String {
    let mut r = Rng(k ^ 0xCA11);
    format!("{:016x}{k:x}@sbc{}.carrier.example", r.next(), k % 4)
}

/// The full record `k`.
fn record(k: u64, s: &Shape) -> CallRecord {
    let t = s.received_ms;
    let modem = format!("m{:02}", k % 16);
    let routed = (s.outcome != Outcome::Rejected).then_some(t + 4 + k % 7);
    let alerting = match s.outcome {
        Outcome::Answered | Outcome::NoAnswer | Outcome::Cancelled => Some(t + 1_800 + k % 900),
        _ => None,
    };
    let answered = (s.outcome == Outcome::Answered).then_some(t + 9_000 + k % 20_000);
    let ended = match (s.outcome, answered, alerting) {
        (_, Some(a), _) => a + s.talk_ms,
        (Outcome::NoAnswer, _, _) => t + 45_000,
        (_, _, Some(al)) => al + 3_000,
        _ => t + 2_500,
    };
    let mut attempts = Vec::new();
    if s.outcome == Outcome::Busy && k % 5 == 0 {
        attempts.push(Attempt {
            modem: format!("m{:02}", (k + 1) % 16),
            end: Some(EndKind::Congestion),
            q850: Some(34),
            detail: "network congestion".into(),
        });
    }
    CallRecord {
        call_id: call_id(k),
        trunk: Some(["carrier-a", "carrier-b", "pbx"][(k % 3) as usize].into()),
        caller: number(s.caller),
        callee: number(s.callee),
        target: match s.outcome {
            Outcome::Rejected => RecordTarget::None,
            _ => RecordTarget::Modem {
                imei: Some(format!("3549110210{:05}", k % 16)),
                imsi: Some(format!("7240200010{:05}", k % 16)),
                iccid: Some(format!("895502001000{:07}", k % 16)),
                modem,
            },
        },
        attempts,
        received_ms: t,
        routed_ms: routed,
        alerting_ms: alerting,
        answered_ms: answered,
        ended_ms: ended,
        sip_status: s.sip_status(),
        end_reason: match s.outcome {
            Outcome::Answered if k % 2 == 0 => EndReason::CallerHangup,
            Outcome::Answered => EndReason::CalleeHangup,
            Outcome::Busy | Outcome::NoAnswer => EndReason::Failed,
            Outcome::Rejected => EndReason::Rejected,
            Outcome::Cancelled => EndReason::Cancelled,
        },
        gsm_end: s.gsm_end(),
        q850: match s.outcome {
            Outcome::Answered => Some(16),
            Outcome::Busy => Some(17),
            Outcome::NoAnswer => Some(19),
            _ => None,
        },
        post_dial_delay_ms: routed.zip(alerting.or(answered)).map(|(r, a)| a - r),
        talk_ms: s.talk_ms,
        verdict: match s.outcome {
            Outcome::Rejected => vec!["blacklist: reject 403 (prefix 5511)".into()],
            _ => vec!["blacklist: pass".into(), "phone: valid mobile".into()],
        },
    }
}

/// Every record's shape, and which records each number is on, in receive order.
#[derive(Debug)]
struct Data {
    shapes: Vec<Shape>,
    by_caller: Vec<Vec<u32>>,
    by_callee: Vec<Vec<u32>>,
}

impl Data {
    fn new(plan: &Plan) -> Data {
        let total = plan.total();
        let shapes: Vec<Shape> = (0..total).map(|k| Shape::new(k, total)).collect();
        let mut by_caller = vec![Vec::new(); NUMBERS as usize];
        let mut by_callee = vec![Vec::new(); NUMBERS as usize];
        for (k, s) in shapes.iter().enumerate() {
            let k = u32::try_from(k).expect("record index fits");
            by_caller[s.caller as usize].push(k);
            by_callee[s.callee as usize].push(k);
        }
        Data {
            shapes,
            by_caller,
            by_callee,
        }
    }

    fn record(&self, k: u64) -> CallRecord {
        record(k, &self.shapes[k as usize])
    }

    /// Records of number `i` as `party`, oldest first.
    fn of(&self, party: Party, i: u32) -> &[u32] {
        match party {
            Party::Caller => &self.by_caller[i as usize],
            Party::Callee => &self.by_callee[i as usize],
        }
    }

    /// What `number_history` must answer for number `i` (`None`: a stranger).
    fn history(&self, party: Party, i: Option<u32>, since_ms: u64) -> NumberHistory {
        let Some(i) = i else {
            return NumberHistory::default();
        };
        let mut h = NumberHistory::default();
        let mut peers = HashSet::new();
        for &k in self.of(party, i) {
            let s = &self.shapes[k as usize];
            if s.received_ms < since_ms {
                continue;
            }
            h.attempts += 1;
            if s.outcome == Outcome::Answered {
                h.answered += 1;
                h.short_calls += u64::from(s.talk_ms < SHORT_CALL_MS);
            }
            peers.insert(match party {
                Party::Caller => s.callee,
                Party::Callee => s.caller,
            });
            h.last = Some(s.last());
        }
        h.distinct_peers = peers.len() as u64;
        h
    }

    /// Numbers to ask about as `party`: 80% picked through a random record (so busy
    /// numbers come up as often as they call), 20% never seen.
    fn probes(&self, party: Party, n: usize, seed: u64) -> Vec<(String, Option<u32>)> {
        let mut r = Rng(seed);
        (0..n)
            .map(|_| {
                if r.below(100) < 20 {
                    (format!("5521{:09}", r.below(1_000_000_000)), None)
                } else {
                    let s = &self.shapes[r.below(self.shapes.len() as u64) as usize];
                    let i = match party {
                        Party::Caller => s.caller,
                        Party::Callee => s.callee,
                    };
                    (number(i), Some(i))
                }
            })
            .collect()
    }
}

// === Measurement ===

/// One store under test.
struct Backend {
    name: &'static str,
    records: Arc<dyn RecordStore>,
    history: Arc<dyn HistoryStore>,
}

/// Write figures.
#[derive(Debug, Default)]
struct Load {
    /// Records/s over all recorder-sized batches (time inside `insert` only).
    batch_rate: f64,
    /// Records/s over the last tenth of them (the table nearly full).
    tail_rate: f64,
    /// Records/s inserted one by one.
    single_rate: f64,
    /// Latency of one `insert` call, per batch size.
    batch_lat: Vec<Duration>,
    /// Latency of one single-record `insert`.
    single_lat: Vec<Duration>,
    problems: Vec<String>,
}

/// Query latencies, one row per query kind.
#[derive(Debug, Default)]
struct Queries {
    rows: Vec<(String, Vec<Duration>)>,
    checked: usize,
    problems: Vec<String>,
}

#[derive(Debug)]
struct Measured {
    load: Load,
    queries: Queries,
}

impl Measured {
    /// The smoke run's checks on the figures themselves.
    fn assert_sane(&self) {
        for rate in [
            self.load.batch_rate,
            self.load.tail_rate,
            self.load.single_rate,
        ] {
            assert!(rate.is_finite() && rate > 10.0, "records/s {rate}");
        }
        let lat = [
            ("insert", &self.load.batch_lat),
            ("insert1", &self.load.single_lat),
        ];
        let rows = self.queries.rows.iter().map(|(n, v)| (n.as_str(), v));
        for (name, v) in lat.into_iter().chain(rows) {
            let (p50, p99, max) = percentiles(v);
            assert!(!v.is_empty() && p50 <= p99 && p99 <= max, "{name}");
            assert!(max < Duration::from_secs(5), "{name}: max {max:?}");
        }
    }
}

/// Inserts the records in recorder-sized batches, then the singles one by one.
async fn load(b: &Backend, plan: &Plan, data: &Data) -> Load {
    let mut out = Load::default();
    let tail_from = plan.records - plan.records / 10;
    let (mut all, mut tail, mut tail_n) = (Duration::ZERO, Duration::ZERO, 0u64);
    let mut from = 0u64;
    while from < plan.records {
        let to = (from + RECORDER_BATCH as u64).min(plan.records);
        let batch: Vec<CallRecord> = (from..to).map(|k| data.record(k)).collect();
        let t = Instant::now();
        let n = b.records.insert(&batch).await;
        let took = t.elapsed();
        let n = n.unwrap_or_else(|e| panic!("{}: insert of {from}..{to}: {e}", b.name));
        if n != batch.len() {
            out.problems.push(format!(
                "{}: batch {from}..{to}: {n} new of {}",
                b.name,
                batch.len()
            ));
        }
        all += took;
        if from >= tail_from {
            tail += took;
            tail_n += batch.len() as u64;
        }
        out.batch_lat.push(took);
        from = to;
    }
    let mut single = Duration::ZERO;
    for k in plan.records..plan.total() {
        let r = data.record(k);
        let t = Instant::now();
        let n = b.records.insert(std::slice::from_ref(&r)).await;
        let took = t.elapsed();
        let n = n.unwrap_or_else(|e| panic!("{}: insert of {k}: {e}", b.name));
        if n != 1 {
            out.problems
                .push(format!("{}: single {k}: {n} new", b.name));
        }
        single += took;
        out.single_lat.push(took);
    }
    out.batch_rate = plan.records as f64 / all.as_secs_f64();
    out.tail_rate = if tail_n == 0 {
        out.batch_rate
    } else {
        tail_n as f64 / tail.as_secs_f64()
    };
    out.single_rate = plan.singles as f64 / single.as_secs_f64();
    let stored = b.records.count(&RecordQuery::default()).await;
    match stored {
        Ok(n) if n == plan.total() => {}
        other => out.problems.push(format!(
            "{}: count {other:?}, expected {}",
            b.name,
            plan.total()
        )),
    }
    out
}

/// Times each query alone, then checks its answer.
async fn queries(b: &Backend, plan: &Plan, data: &Data) -> Queries {
    let mut out = Queries::default();
    for (party, pname, seed) in [(Party::Caller, "caller", 1), (Party::Callee, "callee", 2)] {
        let probes = data.probes(party, plan.queries, seed);
        for (wname, window) in WINDOWS {
            let since = END_MS - window;
            let mut lat = Vec::with_capacity(probes.len());
            for (num, i) in &probes {
                let t = Instant::now();
                let got = b
                    .history
                    .number_history(party, num, since, SHORT_CALL_MS)
                    .await;
                lat.push(t.elapsed());
                let got = got.unwrap_or_else(|e| panic!("{}: history of {num}: {e}", b.name));
                let want = data.history(party, *i, since);
                out.checked += 1;
                if got != want {
                    out.problems.push(format!(
                        "{}: {pname} {num} {wname}: got {got:?}, want {want:?}",
                        b.name
                    ));
                }
            }
            out.rows.push((format!("history {pname} {wname}"), lat));
        }
    }

    let mut r = Rng(3);
    let mut lat = Vec::with_capacity(plan.queries);
    for q in 0..plan.queries {
        let k = (r.below(100) < 80).then(|| r.below(plan.total()));
        let id = k.map_or_else(|| format!("missing{q}@sbc0.carrier.example"), call_id);
        let t = Instant::now();
        let got = b.records.get(&id).await;
        lat.push(t.elapsed());
        let got = got.unwrap_or_else(|e| panic!("{}: get {id}: {e}", b.name));
        out.checked += 1;
        if got != k.map(|k| data.record(k)) {
            out.problems
                .push(format!("{}: get {id}: got {got:?}", b.name));
        }
    }
    out.rows.push(("get by call id".into(), lat));

    let mut lat = Vec::with_capacity(plan.queries);
    for (num, i) in data.probes(Party::Callee, plan.queries, 4) {
        let q = RecordQuery {
            callee: Some(num.clone()),
            limit: 100,
            ..RecordQuery::default()
        };
        let t = Instant::now();
        let got = b.records.search(&q).await;
        lat.push(t.elapsed());
        let got = got.unwrap_or_else(|e| panic!("{}: search {num}: {e}", b.name));
        let want: Vec<String> = i
            .map(|i| data.of(Party::Callee, i))
            .unwrap_or_default()
            .iter()
            .rev()
            .take(100)
            .map(|&k| call_id(u64::from(k)))
            .collect();
        let ids: Vec<&str> = got.iter().map(|r| r.call_id.as_str()).collect();
        out.checked += 1;
        if ids != want {
            out.problems.push(format!(
                "{}: search callee {num}: got {ids:?}, want {want:?}",
                b.name
            ));
        }
    }
    out.rows.push(("search by callee, 100 newest".into(), lat));
    out
}

/// What PostgreSQL holds after the load (after a `VACUUM ANALYZE`, which autovacuum
/// would run on its own soon after such a load).
#[derive(Debug)]
struct PgInfo {
    vacuum_s: f64,
    bytes: u64,
    partitions: Vec<String>,
}

async fn pg_settle(url: &str, schema: &str) -> PgInfo {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL connection for VACUUM");
    tokio::spawn(conn);
    let t = Instant::now();
    client
        .batch_execute(&format!("VACUUM (ANALYZE) {schema}.call_records"))
        .await
        .expect("VACUUM ANALYZE");
    let vacuum_s = t.elapsed().as_secs_f64();
    let bytes: i64 = client
        .query_one(
            &format!(
                "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0)::bigint \
                 FROM pg_inherits WHERE inhparent = '{schema}.call_records'::regclass"
            ),
            &[],
        )
        .await
        .expect("partition sizes")
        .get(0);
    let rows = client
        .query(
            &format!(
                "SELECT c.relname::text, count(*) FROM {schema}.call_records r \
                 JOIN pg_class c ON c.oid = r.tableoid GROUP BY 1 ORDER BY 1"
            ),
            &[],
        )
        .await
        .expect("rows per partition");
    let partitions = rows
        .iter()
        .map(|r| format!("{} {}", r.get::<_, String>(0), r.get::<_, i64>(1)))
        .collect();
    PgInfo {
        vacuum_s,
        bytes: u64::try_from(bytes).unwrap_or(0),
        partitions,
    }
}

// === Report ===

/// p50, p99 and max (nearest rank).
fn percentiles(v: &[Duration]) -> (Duration, Duration, Duration) {
    let mut s = v.to_vec();
    s.sort_unstable();
    let at = |p: f64| {
        let rank = ((p * s.len() as f64).ceil() as usize).clamp(1, s.len().max(1));
        s.get(rank - 1).copied().unwrap_or_default()
    };
    (at(0.50), at(0.99), s.last().copied().unwrap_or_default())
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn print_report(plan: &Plan, lite: &Measured, pg: &Measured) {
    println!();
    println!(
        "{:<34}{:>12}{:>12}",
        "writes (records/s)", "sqlite", "postgres"
    );
    let writes = [
        (
            format!("batch {RECORDER_BATCH}, {} records", plan.records),
            lite.load.batch_rate,
            pg.load.batch_rate,
        ),
        (
            format!("batch {RECORDER_BATCH}, last tenth"),
            lite.load.tail_rate,
            pg.load.tail_rate,
        ),
        (
            format!("batch 1, {} records", plan.singles),
            lite.load.single_rate,
            pg.load.single_rate,
        ),
    ];
    for (name, a, b) in writes {
        println!("  {name:<32}{a:>12.0}{b:>12.0}");
    }
    println!();
    println!(
        "{:<34}{:>10}{:>9}{:>9} |{:>10}{:>9}{:>9}",
        "latency (ms)", "sqlite p50", "p99", "max", "pg p50", "p99", "max"
    );
    let mut rows = vec![
        (
            format!("insert batch {RECORDER_BATCH}"),
            &lite.load.batch_lat,
            &pg.load.batch_lat,
        ),
        (
            "insert batch 1".into(),
            &lite.load.single_lat,
            &pg.load.single_lat,
        ),
    ];
    for ((name, a), (_, b)) in lite.queries.rows.iter().zip(&pg.queries.rows) {
        rows.push((name.clone(), a, b));
    }
    for (name, a, b) in rows {
        let (a50, a99, amax) = percentiles(a);
        let (b50, b99, bmax) = percentiles(b);
        println!(
            "  {name:<32}{:>10}{:>9}{:>9} |{:>10}{:>9}{:>9}",
            ms(a50),
            ms(a99),
            ms(amax),
            ms(b50),
            ms(b99),
            ms(bmax)
        );
    }
    println!();
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Drops the benchmark's PostgreSQL schema when dropped (from a thread of its own, so it
/// works inside or outside a runtime).
#[derive(Debug)]
struct SchemaGuard {
    url: String,
    name: String,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                    .await
                    .map_err(|e| e.to_string())
            })
        });
        match done.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop schema {}: {e}", self.name),
            Err(_) => eprintln!("could not drop schema {}: the task panicked", self.name),
        }
    }
}
