//! The report: write rates and latency percentiles, one column group per store. A store
//! left out of the run (`E173GW_BENCH_BACKENDS`) shows `-` in its columns.

use std::time::Duration;

use crate::backends::Measured;
use crate::{Plan, RECORDER_BATCH};

/// p50, p99 and max (nearest rank).
pub(crate) fn percentiles(v: &[Duration]) -> (Duration, Duration, Duration) {
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

pub(crate) fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// A rate rounded to a whole record, or `-` for a store not run.
fn rate(r: Option<f64>) -> String {
    r.map_or_else(|| "-".into(), |r| format!("{r:.0}"))
}

/// p50, p99 and max in ms, or `-` three times for a store not run.
fn lat(v: Option<&Vec<Duration>>) -> [String; 3] {
    match v {
        Some(v) => {
            let (p50, p99, max) = percentiles(v);
            [ms(p50), ms(p99), ms(max)]
        }
        None => ["-".into(), "-".into(), "-".into()],
    }
}

/// Prints the writes table and the latency table (at least one store is given).
pub(crate) fn print_report(plan: &Plan, lite: Option<&Measured>, pg: Option<&Measured>) {
    println!();
    println!(
        "{:<34}{:>12}{:>12}",
        "writes (records/s)", "sqlite", "postgres"
    );
    let writes = [
        (
            format!("batch {RECORDER_BATCH}, {} records", plan.records),
            lite.map(|m| m.load.batch_rate),
            pg.map(|m| m.load.batch_rate),
        ),
        (
            format!("batch {RECORDER_BATCH}, last tenth"),
            lite.map(|m| m.load.tail_rate),
            pg.map(|m| m.load.tail_rate),
        ),
        (
            format!("batch 1, {} records", plan.singles),
            lite.map(|m| m.load.single_rate),
            pg.map(|m| m.load.single_rate),
        ),
    ];
    for (name, a, b) in writes {
        println!("  {name:<32}{:>12}{:>12}", rate(a), rate(b));
    }
    println!();
    println!(
        "{:<34}{:>10}{:>9}{:>9} |{:>10}{:>9}{:>9}",
        "latency (ms)", "sqlite p50", "p99", "max", "pg p50", "p99", "max"
    );
    let mut rows = vec![
        (
            format!("insert batch {RECORDER_BATCH}"),
            lite.map(|m| &m.load.batch_lat),
            pg.map(|m| &m.load.batch_lat),
        ),
        (
            "insert batch 1".into(),
            lite.map(|m| &m.load.single_lat),
            pg.map(|m| &m.load.single_lat),
        ),
    ];
    // Both stores answer the same query rows, in the same order.
    let names = lite.or(pg).map(|m| &m.queries.rows[..]).unwrap_or_default();
    for (i, (name, _)) in names.iter().enumerate() {
        rows.push((
            name.clone(),
            lite.map(|m| &m.queries.rows[i].1),
            pg.map(|m| &m.queries.rows[i].1),
        ));
    }
    for (name, a, b) in rows {
        let [a50, a99, amax] = lat(a);
        let [b50, b99, bmax] = lat(b);
        println!("  {name:<32}{a50:>10}{a99:>9}{amax:>9} |{b50:>10}{b99:>9}{bmax:>9}");
    }
    println!();
}

/// Bytes in the files directly under `dir`.
pub(crate) fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
