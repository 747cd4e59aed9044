//! Connections to the SQLite file: one writer, a few readers, and error mapping.
//!
//! Why a mutex-guarded writer instead of a dedicated writer thread: SQLite allows one
//! writer at a time anyway, and in WAL mode with `synchronous=NORMAL` a commit does not
//! wait for the disk, so a transaction takes microseconds and a queue in front of it would
//! only add a thread hop. Readers never wait for the writer (WAL gives each reader a
//! snapshot), so queries run in parallel on their own connections. Every use of a
//! connection happens inside `tokio::task::spawn_blocking` (see `SqliteStore::blocking`),
//! never on the actor threads.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use e173gw_core::ports::StoreError;
use rusqlite::{Connection, ErrorCode, OpenFlags};

mod embedded {
    #![allow(unreachable_pub, missing_docs)]
    refinery::embed_migrations!("migrations/sqlite");
}

/// How many read-only connections a file store keeps.
const READERS: usize = 4;
/// How long a statement waits for a lock held by another process before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Prepared statements cached per connection.
const STATEMENT_CACHE: usize = 64;
/// Page cache of the writer connection, in KiB (SQLite's default is 2 MiB).
///
/// Every insert updates a leaf page in each index whose key is random with respect to
/// arrival: the Call-ID primary key and the caller and callee history indexes (the
/// table, `received_ms`, trunk and modem indexes grow at their right edge). At a million
/// records those three indexes are about 180 MiB (55 MiB + 2 × 63 MiB); with 2 MiB
/// cached, almost every insert went back to the file (through the OS cache and the WAL
/// index) for a page of each, and batch throughput halved between 100k and 1M records.
/// 64 MiB keeps every interior page of those indexes and a good share of their leaves.
/// The writer is the only connection that changes the file, so its cache is never
/// invalidated and stays warm. SQLite allocates cache pages as they are used: a small
/// database costs little.
const WRITER_CACHE_KIB: i64 = 64 * 1024;
/// Page cache of each reader connection, in KiB.
///
/// A reader's cache is emptied whenever it starts a read after another connection
/// committed (WAL mode checks the WAL index at every read transaction), which on a
/// gateway taking calls is before most queries; so it only has to hold one query's
/// pages: a busy number's history is a few dozen index pages, a search of 100 records
/// a few hundred. 8 MiB is ample for that and keeps the readers (4 × 8 MiB) under the
/// writer's budget.
const READER_CACHE_KIB: i64 = 8 * 1024;

/// What can go wrong inside a blocking storage task.
#[derive(Debug, thiserror::Error)]
pub(super) enum DbError {
    /// SQLite reported an error.
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    /// Already classified.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored record or value could not be (de)serialised.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Result inside a blocking storage task.
pub(super) type DbResult<T> = std::result::Result<T, DbError>;

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Sql(e) => classify(&e),
            DbError::Store(e) => e,
            DbError::Json(e) => StoreError::Backend(format!("stored data: {e}")),
        }
    }
}

/// Busy, locked and IO failures are retryable; bad data is invalid; the rest is a bug.
pub(super) fn classify(e: &rusqlite::Error) -> StoreError {
    let msg = e.to_string();
    match e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::SystemIoFailure
            | ErrorCode::CannotOpen
            | ErrorCode::DiskFull
            | ErrorCode::OutOfMemory
            | ErrorCode::FileLockingProtocolFailed
            | ErrorCode::OperationInterrupted => StoreError::Unavailable(msg),
            ErrorCode::ConstraintViolation
            | ErrorCode::TypeMismatch
            | ErrorCode::TooBig
            | ErrorCode::ParameterOutOfRange => StoreError::Invalid(msg),
            _ => StoreError::Backend(msg),
        },
        rusqlite::Error::ToSqlConversionFailure(_)
        | rusqlite::Error::NulError(_)
        | rusqlite::Error::Utf8Error(_) => StoreError::Invalid(msg),
        _ => StoreError::Backend(msg),
    }
}

/// A migration failure, classified by the SQLite error underneath when there is one.
fn classify_migration(e: &refinery::Error) -> StoreError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(sql) = s.downcast_ref::<rusqlite::Error>() {
            return match classify(sql) {
                StoreError::Invalid(m) => StoreError::Backend(format!("migration: {m}")),
                other => other,
            };
        }
        source = s.source();
    }
    StoreError::Backend(format!("migration: {e}"))
}

