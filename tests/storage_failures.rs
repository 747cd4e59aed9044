//! Storage failures for real: throwaway PostgreSQL and Redis servers killed and restarted
//! during bursts of SIPp calls, and the gateway itself killed with SIGKILL. Whatever
//! happens, every call the gateway took ends up with exactly one record.

// These tests wait on external processes in real time; there is no clock to pause.
#![allow(clippy::disallowed_methods)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::gw::{Gateway, Options};
use common::services::{Postgres, Redis};
use common::sipp::{scenario, Background, Traced};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn production(pg: &Postgres, redis: &Redis) -> String {
    format!(
        r#"
[storage]
backend = "production"
postgres_url = "{}"
postgres_timeout_ms = 1000
redis_url = "{}"
redis_prefix = "t:"
redis_timeout_ms = 200
"#,
        pg.url(),
        redis.url()
    )
}

/// Record counts by Call-ID in the gateway's PostgreSQL.
fn pg_records(pg: &Postgres) -> BTreeMap<String, u64> {
    pg.query("SELECT call_id, count(*) FROM e173gw.call_records GROUP BY call_id")
        .lines()
        .filter_map(|l| {
            let (id, n) = l.split_once('|')?;
            Some((id.to_string(), n.parse().ok()?))
        })
        .collect()
}

/// Record counts by Call-ID in the gateway's SQLite file (read-only, beside the writer).
fn sqlite_records(db: &Path) -> BTreeMap<String, u64> {
    let Ok(c) = rusqlite::Connection::open_with_flags(
        db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return BTreeMap::new();
    };
    let Ok(mut st) = c.prepare("SELECT call_id, count(*) FROM call_records GROUP BY call_id")
    else {
        return BTreeMap::new();
    };
    st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))
        .map(|rows| rows.filter_map(Result::ok).collect())
        .unwrap_or_default()
}

/// SIPp calling the gateway: `calls` calls to one number at `rate` per second, each held
/// for `hold_ms` then hung up by the caller, at most `limit` at once.
fn burst(gw: &Gateway, rate: u32, calls: u32, hold_ms: u32, limit: u32) -> Background {
    let sc = scenario("uac_bye.xml");
    let (rate, calls, hold, limit) = (
        rate.to_string(),
        calls.to_string(),
        hold_ms.to_string(),
        limit.to_string(),
    );
    Background::caller(
        &[
            "-sf",
            sc.to_str().expect("utf8"),
            "-s",
            "5511912345678",
            "-r",
            &rate,
            "-m",
            &calls,
            "-d",
            &hold,
            "-l",
            &limit,
        ],
        gw.udp,
    )
}

/// Waits until `read` holds every Call-ID of `must`, then checks each has one record and
/// nothing else is there but Call-IDs of `may` (INVITEs sent that got no answer).
fn assert_one_record_each(
    what: &str,
    read: impl Fn() -> BTreeMap<String, u64>,
    t: &Traced,
    within: Duration,
) -> BTreeMap<String, u64> {
    let deadline = Instant::now() + within;
    let mut rows = read();
    while !t.answered.iter().all(|id| rows.contains_key(id)) && Instant::now() < deadline {
        sleep(Duration::from_millis(250));
        rows = read();
    }
    let missing: Vec<_> = t
        .answered
        .iter()
        .filter(|id| !rows.contains_key(*id))
        .collect();
    assert!(missing.is_empty(), "{what}: no record for {missing:?}");
    let doubled: Vec<_> = rows.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        doubled.is_empty(),
        "{what}: more than one record: {doubled:?}"
    );
    let foreign: Vec<_> = rows.keys().filter(|id| !t.invited.contains(*id)).collect();
    assert!(
        foreign.is_empty(),
        "{what}: records of calls never made: {foreign:?}"
    );
    rows
}

/// Waits for the log lines of `store` going down and coming back, and shows them all.
fn outage_logged(gw: &mut Gateway, store: &str, down: &str, back: &str) {
    gw.run.wait_for(&format!("{store} {down}"), 1, secs(10));
    gw.run.wait_for(&format!("{store} {back}"), 1, secs(30));
    let lines: Vec<_> = gw.run.seen.iter().filter(|l| l.contains(store)).collect();
    eprintln!("{store} outage: {lines:#?}");
}

