//! Storage adapters: the implementations of [`e173gw_core::ports`].
//!
//! - [`sqlite`]: the embedded default, every port in one SQLite file (plus in-process state).
//! - [`postgres`]: records, history, blacklist and inventory in PostgreSQL.
//! - [`redis`]: sticky routes, counters, rate windows and the lookup cache in Redis.
//! - [`resilient`]: keeps those working on local state while Redis is down.

pub mod postgres;
pub mod redis;
pub mod resilient;
pub mod sqlite;
