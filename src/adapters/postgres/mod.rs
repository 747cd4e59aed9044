//! PostgreSQL: call records (partitioned by month), history, blacklist, inventory.
//!
//! [`PgStore`] implements [`RecordStore`](e173gw_core::ports::RecordStore),
//! [`HistoryStore`](e173gw_core::ports::HistoryStore),
//! [`BlacklistStore`](e173gw_core::ports::BlacklistStore) and
//! [`InventoryStore`](e173gw_core::ports::InventoryStore) over a deadpool-postgres pool.
//! Sticky routes, counters and the cache live in Redis (`super::redis`).
//!
//! # Layout
//!
//! - `error.rs`: driver and pool errors to [`StoreError`] (time-outs and lost connections
//!   are `Unavailable`, bad data `Invalid`).
//! - `records.rs`: call records and their monthly partitions.
//! - `history.rs`: per-number aggregates over the records.
//! - `blacklist.rs`, `inventory.rs`: the other tables.
//! - `migrations/postgres/V*.sql` (at the repository root): the versioned schema, applied
//!   with refinery; its history table lives in the gateway's schema too.
//!
//! Every pooled connection has `search_path` set to the gateway's schema and a
//! `statement_timeout` of the configured timeout: a slow database counts as down.

mod blacklist;
mod error;
mod history;
mod inventory;
mod messages;
mod records;

#[cfg(test)]
pub(crate) mod tests;

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use e173gw_core::ports::StoreError;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use error::{pg_error, pool_error};

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// Name of refinery's history table (in the gateway's schema).
const MIGRATION_TABLE: &str = "refinery_schema_history";

/// How long the `migrate` command waits for the server to accept a connection.
const MIGRATE_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How often operations retry the start-up check while the server is unreachable.
const PREPARE_RETRY: Duration = Duration::from_secs(1);

/// One migration applied by [`migrate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// Version (the `N` of `VN__name.sql`).
    pub version: i64,
    /// Name (the `name` of `VN__name.sql`).
    pub name: String,
}

/// What a migration run did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MigrationReport {
    /// Migrations applied by this run, in order (empty when the schema was up to date).
    pub applied: Vec<AppliedMigration>,
    /// The schema's version after the run (`None`: no migration at all).
    pub version: Option<i64>,
}

impl std::fmt::Display for MigrationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.applied.is_empty() {
            f.write_str("no migration to apply")?;
        } else {
            f.write_str("applied")?;
            for (i, m) in self.applied.iter().enumerate() {
                let sep = if i == 0 { " " } else { ", " };
                write!(f, "{sep}V{}__{}", m.version, m.name)?;
            }
        }
        match self.version {
            Some(v) => write!(f, "; schema at version {v}"),
            None => f.write_str("; schema has no migration"),
        }
    }
}

/// The PostgreSQL store: a connection pool bound to one schema.
pub struct PgStore {
    /// Connections with the schema's `search_path` and the statement timeout.
    pool: Pool,
    /// Bound on a whole operation (pool wait plus its statements), against hangs the
    /// statement timeout cannot see (a server that stopped answering).
    op_timeout: Duration,
    /// Months (see `records::month_index`) whose partition is known to exist.
    partitions: Mutex<HashSet<i64>>,
    /// Whether the start-up check (migrations, or the schema version) has passed.
    ready: AtomicBool,
    /// That check, retried by operations until it passes.
    prepare: Prepare,
}

/// The start-up check of a [`PgStore`]: apply pending migrations, or check that the schema
/// has them all. Until it passes, every operation is [`StoreError::Unavailable`] (so the
/// recorder keeps records in its spool) and retries it at most once per [`PREPARE_RETRY`].
struct Prepare {
    /// The server, without the pool's options.
    base: tokio_postgres::Config,
    schema: String,
    migrate: bool,
    timeout: Duration,
    /// When the check last failed, and why (`None`: not tried since the last success).
    last_failure: tokio::sync::Mutex<Option<(tokio::time::Instant, String)>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("status", &self.pool.status())
            .field("op_timeout", &self.op_timeout)
            .finish_non_exhaustive()
    }
}

// === impl PgStore ===