/// The JSONL sink's Call-IDs, each with how often it appears.
fn jsonl_ids(gw: &Gateway) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for r in gw.records() {
        if let Some(id) = r["call_id"].as_str() {
            *m.entry(id.to_string()).or_insert(0) += 1;
        }
    }
    m
}

#[test]
fn postgres_killed_mid_burst_every_call_has_one_record() {
    let pg = Postgres::start();
    let redis = Redis::start();
    let mut gw = Gateway::start(Options {
        modems: 12,
        extra: production(&pg, &redis),
        ..Options::default()
    });
    let mut sipp = burst(&gw, 6, 72, 500, 10);
    sleep(secs(3));
    pg.kill();
    sleep(secs(3));
    assert_eq!(
        gw.metric("e173gw_record_store_degraded"),
        Some(1.0),
        "the outage shows in the metrics"
    );
    sleep(secs(1));
    pg.restart();
    let status = sipp.wait(secs(90)).expect("SIPp ends");
    let t = sipp.traced();
    assert!(status.success(), "calls go on while the database is down");
    assert_eq!(t.invited.len(), 72);
    assert_eq!(t.answered.len(), 72);
    assert_one_record_each("PostgreSQL", || pg_records(&pg), &t, secs(60));
    let lines = jsonl_ids(&gw);
    assert!(
        t.answered.iter().all(|id| lines.get(id) == Some(&1)),
        "the JSONL sink has each call once"
    );
    outage_logged(&mut gw, "Record store", "unavailable", "is back");
    assert_eq!(gw.metric("e173gw_record_store_degraded"), Some(0.0));
    assert_eq!(gw.metric("e173gw_records_backlog"), Some(0.0));
    assert_eq!(gw.metric("e173gw_records_delivered_total"), Some(72.0));
    assert_eq!(gw.metric("e173gw_calls_total"), Some(72.0));
    assert!(gw.metric("e173gw_record_store_failures_total") >= Some(1.0));
    let (st, _) = gw.run.terminate(secs(15));
    assert!(st.success());
}

#[test]
fn postgres_down_at_start_calls_go_on_and_records_land_when_it_comes_up() {
    let pg = Postgres::start();
    let redis = Redis::start();
    pg.kill();
    let mut gw = Gateway::start(Options {
        modems: 4,
        extra: production(&pg, &redis),
        ..Options::default()
    });
    gw.run.wait_for(
        "PostgreSQL is not answering; starting without it",
        1,
        secs(5),
    );
    let mut sipp = burst(&gw, 4, 12, 300, 4);
    let status = sipp.wait(secs(60)).expect("SIPp ends");
    let t = sipp.traced();
    assert!(status.success(), "calls go on without the database");
    assert_eq!(t.answered.len(), 12);
    // Every record waits in the spool; the outage shows.
    let deadline = Instant::now() + secs(10);
    while gw.metric("e173gw_records_backlog") != Some(12.0) && Instant::now() < deadline {
        sleep(Duration::from_millis(200));
    }
    assert_eq!(gw.metric("e173gw_records_backlog"), Some(12.0));
    assert_eq!(gw.metric("e173gw_record_store_degraded"), Some(1.0));
    assert_eq!(gw.metric("e173gw_records_delivered_total"), Some(0.0));

    pg.restart();
    gw.run
        .wait_for("PostgreSQL answers; the store is ready.", 1, secs(30));
    assert_one_record_each("PostgreSQL", || pg_records(&pg), &t, secs(30));
    assert_eq!(pg_records(&pg).len(), 12);
    // The modems' lifetime usage came in with the records.
    let usage = pg.query("SELECT sum(calls), sum(answered) FROM e173gw.modems");
    assert_eq!(usage.trim(), "12|12");
    let deadline = Instant::now() + secs(10);
    while gw.metric("e173gw_records_backlog") != Some(0.0) && Instant::now() < deadline {
        sleep(Duration::from_millis(200));
    }
    assert_eq!(gw.metric("e173gw_record_store_degraded"), Some(0.0));
    assert_eq!(gw.metric("e173gw_records_delivered_total"), Some(12.0));
    let (st, _) = gw.run.terminate(secs(15));
    assert!(st.success());
}