/// Rejects text SQLite would store but the production backend would refuse (NUL bytes),
/// so both adapters accept the same data.
pub(super) fn check_text(field: &str, s: &str) -> Result<(), StoreError> {
    if s.contains('\0') {
        return Err(StoreError::Invalid(format!("{field} contains a NUL byte")));
    }
    Ok(())
}

/// A stored integer from a `u64` field; values past `i64::MAX` are invalid.
pub(super) fn to_i64(field: &str, v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{field} out of range: {v}")))
}

/// A query bound from a `u64`: saturates, as every stored value is below it.
pub(super) fn bound(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A stored integer back to `u64` (negative values cannot have been written).
pub(super) fn from_i64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, StoreError> {
    m.lock()
        .map_err(|_| StoreError::Backend("storage connection lock poisoned".into()))
}

/// The connections of one store.
pub(super) struct Db {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("readers", &self.readers.len())
            .finish_non_exhaustive()
    }
}

impl Db {
    /// Opens (creating when missing) the file, switches it to WAL and migrates it.
    /// Blocking.
    pub(super) fn open_file(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Unavailable(format!("creating {}: {e}", dir.display())))?;
        }
        let mut writer = Connection::open(path).map_err(|e| classify(&e))?;
        configure(&writer, WRITER_CACHE_KIB).map_err(|e| classify(&e))?;
        let mode: String = writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(|e| classify(&e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "{} cannot use WAL (journal mode {mode})",
                path.display()
            )));
        }
        // Durability: in WAL mode with synchronous=NORMAL a commit is appended to the WAL
        // before it returns, so a committed record survives a crash of the gateway; the
        // WAL is synced at checkpoints, so only an OS crash or power loss can roll back
        // the last transactions, never corrupt the file. Call records are also spooled
        // before they reach the store, so FULL (one fsync per commit) buys nothing here.
        writer
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| classify(&e))?;
        migrate(&mut writer)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI;
            let r = Connection::open_with_flags(path, flags).map_err(|e| classify(&e))?;
            configure(&r, READER_CACHE_KIB).map_err(|e| classify(&e))?;
            readers.push(Mutex::new(r));
        }
        Ok(Self {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    /// A private in-memory database: one connection serves reads and writes. Blocking.
    pub(super) fn open_in_memory() -> Result<Self, StoreError> {
        let mut writer = Connection::open_in_memory().map_err(|e| classify(&e))?;
        configure(&writer, WRITER_CACHE_KIB).map_err(|e| classify(&e))?;
        migrate(&mut writer)?;
        Ok(Self {
            writer: Mutex::new(writer),
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
        })
    }

    /// Runs `f` on the writer connection (serialised with every other write).
    pub(super) fn write<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> DbResult<T>,
    ) -> Result<T, StoreError> {
        let mut conn = lock(&self.writer)?;
        f(&mut conn).map_err(StoreError::from)
    }

    /// Runs `f` on a reader connection: a free one if any, else waits for one.
    pub(super) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> DbResult<T>,
    ) -> Result<T, StoreError> {
        if self.readers.is_empty() {
            let conn = lock(&self.writer)?;
            return f(&conn).map_err(StoreError::from);
        }
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let n = self.readers.len();
        for i in 0..n {
            match self.readers[(start + i) % n].try_lock() {
                Ok(conn) => return f(&conn).map_err(StoreError::from),
                Err(TryLockError::WouldBlock) => continue,
                Err(TryLockError::Poisoned(_)) => {
                    return Err(StoreError::Backend(
                        "storage connection lock poisoned".into(),
                    ))
                }
            }
        }
        let conn = lock(&self.readers[start % n])?;
        f(&conn).map_err(StoreError::from)
    }
}

/// Settings of every connection; `cache_kib` is its page cache.
fn configure(c: &Connection, cache_kib: i64) -> rusqlite::Result<()> {
    c.busy_timeout(BUSY_TIMEOUT)?;
    c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // A negative cache_size is in KiB, whatever the page size.
    c.pragma_update(None, "cache_size", -cache_kib)?;
    // Sorts and DISTINCT (count(DISTINCT callee) in the history aggregates, ORDER BY of a
    // search by number) build temporary B-trees; keep them off the disk.
    c.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

fn migrate(c: &mut Connection) -> Result<(), StoreError> {
    let report = embedded::migrations::runner()
        .run(c)
        .map_err(|e| classify_migration(&e))?;
    for m in report.applied_migrations() {
        tracing::info!(
            version = m.version(),
            name = m.name(),
            "Applied SQLite migration."
        );
    }
    Ok(())
}
