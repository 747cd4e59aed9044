//! The recorder actor.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tracing::{error, info, warn};

use e173gw_core::ports::{RecordSink, RecordStore};
use e173gw_core::record::CallRecord;

use super::journal::{self, Intake, Item, Starts};
use super::spool::{Entry, Pos, Spool};
use crate::wall_ms;

/// Records kept in memory for delivery; beyond this they wait in the spool only.
const QUEUE_CAP: usize = 50_000;
/// Records per store batch.
const BATCH: usize = 500;
/// How often written entries are forced to disk.
const SYNC_EVERY: Duration = Duration::from_millis(10);
/// Call starts that may wait to be written before new calls are refused.
const STARTS_IN_FLIGHT: u64 = 20_000;
/// Most journal items written with one `write`.
const GROUP: usize = 4096;

/// Counters of the recorder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecorderStats {
    /// Records journaled.
    pub spooled: u64,
    /// Records the store accepted (new or already there).
    pub delivered: u64,
    /// Store batches that failed.
    pub failures: u64,
    /// Records waiting for the store.
    pub backlog: u64,
    /// Calls started and not yet recorded.
    pub open_calls: u64,
    /// Records made for calls interrupted by a stop of the gateway.
    pub interrupted: u64,
    /// Records the store rejected as invalid (kept in `dead.jsonl`).
    pub dead: u64,
    /// Journal writes that failed (the disk under the spool is failing).
    pub journal_errors: u64,
    /// The store is failing right now.
    pub degraded: bool,
    /// Calls finished since the start (records replayed from the spool not counted).
    pub calls: e173gw_core::stats::CallTally,
    /// Time the record store took per batch, µs (failed batches too).
    pub store_us: e173gw_core::stats::Histogram,
}

/// Read the counters.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "RecorderStats")]
pub struct RecorderStatus;

/// Force the spool to disk and try to deliver the backlog for up to `timeout`.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "RecorderStats")]
pub struct DrainRecords {
    /// Longest wait.
    pub timeout: Duration,
}

/// What the recorder starts with.
pub struct RecorderSpec {
    /// Spool directory.
    pub spool_dir: PathBuf,
    /// Segment size of the spool.
    pub segment_bytes: u64,
    /// The record store.
    pub store: Arc<dyn RecordStore>,
    /// Sinks that see every record.
    pub sinks: Vec<Box<dyn RecordSink>>,
}

impl std::fmt::Debug for RecorderSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecorderSpec")
            .field("spool_dir", &self.spool_dir)
            .finish_non_exhaustive()
    }
}

/// The recorder actor. See the module docs.
pub struct Recorder {
    spool: Spool,
    /// The journal channel's receiving end, until the actor starts reading it.
    intake: Option<Intake>,
    marks: Arc<journal::Marks>,
    /// The sending end for call starts, until the SIP side takes it.
    starts: Option<Starts>,
    store: Arc<dyn RecordStore>,
    sinks: Vec<Box<dyn RecordSink>>,
    dir: PathBuf,
    queue: VecDeque<(Pos, CallRecord)>,
    /// Records from this position on are in the spool but not in the queue.
    lag_from: Option<Pos>,
    /// Position just past the last record queued.
    queued_to: Pos,
    delivering: bool,
    backoff: Duration,
    /// Records per insert: halved after each failure (a batch too big for a slow database
    /// would time out for ever), doubled back up to [`BATCH`] after each success.
    batch: usize,
    stats: RecorderStats,
    /// Queue length, readable from a drain waiting outside the actor.
    pending: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// Opens the spool and replays it. Records of calls interrupted by the last stop are
    /// made now (and journaled) before the actor starts.
    pub fn open(spec: RecorderSpec) -> std::io::Result<Self> {
        let (spool, rec) = Spool::open(&spec.spool_dir, spec.segment_bytes)?;
        if rec.skipped > 0 {
            warn!(dir = %spec.spool_dir.display(), skipped = rec.skipped, "Spool had torn entries; they were skipped.");
        }
        let queued_to = rec.pending.last().map_or(spool.checkpoint(), |(p, _)| *p);
        let (starts, intake) = journal::channel(STARTS_IN_FLIGHT);
        let mut me = Self {
            spool,
            marks: intake.marks.clone(),
            intake: Some(intake),
            starts: Some(starts),
            store: spec.store,
            sinks: spec.sinks,
            dir: spec.spool_dir,
            queue: rec.pending.into_iter().collect(),
            lag_from: None,
            queued_to,
            delivering: false,
            backoff: Duration::from_millis(100),
            batch: BATCH,
            stats: RecorderStats::default(),
            pending: Arc::new(AtomicUsize::new(0)),
        };
        if !me.queue.is_empty() {
            info!(
                records = me.queue.len(),
                "Replaying undelivered call records from the spool."
            );
        }
        let now = wall_ms();
        for start in rec.open {
            warn!(call_id = %start.call_id, "Call was up when the gateway stopped; recording it as interrupted.");
            me.stats.interrupted += 1;
            let r = start.interrupted(now);
            let pos = me.spool.record(&r)?;
            me.spooled(pos, r);
        }
        me.spool.sync()?;
        Ok(me)
    }

