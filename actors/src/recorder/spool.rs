//! The call record spool: an append-only journal on local disk between the calls and the
//! record store, so no record is lost when the database is slow or down, or when the
//! gateway is killed.
//!
//! Two kinds of entries are journaled: a call's **start** (when the ingress admits it) and
//! its **record** (when it ends). Frames are `[len u32 LE][crc32 u32 LE][JSON]`, written
//! with one `write` each (a killed process loses nothing that reached `write`; `sync`
//! protects against an OS crash too). Segments roll over at a size; the writer never
//! appends to a segment left by an earlier run, whose tail may be torn.
//!
//! Records are delivered to the store in order; `commit` moves the checkpoint past the
//! delivered ones. A segment wholly before the checkpoint is deleted once the starts of
//! calls still open in it are copied to the current segment, so the journal stays small
//! whatever the call lengths. Opening the spool replays every segment: starts without a
//! record are calls that were up when the gateway stopped, and records past the checkpoint
//! are still to deliver (the store ignores any it already has: idempotent by call id).

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use e173gw_core::record::{CallRecord, CallStart};

/// Largest frame payload accepted when reading (a corrupt length is not trusted).
const MAX_FRAME: u32 = 1 << 20;

/// A journal entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// A call was admitted.
    Start(CallStart),
    /// A call ended.
    Record(Box<CallRecord>),
}

/// A position in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// Segment number.
    pub seg: u64,
    /// Byte offset in the segment.
    pub off: u64,
}

/// What opening the spool found.
#[derive(Debug, Default)]
pub struct Recovery {
    /// Records not yet delivered, in order, each with the position just past it.
    pub pending: Vec<(Pos, CallRecord)>,
    /// Calls that started but have no record: they were up when the gateway stopped.
    pub open: Vec<CallStart>,
    /// Frames that could not be read (torn tails, corruption) and were skipped.
    pub skipped: u64,
}

/// The spool. See the module docs.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    seg_size: u64,
    writer: File,
    head: Pos,
    checkpoint: Pos,
    open: HashMap<String, (CallStart, Pos)>,
    unsynced: bool,
}

fn seg_path(dir: &Path, seg: u64) -> PathBuf {
    dir.join(format!("seg-{seg:016}.log"))
}

fn segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut v: Vec<u64> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.strip_prefix("seg-")?
                .strip_suffix(".log")?
                .parse()
                .ok()
        })
        .collect();
    v.sort_unstable();
    Ok(v)
}