impl PgStore {
    /// Opens a pool of at most `pool_size` connections to `url`, every one working in
    /// `schema` (created when missing) with a statement timeout of `timeout`. With
    /// `migrate`, pending migrations are applied first; without, the schema must already
    /// have them all. A malformed URL or schema name is [`StoreError::Invalid`], a schema
    /// behind this build (or a failed migration) [`StoreError::Backend`].
    ///
    /// An unreachable or slow server is not an error here: the store opens anyway (the
    /// gateway takes calls while the database is down, as it does during an outage) and
    /// its operations are [`StoreError::Unavailable`] until the check passes.
    pub async fn connect(
        url: &str,
        schema: &str,
        pool_size: usize,
        timeout: Duration,
        migrate: bool,
    ) -> Result<Arc<PgStore>, StoreError> {
        check_schema(schema)?;
        let timeout = timeout.max(Duration::from_millis(1));
        let mut base = parse_url(url)?;
        base.connect_timeout(timeout);
        let mut pooled = base.clone();
        add_options(
            &mut pooled,
            &format!(
                "-c search_path={schema} -c statement_timeout={}",
                timeout.as_millis()
            ),
        );
        let manager = Manager::from_config(
            pooled,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .build()
            .map_err(|e| StoreError::Backend(format!("connection pool: {e}")))?;
        let store = Arc::new(PgStore {
            pool,
            op_timeout: timeout.saturating_mul(4),
            partitions: Mutex::new(HashSet::new()),
            ready: AtomicBool::new(false),
            prepare: Prepare {
                base,
                schema: schema.to_owned(),
                migrate,
                timeout,
                last_failure: tokio::sync::Mutex::new(None),
            },
        });
        match store.prepare_once().await {
            Ok(()) => {
                store.ready.store(true, Ordering::Release);
                tracing::debug!(schema, pool_size, "PostgreSQL store ready.");
            }
            Err(StoreError::Unavailable(why)) => {
                tracing::warn!(
                    schema,
                    error = %why,
                    "PostgreSQL is not answering; starting without it: call records wait in the spool until it does."
                );
                *store.prepare.last_failure.lock().await = Some((tokio::time::Instant::now(), why));
            }
            Err(e) => return Err(e),
        }
        Ok(store)
    }

    /// Whether the start-up check has passed (the server answered since start).
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// The start-up check, once: migrations or the version check.
    async fn prepare_once(&self) -> Result<(), StoreError> {
        let p = &self.prepare;
        if p.migrate {
            return run_migrations(p.base.clone(), &p.schema, p.timeout)
                .await
                .map(drop);
        }
        let check = async {
            let client = self.client().await?;
            ensure_schema(&client, &p.schema).await?;
            check_version(&client, &p.schema).await
        };
        tokio::time::timeout(self.op_timeout, check)
            .await
            .map_err(|_| StoreError::Unavailable("PostgreSQL did not answer in time".into()))?
    }

    /// Passes once the start-up check has; until then retries it (at most once per
    /// [`PREPARE_RETRY`], one caller at a time) and is `Unavailable` while it fails.
    async fn ensure_ready(&self) -> Result<(), StoreError> {
        if self.is_ready() {
            return Ok(());
        }
        let not_ready = |why: &str| StoreError::Unavailable(format!("PostgreSQL not ready: {why}"));
        let Ok(mut last) = self.prepare.last_failure.try_lock() else {
            return Err(not_ready("start-up check in progress"));
        };
        if self.is_ready() {
            return Ok(());
        }
        if let Some((at, why)) = last.as_ref() {
            if at.elapsed() < PREPARE_RETRY {
                return Err(not_ready(why));
            }
        }
        match self.prepare_once().await {
            Ok(()) => {
                self.ready.store(true, Ordering::Release);
                *last = None;
                tracing::info!(schema = %self.prepare.schema, "PostgreSQL answers; the store is ready.");
                Ok(())
            }
            Err(e) => {
                let why = match e {
                    StoreError::Unavailable(m)
                    | StoreError::Invalid(m)
                    | StoreError::Backend(m) => m,
                };
                let err = not_ready(&why);
                *last = Some((tokio::time::Instant::now(), why));
                Err(err)
            }
        }
    }

    /// A pooled connection.
    async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }

    /// Runs one statement (prepared once per connection) on a pooled connection, within
    /// the store's overall bound, and returns its rows.
    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        self.run(async {
            let client = self.client().await?;
            let stmt = client.prepare_cached(sql).await.map_err(|e| pg_error(&e))?;
            client.query(&stmt, params).await.map_err(|e| pg_error(&e))
        })
        .await
    }

    /// Runs one statement as [`query`](Self::query) does; returns how many rows it changed.
    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        self.run(async {
            let client = self.client().await?;
            let stmt = client.prepare_cached(sql).await.map_err(|e| pg_error(&e))?;
            client
                .execute(&stmt, params)
                .await
                .map_err(|e| pg_error(&e))
        })
        .await
    }

    /// Runs one operation within the store's overall bound, once the store is ready.
    async fn run<T>(
        &self,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.ensure_ready().await?;
        tokio::time::timeout(self.op_timeout, op)
            .await
            .map_err(|_| StoreError::Unavailable("PostgreSQL did not answer in time".into()))?
    }
}

/// Applies pending migrations to `schema` (created when missing) at `url`, on a connection
/// of its own without a statement timeout. Several gateways may run it at once: one
/// applies, the others wait and find nothing to do.
pub async fn migrate(url: &str, schema: &str) -> Result<MigrationReport, StoreError> {
    check_schema(schema)?;
    let mut cfg = parse_url(url)?;
    cfg.connect_timeout(MIGRATE_CONNECT_TIMEOUT);
    run_migrations(cfg, schema, MIGRATE_CONNECT_TIMEOUT).await
}

