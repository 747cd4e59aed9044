//! Ports (traits) the storage and provider adapters implement.

use crate::record::CallRecord;

/// A sink could not take a record.
#[derive(Debug, thiserror::Error)]
#[error("record sink: {0}")]
pub struct SinkError(pub String);

/// Where finished call records go.
pub trait RecordSink: Send {
    /// Stores one record. Must be idempotent by `call_id`.
    fn write(&mut self, record: &CallRecord) -> Result<(), SinkError>;
}
