//! `[storage]`: where durable state lives.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Problem;

/// Which adapters implement the storage ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// One SQLite file plus in-process state: one box, no services.
    Embedded,
    /// PostgreSQL (records, history, blacklist, inventory) and Redis (sticky routes,
    /// counters, rate windows, lookup cache): several nodes sharing state.
    Production,
}

/// `[storage]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `embedded` (default) or `production`.
    pub backend: Backend,
    /// SQLite file (embedded). Relative to the config file's directory.
    pub sqlite_path: PathBuf,
    /// PostgreSQL connection URL (production).
    pub postgres_url: String,
    /// PostgreSQL schema for e173gw's tables (created when missing).
    pub postgres_schema: String,
    /// Pool size.
    pub postgres_pool: usize,
    /// Statement timeout, milliseconds: a slow database counts as down.
    pub postgres_timeout_ms: u64,
    /// Redis URL (production).
    pub redis_url: String,
    /// Prefix of every Redis key (several gateways or tests can share one Redis).
    pub redis_prefix: String,
    /// Redis command timeout, milliseconds; past it, local state is used.
    pub redis_timeout_ms: u64,
    /// Apply pending migrations at start (otherwise `e173gw migrate` must run first).
    pub migrate_on_start: bool,
    /// Directory of the call record spool (records wait there while the database is
    /// slow or down, and survive a crash). Relative to the config file's directory.
    pub spool_dir: PathBuf,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            backend: Backend::Embedded,
            sqlite_path: PathBuf::from("e173gw.db"),
            postgres_url: "postgres://postgres@127.0.0.1:5432/e173gw".into(),
            postgres_schema: "e173gw".into(),
            postgres_pool: 16,
            postgres_timeout_ms: 2000,
            redis_url: "redis://127.0.0.1:6379".into(),
            redis_prefix: "e173gw:".into(),
            redis_timeout_ms: 200,
            migrate_on_start: true,
            spool_dir: PathBuf::from("spool"),
        }
    }
}

impl StorageConfig {
    /// Checks the section.
    pub fn validate(&self) -> Vec<Problem> {
        let mut p = Vec::new();
        let ident = |s: &str| {
            !s.is_empty()
                && s.len() <= 63
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && !s.as_bytes()[0].is_ascii_digit()
        };
        if self.backend == Backend::Production {
            if !(self.postgres_url.starts_with("postgres://")
                || self.postgres_url.starts_with("postgresql://"))
            {
                p.push(Problem::new(
                    "storage.postgres_url",
                    "must be a postgres:// URL",
                ));
            }
            if !(self.redis_url.starts_with("redis://") || self.redis_url.starts_with("rediss://"))
            {
                p.push(Problem::new("storage.redis_url", "must be a redis:// URL"));
            }
        }
        if !ident(&self.postgres_schema) {
            p.push(Problem::new(
                "storage.postgres_schema",
                "lower-case letters, digits and '_', not starting with a digit",
            ));
        }
        if !(1..=256).contains(&self.postgres_pool) {
            p.push(Problem::new(
                "storage.postgres_pool",
                "must be between 1 and 256",
            ));
        }
        if self.postgres_timeout_ms == 0 || self.redis_timeout_ms == 0 {
            p.push(Problem::new(
                "storage.redis_timeout_ms",
                "timeouts must be greater than zero",
            ));
        }
        if self.redis_prefix.contains(char::is_whitespace) {
            p.push(Problem::new(
                "storage.redis_prefix",
                "must not contain spaces",
            ));
        }
        p
    }
}
