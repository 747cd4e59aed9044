//! The hand-off from the calls to the recorder: call starts and call records travel, in
//! the order they were made, through one channel to the recorder's own thread. Nothing on
//! the sending side ever waits: no lock, no disk.
//!
//! The recorder takes whatever the channel holds at once, writes it to the spool with one
//! `write` (group commit), then raises the **written** watermark; it syncs the spool to disk
//! every 10 ms while something is unsynced. A call start is therefore:
//!
//! - *handed off* when [`Starts::start`] returns a [`Ticket`] (it can be lost by a crash of
//!   the gateway only until it is written);
//! - *written* when [`Starts::is_written`] says so: it is in the spool file, and a kill of
//!   the gateway no longer loses it (the SIP side sends no response but 100 Trying before
//!   that, so a call the caller saw acknowledged always has its start in the spool);
//! - *on disk* (safe from a crash of the host too) at most one sync period later.
//!
//! Starts in flight (handed off, not written) are bounded: past the bound [`Starts::start`]
//! refuses, and the SIP side answers the new call 503 instead of waiting for the disk.
//! Records are never refused: they belong to calls already taken.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use e173gw_core::record::{CallRecord, CallStart};

/// What travels to the recorder.
#[derive(Debug)]
pub(super) enum Item {
    /// A call was admitted.
    Start {
        /// Its ticket number.
        seq: u64,
        /// What is known of it.
        start: CallStart,
    },
    /// A call ended.
    Record(Box<CallRecord>),
}

/// Why a start was not handed off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    /// Too many starts wait to be written: the disk is not keeping up.
    #[error("the journal is behind: {0} call starts wait to be written")]
    Behind(u64),
    /// The recorder is gone (the gateway is stopping).
    #[error("the recorder has stopped")]
    Closed,
}

/// Counters shared by both ends.
#[derive(Debug, Default)]
pub(super) struct Marks {
    /// Highest start ticket written to the spool.
    pub(super) written: AtomicU64,
    /// Items sent.
    pub(super) sent: AtomicU64,
    /// Items the recorder has taken from the channel.
    pub(super) taken: AtomicU64,
}

/// Sends call records to the recorder; cheap to clone, one per call.
#[derive(Debug, Clone)]
pub struct Records {
    tx: mpsc::UnboundedSender<Item>,
    marks: Arc<Marks>,
}

impl Records {
    /// Hands a finished call's record to the recorder.
    pub fn record(&self, r: CallRecord) -> Result<(), JournalError> {
        self.marks.sent.fetch_add(1, Ordering::Relaxed);
        self.tx
            .send(Item::Record(Box::new(r)))
            .map_err(|_| JournalError::Closed)
    }
}

/// A handed-off call start; see [`Starts::is_written`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(u64);

/// Journals call starts. One producer (the SIP side) owns it, so tickets are handed out in
/// the order the starts enter the channel.
#[derive(Debug)]
pub struct Starts {
    records: Records,
    next: u64,
    max_in_flight: u64,
}

impl Starts {
    /// Hands a call start to the recorder, unless too many wait to be written.
    pub fn start(&mut self, start: CallStart) -> Result<Ticket, JournalError> {
        let written = self.records.marks.written.load(Ordering::Acquire);
        let in_flight = self.next.saturating_sub(written + 1);
        if in_flight >= self.max_in_flight {
            return Err(JournalError::Behind(in_flight));
        }
        let seq = self.next;
        self.records.marks.sent.fetch_add(1, Ordering::Relaxed);
        self.records
            .tx
            .send(Item::Start { seq, start })
            .map_err(|_| JournalError::Closed)?;
        self.next += 1;
        Ok(Ticket(seq))
    }

    /// Whether the start with this ticket is in the spool file.
    pub fn is_written(&self, t: Ticket) -> bool {
        self.records.marks.written.load(Ordering::Acquire) >= t.0
    }

    /// A sender of records over the same channel (so a call's record always follows its
    /// start).
    pub fn records(&self) -> Records {
        self.records.clone()
    }
}

/// The recorder's end.
#[derive(Debug)]
pub(super) struct Intake {
    pub(super) rx: mpsc::UnboundedReceiver<Item>,
    pub(super) marks: Arc<Marks>,
}

/// A new journal channel.
pub(super) fn channel(max_in_flight: u64) -> (Starts, Intake) {
    let (tx, rx) = mpsc::unbounded_channel();
    let marks = Arc::new(Marks::default());
    let starts = Starts {
        records: Records {
            tx,
            marks: marks.clone(),
        },
        next: 1,
        max_in_flight: max_in_flight.max(1),
    };
    (starts, Intake { rx, marks })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(id: &str) -> CallStart {
        CallStart {
            call_id: id.into(),
            trunk: None,
            caller: "1".into(),
            callee: "2".into(),
            received_ms: 0,
        }
    }

    #[test]
    fn tickets_follow_the_written_mark_and_in_flight_starts_are_bounded() {
        let (mut starts, mut intake) = channel(2);
        let a = starts.start(start("a")).expect("a");
        let b = starts.start(start("b")).expect("b");
        assert_eq!(starts.start(start("c")), Err(JournalError::Behind(2)));
        assert!(!starts.is_written(a) && !starts.is_written(b));
        // The recorder writes the first one.
        assert!(matches!(
            intake.rx.try_recv(),
            Ok(Item::Start { seq: 1, .. })
        ));
        intake.marks.written.store(1, Ordering::Release);
        assert!(starts.is_written(a) && !starts.is_written(b));
        let c = starts.start(start("c")).expect("room again");
        assert!(c > b);
        starts
            .records()
            .record(start("a").interrupted(1))
            .expect("record");
        assert_eq!(intake.marks.sent.load(Ordering::Relaxed), 4);
        intake.marks.written.store(3, Ordering::Release);
        drop(intake);
        assert_eq!(starts.start(start("d")), Err(JournalError::Closed));
    }
}