fn gateway_killed_mid_burst(pg: Option<&Postgres>, redis: Option<&Redis>) {
    let extra = match (pg, redis) {
        (Some(pg), Some(redis)) => production(pg, redis),
        _ => String::new(),
    };
    let mut gw = Gateway::start(Options {
        modems: 8,
        extra,
        ..Options::default()
    });
    let mut sipp = burst(&gw, 5, 200, 2500, 7);
    sleep(secs(5));
    gw.kill9();
    // Calls made after the kill reach nobody: stop the caller.
    sleep(Duration::from_millis(200));
    sipp.kill();
    let t = sipp.traced();
    assert!(
        t.answered.len() >= 10,
        "calls were taken before the kill: {}",
        t.answered.len()
    );
    let jsonl_before = jsonl_ids(&gw);
    gw.restart();
    gw.run.wait_for("recording it as interrupted", 1, secs(5));
    let db = gw.dir.path().join("e173gw.db");
    let rows = match pg {
        Some(pg) => assert_one_record_each("PostgreSQL", || pg_records(pg), &t, secs(60)),
        None => assert_one_record_each("SQLite", || sqlite_records(&db), &t, secs(60)),
    };
    let interrupted: BTreeSet<String> = gw
        .records()
        .into_iter()
        .filter(|r| r["end_reason"] == "interrupted")
        .filter_map(|r| r["call_id"].as_str().map(str::to_string))
        .collect();
    eprintln!(
        "killed: {} INVITEs sent, {} taken, {} records, {} interrupted",
        t.invited.len(),
        t.answered.len(),
        rows.len(),
        interrupted.len()
    );
    assert!(!interrupted.is_empty(), "calls were up at the kill");
    assert!(
        interrupted
            .iter()
            .all(|id| rows.contains_key(id) && !jsonl_before.contains_key(id)),
        "an interrupted record only for a call that had none"
    );
    let lines = jsonl_ids(&gw);
    assert!(
        lines.values().all(|n| *n == 1),
        "the JSONL sink has each call once across the restart"
    );
    let (st, _) = gw.run.terminate(secs(15));
    assert!(st.success());
}

#[test]
fn gateway_killed_mid_burst_embedded() {
    gateway_killed_mid_burst(None, None);
}

#[test]
fn gateway_killed_mid_burst_production() {
    let pg = Postgres::start();
    let redis = Redis::start();
    gateway_killed_mid_burst(Some(&pg), Some(&redis));
}

/// `uac_bye.xml` calling the number in the injection file's first field.
fn numbered_scenario(dir: &Path, numbers: &[String], repeat: usize) -> (String, String) {
    let sc = std::fs::read_to_string(scenario("uac_bye.xml"))
        .expect("scenario")
        .replace("[service]", "[field0]");
    let sc_path = dir.join("uac_numbers.xml");
    std::fs::write(&sc_path, sc).expect("write scenario");
    let mut csv = String::from("SEQUENTIAL\n");
    for _ in 0..repeat {
        for n in numbers {
            csv.push_str(&format!("{n};\n"));
        }
    }
    let csv_path = dir.join(format!("numbers{repeat}.csv"));
    std::fs::write(&csv_path, csv).expect("write numbers");
    (
        sc_path.to_string_lossy().into_owned(),
        csv_path.to_string_lossy().into_owned(),
    )
}

/// Modem of the last answered call to each number, from the records.
fn last_modem(gw: &Gateway) -> BTreeMap<String, String> {
    last_target(gw, "modem")
}

/// `target.<field>` of the last answered call to each number, from the records.
fn last_target(gw: &Gateway, field: &str) -> BTreeMap<String, String> {
    let mut recs = gw.records();
    recs.sort_by_key(|r| r["ended_ms"].as_u64().unwrap_or(0));
    let mut m = BTreeMap::new();
    for r in recs {
        if r["answered_ms"].is_u64() {
            if let (Some(n), Some(modem)) = (r["callee"].as_str(), r["target"][field].as_str()) {
                m.insert(n.to_string(), modem.to_string());
            }
        }
    }
    m
}

fn sum_keys(redis: &Redis, pattern: &str) -> i64 {
    redis
        .cli(&["--scan", "--pattern", pattern])
        .lines()
        .map(|k| redis.cli(&["GET", k]).trim().parse::<i64>().unwrap_or(0))
        .sum()
}

