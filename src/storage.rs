//! Opening the configured storage: the embedded SQLite file, or PostgreSQL + Redis.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tracing::info;

use e173gw_core::config::storage::{Backend, StorageConfig};
use e173gw_core::ports::{StoreError, Stores};

use crate::adapters::postgres::{self, PgStore};
use crate::adapters::redis::RedisStore;
use crate::adapters::resilient::Resilient;
use crate::adapters::sqlite::SqliteStore;

/// Why storage could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The SQLite file could not be opened or migrated.
    #[error("SQLite {path}: {source}")]
    Sqlite {
        /// The file.
        path: String,
        /// Why.
        source: StoreError,
    },
    /// PostgreSQL could not be reached or migrated.
    #[error("PostgreSQL: {0}")]
    Postgres(StoreError),
    /// Redis could not be reached.
    #[error("Redis: {0}")]
    Redis(StoreError),
}

/// The opened stores, and the Redis wrapper for health reporting (production only).
#[derive(Debug, Clone)]
pub struct Opened {
    /// Every port.
    pub stores: Stores,
    /// The Redis-backed ports' wrapper: `degraded()` says whether local state is in use.
    pub shared: Option<Arc<Resilient<RedisStore>>>,
}

/// Opens the stores `cfg` names; relative paths are taken from `base`.
pub async fn open(cfg: &StorageConfig, base: &Path) -> Result<Opened, StorageError> {
    match cfg.backend {
        Backend::Embedded => {
            let path = base.join(&cfg.sqlite_path);
            let store = SqliteStore::open(&path)
                .await
                .map_err(|source| StorageError::Sqlite {
                    path: path.display().to_string(),
                    source,
                })?;
            info!(path = %path.display(), "Embedded storage opened.");
            Ok(Opened {
                stores: store.stores(),
                shared: None,
            })
        }
        Backend::Production => {
            let pg = PgStore::connect(
                &cfg.postgres_url,
                &cfg.postgres_schema,
                cfg.postgres_pool,
                Duration::from_millis(cfg.postgres_timeout_ms),
                cfg.migrate_on_start,
            )
            .await
            .map_err(StorageError::Postgres)?;
            let redis = RedisStore::connect_lazy(
                &cfg.redis_url,
                &cfg.redis_prefix,
                Duration::from_millis(cfg.redis_timeout_ms),
            )
            .map_err(StorageError::Redis)?;
            let shared = Resilient::new(redis);
            info!(schema = %cfg.postgres_schema, redis_prefix = %cfg.redis_prefix, "PostgreSQL and Redis storage opened.");
            let stores = Stores {
                records: pg.clone(),
                history: pg.clone(),
                blacklist: pg.clone(),
                inventory: pg.clone(),
                messages: pg,
                sticky: shared.clone(),
                counters: shared.clone(),
                cache: shared.clone(),
            };
            Ok(Opened {
                stores,
                shared: Some(shared),
            })
        }
    }
}

/// `e173gw migrate`: applies pending migrations and says which.
pub async fn migrate(cfg: &StorageConfig, base: &Path) -> Result<String, StorageError> {
    match cfg.backend {
        Backend::Embedded => {
            let path = base.join(&cfg.sqlite_path);
            SqliteStore::open(&path)
                .await
                .map_err(|source| StorageError::Sqlite {
                    path: path.display().to_string(),
                    source,
                })?;
            Ok(format!("{}: migrations applied", path.display()))
        }
        Backend::Production => {
            let report = postgres::migrate(&cfg.postgres_url, &cfg.postgres_schema)
                .await
                .map_err(StorageError::Postgres)?;
            Ok(format!("schema {}: {report}", cfg.postgres_schema))
        }
    }
}
