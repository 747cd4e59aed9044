//! One contract for every storage port, run against both adapter families: the embedded
//! SQLite store, and PostgreSQL + Redis (the machine's real servers; each test gets its
//! own schema and key prefix and removes them afterwards).

mod blacklist;
mod fixture;
mod history;
mod inventory;
mod messages;
mod records;
mod shared_state;

use std::time::Duration;

use e173gw::adapters::postgres::PgStore;
use e173gw::adapters::redis::RedisStore;
use e173gw::adapters::sqlite::SqliteStore;
use e173gw_core::ports::Stores;

pub(crate) use fixture::rec;

pub(crate) const T0: u64 = 1_795_370_400_000; // 2026-11-22T18:00:00Z
pub(crate) const MIN: u64 = 60_000;
pub(crate) const DAY: u64 = 86_400_000;

fn pg_url() -> String {
    std::env::var("E173GW_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn redis_url() -> String {
    std::env::var("E173GW_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn unique(tag: &str) -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("c_{tag}_{}_{n}_{}", std::process::id(), t % 1_000_000)
}

/// A backend under test and how to clean up after it.
enum Backend {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Production { schema: String, prefix: String },
}

impl Backend {
    async fn cleanup(self) {
        if let Backend::Production { schema, prefix } = self {
            if let Ok((client, conn)) =
                tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls).await
            {
                tokio::spawn(conn);
                let _ = client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .await;
            }
            if let Ok(c) = redis::Client::open(redis_url()) {
                if let Ok(mut con) = c.get_multiplexed_async_connection().await {
                    let keys: Vec<String> = redis::cmd("KEYS")
                        .arg(format!("{prefix}*"))
                        .query_async(&mut con)
                        .await
                        .unwrap_or_default();
                    if !keys.is_empty() {
                        let _: redis::RedisResult<()> =
                            redis::cmd("DEL").arg(keys).query_async(&mut con).await;
                    }
                }
            }
        }
    }
}

async fn sqlite() -> (Backend, Stores) {
    let dir = tempfile::tempdir().expect("tmp");
    let store = SqliteStore::open(&dir.path().join("e173gw.db"))
        .await
        .expect("sqlite opens");
    (Backend::Sqlite(dir), store.stores())
}

async fn production(tag: &str) -> (Backend, Stores) {
    let schema = unique(tag);
    let prefix = format!("{schema}:");
    let pg = PgStore::connect(&pg_url(), &schema, 4, Duration::from_secs(5), true)
        .await
        .expect("postgres (is it running?)");
    let rd = RedisStore::connect(&redis_url(), &prefix, Duration::from_secs(2))
        .await
        .expect("redis (is it running?)");
    let stores = Stores {
        records: pg.clone(),
        history: pg.clone(),
        blacklist: pg.clone(),
        inventory: pg.clone(),
        messages: pg,
        sticky: rd.clone(),
        counters: rd.clone(),
        cache: rd,
    };
    (Backend::Production { schema, prefix }, stores)
}

/// Runs a contract (`family::name`) against both backends, as the tests `name::sqlite`
/// and `name::production`.
macro_rules! contract {
    ($family:ident :: $name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let (b, s) = super::sqlite().await;
                super::$family::$name(&s).await;
                b.cleanup().await;
            }

            #[tokio::test]
            async fn production() {
                let (b, s) = super::production(stringify!($name)).await;
                super::$family::$name(&s).await;
                b.cleanup().await;
            }
        }
    };
}

contract!(records::records_are_idempotent);
contract!(records::a_failing_batch_stores_nothing);
contract!(records::records_search_and_count);
contract!(records::records_across_months);
contract!(records::records_from_many_tasks);
contract!(history::history_aggregates);
contract!(history::history_consecutive_failures);
contract!(history::on_equal_times_the_later_insert_is_newer);
contract!(blacklist::blacklist_precedence_and_expiry);
contract!(shared_state::sticky_routes);
contract!(shared_state::counters_windows_and_rates);
contract!(shared_state::rate_windows_count_whole_seconds);
contract!(shared_state::cache_entries);
contract!(inventory::inventory_first_last_and_usage);
contract!(inventory::usage_before_the_first_sighting_is_kept);
contract!(inventory::a_stored_record_adds_its_usage_once);
contract!(messages::sms_kept_whole_and_found);
contract!(messages::balances_replace_per_sim);