#[test]
fn redis_killed_mid_burst_sticky_routes_and_counters_recover() {
    let pg = Postgres::start();
    let mut redis = Redis::start();
    let mut gw = Gateway::start(Options {
        modems: 6,
        extra: production(&pg, &redis),
        ..Options::default()
    });
    let numbers: Vec<String> = (0..24).map(|i| format!("55119{:08}", 1000 + i)).collect();
    let run = |repeat: usize, rate: &str, limit: &str, gw: &Gateway| {
        let (sc, csv) = numbered_scenario(gw.dir.path(), &numbers, repeat);
        let total = (numbers.len() * repeat).to_string();
        Background::caller(
            &[
                "-sf", &sc, "-inf", &csv, "-r", rate, "-m", &total, "-d", "200", "-l", limit,
            ],
            gw.udp,
        )
    };

    // One call to each number, one at a time: each gets a sticky route.
    let mut first = run(1, "20", "1", &gw);
    assert!(first.wait(secs(90)).expect("SIPp ends").success());
    gw.wait_records(numbers.len(), secs(10));
    // Routes name the SIM (by IMSI), so they follow it to whichever modem holds it.
    let routes = last_target(&gw, "imsi");
    assert_eq!(routes.len(), numbers.len());
    let deadline = Instant::now() + secs(10);
    for (n, modem) in &routes {
        loop {
            let v = redis.cli(&["GET", &format!("t:sticky:{n}")]);
            if v.trim().ends_with(&format!("|{modem}")) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "sticky route of {n} in Redis: {v:?}"
            );
            sleep(Duration::from_millis(100));
        }
    }

    // Two more rounds, three at a time; Redis is killed in the middle and comes back empty.
    let mut burst = run(2, "8", "3", &gw);
    sleep(secs(2));
    redis.kill();
    sleep(secs(2));
    assert_eq!(
        gw.metric("e173gw_shared_store_degraded"),
        Some(1.0),
        "the outage shows in the metrics"
    );
    redis.restart();
    assert!(
        burst.wait(secs(90)).expect("SIPp ends").success(),
        "calls go on while Redis is down"
    );
    outage_logged(&mut gw, "Shared store", "unavailable", "is back");
    assert_eq!(gw.metric("e173gw_shared_store_degraded"), Some(0.0));
    assert_eq!(gw.metric("e173gw_shared_store_pending_writes"), Some(0.0));
    assert_eq!(gw.metric("e173gw_shared_store_outages_total"), Some(1.0));
    assert_eq!(gw.metric("e173gw_shared_store_resyncs_total"), Some(1.0));
    let (code, health) = gw.http_get("/healthz");
    assert_eq!(code, 200);
    assert!(health.contains("\"shared_store\":\"ok\""), "{health}");

    // Sticky routes survived: one more call to each number, one at a time, goes to the
    // modem of that number's last answered call.
    let expected = last_modem(&gw);
    let before = gw.records().len();
    let mut last = run(1, "20", "1", &gw);
    assert!(last.wait(secs(90)).expect("SIPp ends").success());
    let recs = gw.wait_records(before + numbers.len(), secs(10));
    for r in &recs[before..] {
        let n = r["callee"].as_str().unwrap_or_default();
        assert_eq!(
            r["target"]["modem"].as_str(),
            expected.get(n).map(String::as_str),
            "call to {n} follows its sticky route"
        );
    }

    // Counters: every call counted once per trunk and once per SIM, outage or not.
    let total = numbers.len() * 4;
    let deadline = Instant::now() + secs(15);
    loop {
        let trunk = sum_keys(&redis, "t:cnt:trunk:test:calls:d*");
        let sims = sum_keys(&redis, "t:cnt:sim:*:calls:d*");
        if trunk == total as i64 && sims == total as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "counters in Redis: trunk {trunk}, SIMs {sims}, calls {total}"
        );
        sleep(Duration::from_millis(250));
    }
    let t = Traced {
        invited: recs
            .iter()
            .filter_map(|r| r["call_id"].as_str().map(str::to_string))
            .collect(),
        answered: recs
            .iter()
            .filter_map(|r| r["call_id"].as_str().map(str::to_string))
            .collect(),
    };
    assert_one_record_each("PostgreSQL", || pg_records(&pg), &t, secs(30));
    let (st, _) = gw.run.terminate(secs(15));
    assert!(st.success());
}