/// Connects without the pool (giving up after `connect_timeout`, handshake included) and
/// runs refinery under a per-schema advisory lock.
async fn run_migrations(
    mut cfg: tokio_postgres::Config,
    schema: &str,
    connect_timeout: Duration,
) -> Result<MigrationReport, StoreError> {
    add_options(&mut cfg, &format!("-c search_path={schema}"));
    let (mut client, connection) = tokio::time::timeout(connect_timeout, cfg.connect(NoTls))
        .await
        .map_err(|_| StoreError::Unavailable("PostgreSQL did not answer in time".into()))?
        .map_err(|e| match pg_error(&e) {
            StoreError::Backend(m) => StoreError::Unavailable(m),
            other => other,
        })?;
    let conn_task = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "Migration connection closed.");
        }
    });
    let result = async {
        migration_lock(&client, "pg_advisory_lock", schema).await?;
        ensure_schema(&client, schema).await?;
        let mut runner = embedded::migrations::runner();
        runner.set_migration_table_name(MIGRATION_TABLE);
        let report = runner
            .run_async(&mut client)
            .await
            .map_err(|e| refinery_error(&e))?;
        let last = runner
            .get_last_applied_migration_async(&mut client)
            .await
            .map_err(|e| refinery_error(&e))?;
        migration_lock(&client, "pg_advisory_unlock", schema).await?;
        let applied: Vec<AppliedMigration> = report
            .applied_migrations()
            .iter()
            .map(|m| AppliedMigration {
                version: i64::from(m.version()),
                name: m.name().to_string(),
            })
            .collect();
        for m in &applied {
            tracing::info!(schema, version = m.version, name = %m.name, "Applied migration.");
        }
        Ok(MigrationReport {
            applied,
            version: last.map(|m| i64::from(m.version())),
        })
    }
    .await;
    drop(client);
    conn_task.abort();
    result
}

/// Takes (`pg_advisory_lock`) or releases (`pg_advisory_unlock`) the session lock that
/// keeps migration runs on `schema` one at a time.
async fn migration_lock(
    client: &tokio_postgres::Client,
    function: &str,
    schema: &str,
) -> Result<(), StoreError> {
    client
        .execute(
            &format!("SELECT {function}(hashtext('e173gw.migrate.' || $1::text))"),
            &[&schema],
        )
        .await
        .map_err(|e| pg_error(&e))?;
    Ok(())
}

/// Creates `schema` when it does not exist (checking first, so a user without the right
/// to create schemas can use one made for it).
async fn ensure_schema(client: &tokio_postgres::Client, schema: &str) -> Result<(), StoreError> {
    let exists = client
        .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
        .await
        .map_err(|e| pg_error(&e))?
        .is_some();
    if !exists {
        client
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .await
            .map_err(|e| pg_error(&e))?;
    }
    Ok(())
}

/// Fails when `schema` lacks migrations this build has (`e173gw migrate` must run first).
async fn check_version(client: &tokio_postgres::Client, schema: &str) -> Result<(), StoreError> {
    let want = embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max();
    let has_table: bool = client
        .query_one(
            &format!("SELECT to_regclass('{MIGRATION_TABLE}') IS NOT NULL"),
            &[],
        )
        .await
        .map_err(|e| pg_error(&e))
        .and_then(|r| error::col(&r, 0))?;
    let have: Option<i64> = if has_table {
        let row = client
            .query_one(
                &format!("SELECT max(version)::int8 FROM {MIGRATION_TABLE}"),
                &[],
            )
            .await
            .map_err(|e| pg_error(&e))?;
        error::col(&row, 0)?
    } else {
        None
    };
    if have < want {
        return Err(StoreError::Backend(format!(
            "schema {schema} is at version {} but this build needs {}: run `e173gw migrate`",
            have.map_or_else(|| "none".to_string(), |v| v.to_string()),
            want.unwrap_or(0)
        )));
    }
    Ok(())
}

/// Maps a migration failure: connection trouble is `Unavailable`, the rest `Backend`.
fn refinery_error(e: &refinery::Error) -> StoreError {
    if let refinery::error::Kind::Connection(msg, source) = e.kind() {
        if let Some(pg) = source.downcast_ref::<tokio_postgres::Error>() {
            return match pg_error(pg) {
                StoreError::Backend(m) => StoreError::Backend(format!("{msg}: {m}")),
                other => other,
            };
        }
    }
    StoreError::Backend(format!("migration: {e}"))
}

/// Parses a `postgres://` URL (or key=value string).
fn parse_url(url: &str) -> Result<tokio_postgres::Config, StoreError> {
    let mut cfg: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Invalid(format!("PostgreSQL URL: {e}")))?;
    if cfg.get_application_name().is_none() {
        cfg.application_name("e173gw");
    }
    Ok(cfg)
}

/// Appends server options to the connection's (keeping any the URL set).
fn add_options(cfg: &mut tokio_postgres::Config, extra: &str) {
    let options = match cfg.get_options() {
        Some(o) if !o.trim().is_empty() => format!("{o} {extra}"),
        _ => extra.to_string(),
    };
    cfg.options(options);
}

/// A schema name is interpolated into SQL: only lower-case letters, digits and `_`, not
/// starting with a digit, at most 63 bytes (as the configuration demands).
fn check_schema(schema: &str) -> Result<(), StoreError> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !schema.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "schema name {schema:?}: lower-case letters, digits and '_', not starting with a digit"
        )))
    }
}
