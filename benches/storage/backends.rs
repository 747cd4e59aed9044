//! The measurements: loading records into a store and timing its queries (each answer
//! checked), and what PostgreSQL needs around them (settling after the load, dropping
//! the benchmark's schema).

use std::sync::Arc;
use std::time::Duration;

use e173gw_core::ports::{HistoryStore, Party, RecordQuery, RecordStore};
use e173gw_core::record::CallRecord;
use tokio::time::Instant;

use crate::data::{call_id, Data, Rng};
use crate::report::percentiles;
use crate::{Plan, END_MS, RECORDER_BATCH, SHORT_CALL_MS, WINDOWS};

/// One store under test.
pub(crate) struct Backend {
    pub(crate) name: &'static str,
    pub(crate) records: Arc<dyn RecordStore>,
    pub(crate) history: Arc<dyn HistoryStore>,
}

/// Write figures.
#[derive(Debug, Default)]
pub(crate) struct Load {
    /// Records/s over all recorder-sized batches (time inside `insert` only).
    pub(crate) batch_rate: f64,
    /// Records/s over the last tenth of them (the table nearly full).
    pub(crate) tail_rate: f64,
    /// Records/s inserted one by one.
    pub(crate) single_rate: f64,
    /// Latency of one `insert` call, per batch size.
    pub(crate) batch_lat: Vec<Duration>,
    /// Latency of one single-record `insert`.
    pub(crate) single_lat: Vec<Duration>,
    pub(crate) problems: Vec<String>,
}

/// Query latencies, one row per query kind.
#[derive(Debug, Default)]
pub(crate) struct Queries {
    pub(crate) rows: Vec<(String, Vec<Duration>)>,
    pub(crate) checked: usize,
    pub(crate) problems: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct Measured {
    pub(crate) load: Load,
    pub(crate) queries: Queries,
}

impl Measured {
    /// The smoke run's checks on the figures themselves.
    pub(crate) fn assert_sane(&self) {
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
pub(crate) async fn load(b: &Backend, plan: &Plan, data: &Data) -> Load {
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
pub(crate) async fn queries(b: &Backend, plan: &Plan, data: &Data) -> Queries {
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
pub(crate) struct PgInfo {
    pub(crate) vacuum_s: f64,
    pub(crate) bytes: u64,
    pub(crate) partitions: Vec<String>,
}

pub(crate) async fn pg_settle(url: &str, schema: &str) -> PgInfo {
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

/// Drops the benchmark's PostgreSQL schema when dropped (from a thread of its own, so it
/// works inside or outside a runtime).
#[derive(Debug)]
pub(crate) struct SchemaGuard {
    pub(crate) url: String,
    pub(crate) name: String,
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
