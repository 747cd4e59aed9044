//! The recorder: the one record of every call reaches the store, whatever happens.
//!
//! The SIP side hands call starts and records to the recorder through the [`journal`]
//! channel (it never waits: see there what a start being written means). Both are
//! journaled in the [`spool`] before anything else; records are then delivered to the
//! [`RecordStore`](e173gw_core::ports::RecordStore) in order, in batches, and retried with
//! backoff while the store is down (the spool keeps them; the store is idempotent by call
//! id, so a replay never duplicates). At start the spool is replayed: undelivered records
//! are delivered, and calls that were up when the gateway stopped get an `interrupted`
//! record. Sinks (log, JSON lines) see every record as it is made.

mod actor;
pub mod journal;
mod sinks;
pub mod spool;
#[cfg(test)]
mod tests;

pub use actor::{DrainRecords, Recorder, RecorderSpec, RecorderStats, RecorderStatus};
pub use journal::{JournalError, Records, Starts, Ticket};
pub use sinks::{JsonlSink, LogSink, MemorySink};
