//! `e173gw migrate`, and start-up against a database that is not migrated.

mod common;

use std::process::{Command, Output};

use common::*;

fn pg_url() -> String {
    std::env::var("E173GW_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn psql(sql: &str) -> String {
    common::services::psql(&pg_url(), sql)
}

fn e173gw(args: &[&str], cfg: &std::path::Path) -> Output {
    Command::new(bin())
        .args(args)
        .arg("--config")
        .arg(cfg)
        .env("E173GW_LOG__FORMAT", "json")
        .output()
        .expect("run e173gw")
}

/// A schema of this test's own, dropped at the end.
struct Schema(String);

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-X", "-q", "-d", &pg_url(), "-c"])
            .arg(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0))
            .output();
    }
}

#[test]
fn migrate_creates_the_embedded_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = write_config(dir.path(), "[storage]\nsqlite_path = \"data/gw.db\"\n");
    let out = e173gw(&["migrate"], &cfg);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = dir.path().join("data/gw.db");
    let c = rusqlite::Connection::open(&db).expect("open");
    let n: i64 = c
        .query_row("SELECT count(*) FROM call_records", [], |r| r.get(0))
        .expect("call_records exists");
    assert_eq!(n, 0);
}

#[test]
fn migrate_then_start_without_automatic_migration() {
    let schema = Schema(format!("cli_migrate_{}", std::process::id()));
    let dir = tempfile::tempdir().expect("tmp");
    let body = format!(
        "[storage]\nbackend = \"production\"\npostgres_url = \"{}\"\npostgres_schema = \"{}\"\nredis_prefix = \"{}:\"\nmigrate_on_start = false\n[sip]\nlisten = [\"udp:127.0.0.1:0\"]\n",
        pg_url(),
        schema.0,
        schema.0
    );
    let cfg = write_config(dir.path(), &body);

    // Not migrated and not allowed to migrate: the gateway refuses to start, saying why.
    let out = e173gw(&["run"], &cfg);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("e173gw migrate"), "{err}");

    let out = e173gw(&["migrate"], &cfg);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("applied V1"), "{said}");
    let tables = psql(&format!(
        "SELECT count(*) FROM pg_tables WHERE schemaname = '{}' AND tablename = 'call_records'",
        schema.0
    ));
    assert_eq!(tables.trim(), "1");

    // A second run has nothing to do.
    let out = e173gw(&["migrate"], &cfg);
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(!said.contains("applied V"), "{said}");

    // Now the gateway starts.
    let mut gw = Running::start(&["run", "--config", cfg.to_str().expect("utf8")], &[]);
    gw.wait_for(
        "PostgreSQL and Redis storage opened.",
        1,
        std::time::Duration::from_secs(20),
    );
    gw.wait_for("SIP listener ready.", 1, std::time::Duration::from_secs(20));
    let (st, _) = gw.terminate(std::time::Duration::from_secs(15));
    assert!(st.success());
}
