//! Synchronous record sinks: the log, a JSON-lines file, memory.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use tracing::info;

use e173gw_core::ports::{RecordSink, SinkError};
use e173gw_core::record::CallRecord;

/// Logs each record as one line of JSON.
#[derive(Debug, Default)]
pub struct LogSink;

impl RecordSink for LogSink {
    fn write(&mut self, r: &CallRecord) -> Result<(), SinkError> {
        let json = serde_json::to_string(r).map_err(|e| SinkError(e.to_string()))?;
        info!(call_id = %r.call_id, status = r.sip_status, end = ?r.end_reason, record = %json, "Call record.");
        Ok(())
    }
}

/// Appends one JSON line per record to a file.
#[derive(Debug)]
pub struct JsonlSink {
    file: File,
}

impl JsonlSink {
    /// Opens (creates) the file for appending.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        Ok(Self {
            file: OpenOptions::new().create(true).append(true).open(path)?,
        })
    }
}

impl RecordSink for JsonlSink {
    fn write(&mut self, r: &CallRecord) -> Result<(), SinkError> {
        let mut line = serde_json::to_vec(r).map_err(|e| SinkError(e.to_string()))?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .map_err(|e| SinkError(e.to_string()))
    }
}

/// Keeps records in memory (tests, and the API until storage exists).
#[derive(Debug, Clone, Default)]
pub struct MemorySink(pub Arc<Mutex<Vec<CallRecord>>>);

impl RecordSink for MemorySink {
    fn write(&mut self, r: &CallRecord) -> Result<(), SinkError> {
        let mut v = self
            .0
            .lock()
            .map_err(|_| SinkError("memory sink poisoned".into()))?;
        v.push(r.clone());
        Ok(())
    }
}