    /// Writes a batch from the journal channel with one `write`, then raises the written
    /// mark past its starts.
    fn write_batch(&mut self, items: Vec<Item>) {
        self.marks
            .taken
            .fetch_add(items.len() as u64, Ordering::Relaxed);
        let mut last_start = None;
        let entries: Vec<Entry> = items
            .into_iter()
            .map(|i| match i {
                Item::Start { seq, start } => {
                    last_start = Some(seq);
                    Entry::Start(start)
                }
                Item::Record(r) => Entry::Record(r),
            })
            .collect();
        match self.spool.write_batch(&entries) {
            Ok(ends) => {
                for (e, end) in entries.into_iter().zip(ends) {
                    if let Entry::Record(r) = e {
                        self.stats.calls.observe(&r);
                        self.spooled(end, *r);
                    }
                }
            }
            Err(e) => {
                // The calls go on (holding them would not bring the disk back); what was
                // not written may be lost if the gateway stops before the disk recovers.
                self.stats.journal_errors += 1;
                error!(error = %e, entries = entries.len(), "Cannot write to the spool; call starts and records are not safe.");
            }
        }
        if let Some(seq) = last_start {
            self.marks.written.fetch_max(seq, Ordering::Release);
        }
    }

    /// A record is in the spool: show it to the sinks and queue it for the store.
    fn spooled(&mut self, pos: Pos, r: CallRecord) {
        self.stats.spooled += 1;
        for s in &mut self.sinks {
            if let Err(e) = s.write(&r) {
                warn!(call_id = %r.call_id, error = %e, "Record sink failed.");
            }
        }
        if self.lag_from.is_none() && self.queue.len() < QUEUE_CAP {
            self.queue.push_back((pos, r));
            self.queued_to = pos;
        } else if self.lag_from.is_none() {
            self.lag_from = Some(self.queued_to);
        }
    }

    /// Refills the queue from the spool after it fell behind.
    fn refill(&mut self) {
        let Some(from) = self.lag_from else { return };
        if self.queue.len() > QUEUE_CAP / 2 {
            return;
        }
        let head = self.spool.head();
        let read = self
            .spool
            .read_records(from, QUEUE_CAP - self.queue.len())
            .map(|more| (more, head));
        match read {
            Ok((more, head)) => {
                if let Some((p, _)) = more.last() {
                    self.queued_to = *p;
                }
                let caught_up = more.last().is_none_or(|(p, _)| *p >= head);
                self.queue.extend(more);
                self.lag_from = if caught_up {
                    None
                } else {
                    Some(self.queued_to)
                };
            }
            Err(e) => error!(error = %e, "Cannot read the spool."),
        }
    }

    fn deliver(&mut self, ctx: &mut Context<Self>) {
        self.refill();
        self.publish_pending();
        if self.delivering || self.queue.is_empty() {
            return;
        }
        self.delivering = true;
        self.publish_pending();
        let n = self.queue.len().min(self.batch);
        let batch: Vec<CallRecord> = self.queue.iter().take(n).map(|(_, r)| r.clone()).collect();
        let store = self.store.clone();
        let started = tokio::time::Instant::now();
        async move { store.insert(&batch).await }
            .into_actor(self)
            .map(move |res, act, ctx| {
                act.delivering = false;
                let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                act.stats.store_us.observe(us);
                match res {
                    Ok(_) => {
                        let mut upto = None;
                        for _ in 0..n {
                            if let Some((p, _)) = act.queue.pop_front() {
                                upto = Some(p);
                            }
                        }
                        act.stats.delivered += n as u64;
                        if let Some(p) = upto {
                            if let Err(e) = act.spool.commit(p) {
                                error!(error = %e, "Cannot move the spool checkpoint.");
                            }
                        }
                        if act.stats.degraded {
                            info!(
                                delivered = n,
                                backlog = act.queue.len() as u64 + u64::from(act.lag_from.is_some()),
                                "Record store is back; delivering the backlog."
                            );
                        }
                        act.stats.degraded = false;
                        act.backoff = Duration::from_millis(100);
                        act.batch = (act.batch * 2).min(BATCH);
                        act.deliver(ctx);
                    }
                    Err(e) if e.is_retryable() => {
                        act.stats.failures += 1;
                        if !act.stats.degraded {
                            warn!(error = %e, backlog = act.queue.len(), "Record store unavailable; records wait in the spool.");
                        }
                        act.stats.degraded = true;
                        let wait = act.backoff;
                        act.backoff = (act.backoff * 2).min(Duration::from_secs(5));
                        act.batch = (act.batch / 2).max(1);
                        ctx.run_later(wait, |act, ctx| act.deliver(ctx));
                    }
                    Err(e) => {
                        act.stats.failures += 1;
                        if n > 1 {
                            // Find the bad record: deliver one by one until past it.
                            act.deliver_one(ctx);
                        } else {
                            act.bury_front(&e.to_string());
                            act.deliver(ctx);
                        }
                    }
                }
            })
            .spawn(ctx);
    }

