//! The embedded adapter: every port in one SQLite file, plus in-process hot maps.
//!
//! The default backend for a single box with no services. Everything is persisted in the
//! file (records, history, blacklist, sticky routes, day/month counters, rate windows, the
//! lookup cache and the inventory), so a restart loses nothing: a per-SIM daily limit
//! does not reset because the gateway restarted.
//!
//! # Layout
//!
//! - `db`: the connections (one writer behind a mutex, a few WAL readers), migrations from
//!   `migrations/sqlite/`, and how SQLite errors map to [`StoreError`].
//! - `hot`: the bounded in-memory maps in front of sticky routes, cache entries and
//!   counters, which are read on every call; a hit answers without leaving the caller's
//!   thread.
//! - `records`: [`RecordStore`](e173gw_core::ports::RecordStore) and
//!   [`HistoryStore`](e173gw_core::ports::HistoryStore) over the `call_records` table.
//! - `kv`: sticky routes, the lookup cache, counters and rate windows, and the sweep of
//!   expired rows.
//! - `blacklist`, `inventory`: the other ports.
//!
//! # Threads
//!
//! The gateway's actors run on current-thread runtimes, so nothing here blocks them:
//! every SQLite call runs in [`tokio::task::spawn_blocking`]. Only a hit in a hot map is
//! answered inline (a short mutex-guarded `HashMap` lookup).

mod blacklist;
mod db;
mod hot;
mod inventory;
mod kv;
mod messages;
mod records;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use e173gw_core::ports::{StickyRoute, StoreError, Stores};

use self::db::{Db, DbResult};
use self::hot::HotMap;

/// Keys each hot map holds at most.
const HOT_CAPACITY: usize = 65_536;
/// A table is swept at most this often, in the callers' clock (Unix ms).
const SWEEP_EVERY_MS: u64 = 60_000;

/// Every storage port in one SQLite file.
///
/// Open it with [`SqliteStore::open`] and hand out the ports with [`SqliteStore::stores`].
#[derive(Debug)]
pub struct SqliteStore {
    shared: Arc<Shared>,
}

/// What the blocking tasks share.
#[derive(Debug)]
struct Shared {
    db: Db,
    /// Sticky routes by number (`None`: known to have none).
    sticky: HotMap<String, Option<StickyRoute>>,
    /// Cache values by (namespace, key), with their expiry.
    cache: HotMap<(String, String), Option<(String, u64)>>,
    /// Counter totals by (key, bucket).
    counters: HotMap<(String, String), i64>,
    /// When each table was last swept.
    sweeps: Sweeps,
}

/// The callers' time of the last sweep of each table.
#[derive(Debug, Default)]
struct Sweeps {
    sticky: SweepClock,
    cache: SweepClock,
    counters: SweepClock,
    hits: SweepClock,
}

/// Decides when a table is due for a sweep. Each table follows the times passed to its
/// own port, so ports used with different clocks do not expire each other's rows.
#[derive(Debug, Default)]
struct SweepClock(AtomicU64);

impl SweepClock {
    /// Whether a sweep should run at `now_ms` (claims it when so).
    fn due(&self, now_ms: u64) -> bool {
        let last = self.0.load(Ordering::Relaxed);
        now_ms >= last.saturating_add(SWEEP_EVERY_MS)
            && self
                .0
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

/// Rows removed by [`SqliteStore::sweep`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SweepReport {
    /// Expired sticky routes.
    pub sticky: usize,
    /// Expired cache entries.
    pub cache: usize,
    /// Counters of windows past their retention.
    pub counters: usize,
    /// Rate-window seconds no span can reach any more.
    pub hits: usize,
}

impl SqliteStore {
    /// Opens the store at `path`, creating the file (and its directory) when missing,
    /// in WAL mode, and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Arc<SqliteStore>, StoreError> {
        let path = path.to_path_buf();
        let db = run_blocking(move || Db::open_file(&path)).await?;
        Ok(Self::with_db(db))
    }

    /// A private in-memory store (for tests and the demo): nothing survives it.
    pub async fn open_in_memory() -> Result<Arc<SqliteStore>, StoreError> {
        let db = run_blocking(Db::open_in_memory).await?;
        Ok(Self::with_db(db))
    }

    fn with_db(db: Db) -> Arc<Self> {
        Arc::new(Self {
            shared: Arc::new(Shared {
                db,
                sticky: HotMap::new(HOT_CAPACITY),
                cache: HotMap::new(HOT_CAPACITY),
                counters: HotMap::new(HOT_CAPACITY),
                sweeps: Sweeps::default(),
            }),
        })
    }

    /// Every port, backed by this one store.
    pub fn stores(self: &Arc<Self>) -> Stores {
        Stores {
            records: self.clone(),
            history: self.clone(),
            blacklist: self.clone(),
            sticky: self.clone(),
            counters: self.clone(),
            cache: self.clone(),
            inventory: self.clone(),
            messages: self.clone(),
        }
    }

    /// Deletes expired sticky routes, cache entries and rate-window seconds, and counters
    /// whose window ended more than the retention period before `now_ms`. Writes also
    /// sweep their table about once a minute (in their own clock), so calling this is
    /// only needed to reclaim space on an idle gateway.
    pub async fn sweep(&self, now_ms: u64) -> Result<SweepReport, StoreError> {
        self.blocking(move |s| {
            s.db.write(|c| {
                let tx = c.transaction()?;
                let report = SweepReport {
                    sticky: kv::sweep_sticky(s, &tx, now_ms)?,
                    cache: kv::sweep_cache(s, &tx, now_ms)?,
                    counters: kv::sweep_counters(s, &tx, now_ms)?,
                    hits: kv::sweep_hits(&tx, now_ms)?,
                };
                tx.commit()?;
                Ok(report)
            })
        })
        .await
    }

    /// Runs `f` on the blocking pool with the shared state.
    async fn blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Shared) -> Result<T, StoreError> + Send + 'static,
    {
        let shared = self.shared.clone();
        run_blocking(move || f(&shared)).await
    }
}

/// Runs `f` on tokio's blocking pool; a task that panicked is a backend error.
async fn run_blocking<T, F>(f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) if e.is_cancelled() => Err(StoreError::Unavailable(
            "storage task cancelled (shutting down)".into(),
        )),
        Err(e) => Err(StoreError::Backend(format!("storage task failed: {e}"))),
    }
}

/// Shorthand for the closures run on a connection.
type Tx<'a> = rusqlite::Transaction<'a>;

/// Commits `tx` after `f` succeeded on it (dropping it rolls back otherwise).
fn in_tx<T>(c: &mut rusqlite::Connection, f: impl FnOnce(&Tx<'_>) -> DbResult<T>) -> DbResult<T> {
    let tx = c.transaction()?;
    let out = f(&tx)?;
    tx.commit()?;
    Ok(out)
}