/// Appends one frame to `out`: room for the header, the JSON written in place, then the
/// header filled in.
fn frame_into(out: &mut Vec<u8>, entry: &Entry) -> io::Result<()> {
    let at = out.len();
    out.extend_from_slice(&[0u8; 8]);
    if let Err(e) = serde_json::to_writer(&mut *out, entry) {
        out.truncate(at);
        return Err(io::Error::other(e));
    }
    let payload = &out[at + 8..];
    let Ok(len) = u32::try_from(payload.len()) else {
        out.truncate(at);
        return Err(io::Error::other("entry too large"));
    };
    let crc = crc32fast::hash(payload);
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
    out[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// Reads every valid frame of a segment: (offset past the frame, entry). Stops at the first
/// bad frame (a torn tail); the second value counts what was skipped.
fn read_segment(path: &Path) -> io::Result<(Vec<(u64, Entry)>, u64)> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    let mut out = Vec::new();
    let mut off = 0usize;
    while off + 8 <= bytes.len() {
        let len = u32::from_le_bytes([bytes[off], bytes[off + 1], bytes[off + 2], bytes[off + 3]]);
        let crc = u32::from_le_bytes([
            bytes[off + 4],
            bytes[off + 5],
            bytes[off + 6],
            bytes[off + 7],
        ]);
        let end = off + 8 + len as usize;
        if len > MAX_FRAME || end > bytes.len() {
            break;
        }
        let payload = &bytes[off + 8..end];
        if crc32fast::hash(payload) != crc {
            break;
        }
        match serde_json::from_slice::<Entry>(payload) {
            Ok(e) => out.push((end as u64, e)),
            Err(_) => break,
        }
        off = end;
    }
    let skipped = u64::from(off < bytes.len());
    Ok((out, skipped))
}

impl Spool {
    /// Opens (or creates) the spool in `dir` and replays it.
    pub fn open(dir: &Path, seg_size: u64) -> io::Result<(Self, Recovery)> {
        fs::create_dir_all(dir)?;
        let segs = segments(dir)?;
        let checkpoint = Self::read_checkpoint(dir).unwrap_or(Pos {
            seg: segs.first().copied().unwrap_or(0),
            off: 0,
        });
        let mut rec = Recovery::default();
        let mut open: HashMap<String, (CallStart, Pos)> = HashMap::new();
        for &seg in &segs {
            let (entries, skipped) = read_segment(&seg_path(dir, seg))?;
            rec.skipped += skipped;
            for (off, e) in entries {
                let pos = Pos { seg, off };
                match e {
                    Entry::Start(s) => {
                        open.insert(s.call_id.clone(), (s, pos));
                    }
                    Entry::Record(r) => {
                        open.remove(&r.call_id);
                        if pos > checkpoint {
                            rec.pending.push((pos, *r));
                        }
                    }
                }
            }
        }
        let next = segs.last().map_or(0, |s| s + 1);
        let writer = OpenOptions::new()
            .create(true)
            .append(true)
            .open(seg_path(dir, next))?;
        let mut starts: Vec<&(CallStart, Pos)> = open.values().collect();
        starts.sort_by_key(|(_, p)| *p);
        rec.open = starts.into_iter().map(|(s, _)| s.clone()).collect();
        let spool = Self {
            dir: dir.to_path_buf(),
            seg_size,
            writer,
            head: Pos { seg: next, off: 0 },
            checkpoint,
            open,
            unsynced: false,
        };
        Ok((spool, rec))
    }

    fn read_checkpoint(dir: &Path) -> Option<Pos> {
        let text = fs::read_to_string(dir.join("checkpoint")).ok()?;
        let mut it = text.split_whitespace().map(|x| x.parse::<u64>());
        Some(Pos {
            seg: it.next()?.ok()?,
            off: it.next()?.ok()?,
        })
    }

    fn append(&mut self, entry: &Entry) -> io::Result<Pos> {
        let mut buf = Vec::new();
        let end = self.append_framed(&mut buf, entry)?;
        self.write_buffer(&buf)?;
        Ok(end)
    }

    /// Frames `entry` into `buf`, to be written with [`Self::write_buffer`]; returns the
    /// position just past it once written.
    fn append_framed(&mut self, buf: &mut Vec<u8>, entry: &Entry) -> io::Result<Pos> {
        if buf.is_empty() && self.head.off >= self.seg_size {
            self.roll()?;
        }
        frame_into(buf, entry)?;
        Ok(Pos {
            seg: self.head.seg,
            off: self.head.off + buf.len() as u64,
        })
    }

    fn roll(&mut self) -> io::Result<()> {
        self.sync()?;
        self.head = Pos {
            seg: self.head.seg + 1,
            off: 0,
        };
        self.writer = OpenOptions::new()
            .create(true)
            .append(true)
            .open(seg_path(&self.dir, self.head.seg))?;
        Ok(())
    }

    /// Writes framed entries with one `write`.
    fn write_buffer(&mut self, buf: &[u8]) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        self.writer.write_all(buf)?;
        self.head.off += buf.len() as u64;
        self.unsynced = true;
        Ok(())
    }

    /// Journals call starts and records in order with one `write` (group commit). Returns,
    /// for each entry, the position just past it.
    pub fn write_batch(&mut self, entries: &[Entry]) -> io::Result<Vec<Pos>> {
        let mut buf = Vec::with_capacity(entries.len() * 256);
        let mut ends = Vec::with_capacity(entries.len());
        for e in entries {
            ends.push(self.append_framed(&mut buf, e)?);
        }
        self.write_buffer(&buf)?;
        for (e, end) in entries.iter().zip(&ends) {
            match e {
                Entry::Start(s) => {
                    self.open.insert(s.call_id.clone(), (s.clone(), *end));
                }
                Entry::Record(r) => {
                    self.open.remove(&r.call_id);
                }
            }
        }
        Ok(ends)
    }

    /// Journals a call's start.
    pub fn start(&mut self, s: &CallStart) -> io::Result<()> {
        let pos = self.append(&Entry::Start(s.clone()))?;
        self.open.insert(s.call_id.clone(), (s.clone(), pos));
        Ok(())
    }

    /// Journals a call's record; returns the position just past it (for [`Self::commit`]).
    pub fn record(&mut self, r: &CallRecord) -> io::Result<Pos> {
        let pos = self.append(&Entry::Record(Box::new(r.clone())))?;
        self.open.remove(&r.call_id);
        Ok(pos)
    }

    /// Forces what was written to stable storage.
    pub fn sync(&mut self) -> io::Result<()> {
        if self.unsynced {
            self.writer.sync_data()?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// Reads records from `from` up to the head (for a delivery queue that fell behind):
    /// at most `max`, each with the position just past it.
    pub fn read_records(&self, from: Pos, max: usize) -> io::Result<Vec<(Pos, CallRecord)>> {
        let mut out = Vec::new();
        for seg in segments(&self.dir)?
            .into_iter()
            .filter(|s| *s >= from.seg && *s <= self.head.seg)
        {
            let mut f = File::open(seg_path(&self.dir, seg))?;
            let start = if seg == from.seg { from.off } else { 0 };
            let limit = if seg == self.head.seg {
                self.head.off
            } else {
                u64::MAX
            };
            f.seek(SeekFrom::Start(start))?;
            let mut bytes = Vec::new();
            f.take(limit.saturating_sub(start))
                .read_to_end(&mut bytes)?;
            let mut off = 0usize;
            while off + 8 <= bytes.len() && out.len() < max {
                let len = u32::from_le_bytes([
                    bytes[off],
                    bytes[off + 1],
                    bytes[off + 2],
                    bytes[off + 3],
                ]) as usize;
                let end = off + 8 + len;
                if len > MAX_FRAME as usize || end > bytes.len() {
                    break;
                }
                if let Ok(Entry::Record(r)) = serde_json::from_slice::<Entry>(&bytes[off + 8..end])
                {
                    out.push((
                        Pos {
                            seg,
                            off: start + end as u64,
                        },
                        *r,
                    ));
                }
                off = end;
            }
            if out.len() >= max {
                break;
            }
        }
        Ok(out)
    }

    /// Every record up to `upto` is in the store: move the checkpoint there, and delete the
    /// segments wholly before it (after copying the starts of calls still open in them).
    pub fn commit(&mut self, upto: Pos) -> io::Result<()> {
        if upto <= self.checkpoint {
            return Ok(());
        }
        self.checkpoint = upto;
        let tmp = self.dir.join("checkpoint.tmp");
        fs::write(&tmp, format!("{} {}\n", upto.seg, upto.off))?;
        fs::rename(&tmp, self.dir.join("checkpoint"))?;
        let old: Vec<u64> = segments(&self.dir)?
            .into_iter()
            .filter(|s| *s < upto.seg)
            .collect();
        if old.is_empty() {
            return Ok(());
        }
        let keep: Vec<CallStart> = self
            .open
            .values()
            .filter(|(_, p)| p.seg < upto.seg)
            .map(|(s, _)| s.clone())
            .collect();
        for s in &keep {
            self.start(s)?;
        }
        self.sync()?;
        for seg in old {
            fs::remove_file(seg_path(&self.dir, seg))?;
        }
        Ok(())
    }

    /// The head: the position just past the last entry written.
    pub fn head(&self) -> Pos {
        self.head
    }

    /// The checkpoint: records before it are in the store.
    pub fn checkpoint(&self) -> Pos {
        self.checkpoint
    }

    /// Calls started and not yet recorded.
    pub fn open_calls(&self) -> usize {
        self.open.len()
    }
}

#[cfg(test)]
mod tests;
