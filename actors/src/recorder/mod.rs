//! The recorder: the one record of every call reaches the store, whatever happens.
//!
//! Calls report their start ([`CallStarted`]) and their record ([`RecordCall`]). Both are
//! journaled in the [`spool`] before anything else; records are then delivered to the
//! [`RecordStore`](e173gw_core::ports::RecordStore) in order, in batches, and retried with
//! backoff while the store is down (the spool keeps them; the store is idempotent by call
//! id, so a replay never duplicates). At start the spool is replayed: undelivered records
//! are delivered, and calls that were up when the gateway stopped get an `interrupted`
//! record. Sinks (log, JSON lines) see every record as it is made.

mod actor;
mod sinks;
pub mod spool;
#[cfg(test)]
mod tests;

pub use actor::{
    CallStarted, DrainRecords, Journal, RecordCall, Recorder, RecorderSpec, RecorderStats,
    RecorderStatus,
};
pub use sinks::{JsonlSink, LogSink, MemorySink};
