//! PostgreSQL store tests, against the machine's real server (`E173GW_TEST_PG_URL`,
//! default `postgres://postgres@127.0.0.1:5432/test`). Each test works in a schema of its
//! own, dropped when the test ends (even when it fails).

mod other;
pub(crate) mod proxy;
mod records;

#[path = "../../../../tests/storage_contract/fixture.rs"]
mod fixture;
pub(super) use fixture::rec;

use std::sync::Arc;
use std::time::Duration;

use e173gw_core::ports::StoreError;

use super::{migrate, PgStore};
use proxy::{closed_port, Proxy};

/// 2026-11-22T18:00:00Z.
pub(super) const T0: u64 = 1_795_370_400_000;
pub(super) const MIN: u64 = 60_000;
pub(super) const DAY: u64 = 86_400_000;

pub(super) fn pg_url() -> String {
    std::env::var("E173GW_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A schema name no other test uses.
pub(super) fn unique_schema(tag: &str) -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("pgt_{tag}_{}_{n}_{t}", std::process::id())
}

/// Another store on an existing `schema`, without migrating.
pub(super) async fn reconnect(schema: &str, timeout: Duration) -> Result<Arc<PgStore>, StoreError> {
    PgStore::connect(&pg_url(), schema, 1, timeout, false).await
}

/// A store in a fresh, migrated schema; drops the schema when dropped.
pub(super) struct TestDb {
    pub(super) store: Arc<PgStore>,
    pub(super) schema: String,
}

impl TestDb {
    pub(super) async fn new(tag: &str) -> TestDb {
        let schema = unique_schema(tag);
        let store = PgStore::connect(&pg_url(), &schema, 4, Duration::from_secs(5), true)
            .await
            .expect("PostgreSQL (is it running?)");
        TestDb { store, schema }
    }

    /// Runs SQL in the schema and returns the rows.
    pub(super) async fn sql(&self, query: &str) -> Vec<tokio_postgres::Row> {
        let client = self.store.client().await.expect("client");
        client.query(query, &[]).await.expect(query)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        drop_schema(self.schema.clone());
    }
}

/// Drops a schema from a thread of its own (callable from `Drop` inside a runtime).
pub(super) fn drop_schema(schema: String) {
    let done = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if let Ok((client, conn)) =
                tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls).await
            {
                tokio::spawn(conn);
                let _ = client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .await;
            }
        });
    });
    let _ = done.join();
}

#[tokio::test]
async fn migrate_twice_applies_once() {
    let schema = unique_schema("migrate");
    let first = migrate(&pg_url(), &schema).await;
    let second = migrate(&pg_url(), &schema).await;
    drop_schema(schema.clone());
    let first = first.expect("first run");
    assert_eq!(
        first.applied.first().map(|m| m.version),
        Some(1),
        "{first:?}"
    );
    assert_eq!(first.applied.first().map(|m| m.name.as_str()), Some("init"));
    let second = second.expect("second run");
    assert!(second.applied.is_empty(), "{second:?}");
    assert_eq!(second.version, first.version);
    assert!(second.version >= Some(1));
    assert!(first.to_string().starts_with("applied V1__init"), "{first}");
    assert!(
        second
            .to_string()
            .starts_with("no migration to apply; schema at version"),
        "{second}"
    );
}

/// The migrations in `migrations/postgres/`.
fn migration_count() -> usize {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .map(|d| d.filter(|e| e.is_ok()).count())
        .unwrap_or(0)
}

#[tokio::test]
async fn migrations_run_once_under_concurrent_starts() {
    let schema = unique_schema("race");
    let runs: Vec<_> = (0..3)
        .map(|_| {
            let s = schema.clone();
            tokio::spawn(async move { migrate(&pg_url(), &s).await })
        })
        .collect();
    let mut applied = 0;
    let mut failures = Vec::new();
    for r in runs {
        match r.await.expect("task") {
            Ok(report) => applied += report.applied.len(),
            Err(e) => failures.push(e),
        }
    }
    drop_schema(schema);
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(
        applied,
        migration_count(),
        "one run applies every migration, the others find them done"
    );
}

#[tokio::test]
async fn connect_creates_the_schema_and_the_history_table_lives_in_it() {
    let db = TestDb::new("schema").await;
    let rows = db
        .sql(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY 1",
        )
        .await;
    let tables: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    for t in [
        "blacklist",
        "call_records",
        "call_records_default",
        "modems",
        "refinery_schema_history",
        "sims",
    ] {
        assert!(tables.iter().any(|x| x == t), "{t} in {tables:?}");
    }
    // A second store on the same schema, without migrating, works on the same tables.
    let again = reconnect(&db.schema, Duration::from_secs(5))
        .await
        .expect("connect");
    assert!(again.client().await.is_ok());
}

