//! The recorder: takes the one record of each finished call and writes it to every sink.
//! Until the storage adapters exist the sinks are the log, a JSON-lines file and memory.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use actix::prelude::*;
use tracing::{error, info};

use e173gw_core::ports::{RecordSink, SinkError};
use e173gw_core::record::CallRecord;

/// A finished call's record.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct RecordCall(pub CallRecord);

/// Writes records to its sinks.
pub struct Recorder {
    sinks: Vec<Box<dyn RecordSink>>,
    written: u64,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("sinks", &self.sinks.len())
            .field("written", &self.written)
            .finish()
    }
}

impl Recorder {
    /// A recorder writing to `sinks`.
    pub fn new(sinks: Vec<Box<dyn RecordSink>>) -> Self {
        Self { sinks, written: 0 }
    }
}

impl Actor for Recorder {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(100_000);
    }
}

impl Handler<RecordCall> for Recorder {
    type Result = ();

    fn handle(&mut self, msg: RecordCall, _: &mut Context<Self>) {
        self.written += 1;
        for s in &mut self.sinks {
            if let Err(e) = s.write(&msg.0) {
                error!(call_id = %msg.0.call_id, error = %e, "Call record not written.");
            }
        }
    }
}

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