    fn deliver_one(&mut self, ctx: &mut Context<Self>) {
        let Some((_, r)) = self.queue.front().cloned() else {
            return;
        };
        self.delivering = true;
        let store = self.store.clone();
        async move { store.insert(std::slice::from_ref(&r)).await }
            .into_actor(self)
            .map(|res, act, ctx| {
                act.delivering = false;
                match res {
                    Ok(_) => {
                        if let Some((p, _)) = act.queue.pop_front() {
                            act.stats.delivered += 1;
                            let _ = act.spool.commit(p);
                        }
                        act.deliver(ctx);
                    }
                    Err(e) if e.is_retryable() => {
                        ctx.run_later(act.backoff, |act, ctx| act.deliver(ctx));
                    }
                    Err(e) => {
                        act.bury_front(&e.to_string());
                        act.deliver(ctx);
                    }
                }
            })
            .spawn(ctx);
    }

    /// Moves the record at the front aside (`dead.jsonl`): the store will never take it.
    fn bury_front(&mut self, why: &str) {
        let Some((p, r)) = self.queue.pop_front() else {
            return;
        };
        error!(call_id = %r.call_id, error = why, "Record store refused a record; kept in dead.jsonl.");
        self.stats.dead += 1;
        let line = serde_json::to_string(&r).unwrap_or_default();
        let path = self.dir.join("dead.jsonl");
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, format!("{line}\n").as_bytes()));
        if written.is_ok() {
            let _ = self.spool.commit(p);
        }
    }

    /// The journal's sending end, for the SIP side (once: there is one producer of
    /// call starts).
    pub fn take_journal(&mut self) -> Option<Starts> {
        self.starts.take()
    }

    fn publish_pending(&self) {
        let n =
            self.queue.len() + usize::from(self.lag_from.is_some()) + usize::from(self.delivering);
        self.pending.store(n, Ordering::Relaxed);
    }

    fn stats(&self) -> RecorderStats {
        let mut s = self.stats.clone();
        s.backlog = self.queue.len() as u64 + u64::from(self.lag_from.is_some());
        s.open_calls = self.spool.open_calls() as u64;
        s
    }
}

impl Actor for Recorder {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(1_000_000);
        ctx.run_interval(SYNC_EVERY, |act, _| {
            if let Err(e) = act.spool.sync() {
                error!(error = %e, "Cannot sync the spool.");
            }
        });
        if let Some(intake) = self.intake.take() {
            let mut rx = intake.rx;
            let items = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
            ctx.add_stream(futures_util::StreamExt::ready_chunks(items, GROUP));
        }
        self.deliver(ctx);
    }

    fn stopping(&mut self, _: &mut Context<Self>) -> Running {
        let _ = self.spool.sync();
        Running::Stop
    }
}

impl StreamHandler<Vec<Item>> for Recorder {
    fn handle(&mut self, items: Vec<Item>, ctx: &mut Context<Self>) {
        self.write_batch(items);
        self.deliver(ctx);
    }

    /// Every sender is gone (the gateway is stopping): the recorder keeps delivering.
    fn finished(&mut self, _: &mut Context<Self>) {}
}

impl Handler<RecorderStatus> for Recorder {
    type Result = MessageResult<RecorderStatus>;

    fn handle(&mut self, _: RecorderStatus, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.stats())
    }
}

impl Handler<DrainRecords> for Recorder {
    type Result = ResponseActFuture<Self, RecorderStats>;

    fn handle(&mut self, msg: DrainRecords, ctx: &mut Context<Self>) -> Self::Result {
        let _ = self.spool.sync();
        self.deliver(ctx);
        let deadline = tokio::time::Instant::now() + msg.timeout;
        let pending = self.pending.clone();
        let marks = self.marks.clone();
        // What was sent before the drain was asked for is waited for too.
        let sent = marks.sent.load(Ordering::Relaxed);
        Box::pin(
            async move {
                while (pending.load(Ordering::Relaxed) > 0
                    || marks.taken.load(Ordering::Relaxed) < sent)
                    && tokio::time::Instant::now() < deadline
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            .into_actor(self)
            .map(|_, act, _| act.stats()),
        )
    }
}