#[tokio::test]
async fn connect_without_migrating_refuses_an_unmigrated_schema() {
    let schema = unique_schema("unmigrated");
    let r = reconnect(&schema, Duration::from_secs(5)).await;
    let report = migrate(&pg_url(), &schema).await;
    let after = reconnect(&schema, Duration::from_secs(5)).await;
    drop_schema(schema);
    match r {
        Err(StoreError::Backend(m)) => assert!(m.contains("e173gw migrate"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(report.expect("migrate").applied.len(), migration_count());
    assert!(after.is_ok(), "{after:?}");
}

#[tokio::test]
async fn bad_urls_and_schema_names_are_invalid() {
    for schema in ["", "Upper", "1st", "drop table x;--", &"x".repeat(64)] {
        let r = PgStore::connect(&pg_url(), schema, 1, Duration::from_secs(1), false).await;
        assert!(
            matches!(r, Err(StoreError::Invalid(_))),
            "{schema:?}: {r:?}"
        );
    }
    let r = PgStore::connect("postgres://[::1", "x", 1, Duration::from_secs(1), false).await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    assert!(matches!(
        migrate(&pg_url(), "Bad").await,
        Err(StoreError::Invalid(_))
    ));
}

/// Against `url`, with and without migrating: the store opens in time without the server,
/// and its operations are `Unavailable` in time, both from the last failed check (within
/// the retry interval) and from a new one.
async fn down_at_start_is_unavailable_within_the_timeout(url: &str) {
    use e173gw_core::ports::RecordStore;

    for migrate in [true, false] {
        let started = tokio::time::Instant::now();
        let store = PgStore::connect(url, "x", 1, Duration::from_millis(300), migrate)
            .await
            .expect("opens without the server");
        assert!(!store.is_ready());
        assert!(started.elapsed() < Duration::from_secs(3));
        for _ in 0..2 {
            let started = tokio::time::Instant::now();
            let r = store.get("x").await;
            match r {
                Err(StoreError::Unavailable(m)) => assert!(m.contains("not ready"), "{m}"),
                other => panic!("{other:?}"),
            }
            assert!(started.elapsed() < Duration::from_secs(3));
            tokio::time::sleep(super::PREPARE_RETRY).await;
        }
    }
}

#[tokio::test]
async fn a_closed_port_is_unavailable_within_the_timeout() {
    let url = format!("postgres://postgres@127.0.0.1:{}/test", closed_port());
    down_at_start_is_unavailable_within_the_timeout(&url).await;
    let r = migrate(&url, "x").await;
    assert!(matches!(r, Err(StoreError::Unavailable(_))), "{r:?}");
}

#[tokio::test]
async fn a_store_opened_while_the_server_is_down_migrates_and_serves_once_it_is_up() {
    use e173gw_core::ports::RecordStore;

    let cfg: tokio_postgres::Config = pg_url().parse().expect("url");
    let port = closed_port();
    let url = format!(
        "host=127.0.0.1 port={port} user={} dbname={}",
        cfg.get_user().unwrap_or("postgres"),
        cfg.get_dbname().unwrap_or("test")
    );
    let schema = unique_schema("late");
    let store = PgStore::connect(&url, &schema, 2, Duration::from_millis(500), true)
        .await
        .expect("opens without the server");
    let r = store
        .insert(&[rec("late@x", "1", "2", T0, 200, 1000)])
        .await;
    assert!(matches!(r, Err(StoreError::Unavailable(_))), "{r:?}");

    // The server comes up (behind a proxy on the port the store was given).
    let real = match cfg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".into(),
    };
    let _up = Proxy::start_on(
        port,
        (
            real.as_str(),
            cfg.get_ports().first().copied().unwrap_or(5432),
        ),
    )
    .await;
    tokio::time::sleep(super::PREPARE_RETRY).await;
    let r = store
        .insert(&[rec("late@x", "1", "2", T0, 200, 1000)])
        .await;
    let got = store.get("late@x").await;
    let ready = store.is_ready();
    drop(store);
    drop_schema(schema);
    assert!(r.is_ok(), "{r:?}");
    assert!(ready);
    assert_eq!(got.expect("get").map(|r| r.talk_ms), Some(1000));
}

#[tokio::test]
async fn a_server_that_never_answers_is_unavailable_within_the_timeout() {
    // Accepts connections and says nothing.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/test",
        silent.local_addr().expect("addr").port()
    );
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    down_at_start_is_unavailable_within_the_timeout(&url).await;
    hold.abort();
}

#[tokio::test]
async fn a_slow_statement_and_a_silent_connection_are_unavailable() {
    use e173gw_core::ports::RecordStore;

    let db = TestDb::new("slow").await;
    // The statement timeout applies to pooled connections.
    let slow = reconnect(&db.schema, Duration::from_millis(200))
        .await
        .expect("connect");
    let client = slow.client().await.expect("client");
    let e = client
        .query("SELECT pg_sleep(2)", &[])
        .await
        .expect_err("statement timeout");
    let mapped = super::error::pg_error(&e);
    assert!(mapped.is_retryable(), "{mapped:?}");
    drop(client);

    // A server that stops answering mid-session.
    let cfg: tokio_postgres::Config = pg_url().parse().expect("url");
    let host = match cfg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".into(),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    let proxy = Proxy::start((host.as_str(), port)).await;
    let url = format!(
        "host={} port={} user={} dbname={}",
        proxy.addr.ip(),
        proxy.addr.port(),
        cfg.get_user().unwrap_or("postgres"),
        cfg.get_dbname().unwrap_or("test")
    );
    let store = PgStore::connect(&url, &db.schema, 1, Duration::from_millis(200), false)
        .await
        .expect("connect through the proxy");
    assert_eq!(store.get("x").await.expect("get"), None);
    proxy.freeze();
    let started = tokio::time::Instant::now();
    let r = store.get("x").await;
    assert!(matches!(r, Err(StoreError::Unavailable(_))), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}
