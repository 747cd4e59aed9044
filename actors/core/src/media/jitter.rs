//! A small jitter buffer for received RTP audio, keyed by sequence number.
//!
//! Packets go in with [`JitterBuffer::push`] as they arrive, in any order. The pacer calls
//! [`JitterBuffer::pop`] once per 20 ms tick and gets one [`Playout`]:
//!
//! - [`Playout::Waiting`]: the buffer is filling up to its target depth (at the start, or
//!   again after it ran dry); play silence.
//! - [`Playout::Frame`]: the next frame in sequence.
//! - [`Playout::Gap`]: the next frame is missing but later ones are here; play silence or
//!   repeat the last frame. The buffer skips straight to the next frame it holds, so a
//!   burst of losses costs one tick of concealment, not one per lost packet, and latency
//!   stays at the target depth.
//!
//! Sequence numbers are extended past 65535 internally, so wrap-around is ordinary. A
//! packet older than the playout point is late (or a duplicate, if it was already played)
//! and dropped. A jump of more than [`MAX_DROPOUT`] ahead or [`MAX_MISORDER`] behind the
//! newest packet is taken as a restarted sender (RFC 3550 A.1 uses the same limits): the
//! buffer empties and starts again. Past the maximum depth the oldest entries are dropped;
//! this is also what absorbs a sender whose clock runs faster than the pacer.
//!
//! Packets of the same stream that carry no audio (RFC 4733 events) are announced with
//! [`JitterBuffer::push_other`] so that playout steps over their sequence numbers without
//! counting them as lost. Time is never read: a tick is a call to `pop`.

use std::collections::BTreeMap;

use thiserror::Error;

/// Packets ahead of the newest one beyond which the sender is taken as restarted.
pub const MAX_DROPOUT: i64 = 3000;

/// Packets behind the newest one beyond which the sender is taken as restarted.
pub const MAX_MISORDER: i64 = 100;

/// Depths of a [`JitterBuffer`], in 20 ms frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// Frames buffered before playout starts (and restarts after running dry).
    pub target_depth: usize,
    /// Entries held at most; beyond this the oldest are dropped.
    pub max_depth: usize,
}

impl Default for JitterConfig {
    /// Target 2 frames (40 ms), at most 8 (160 ms).
    fn default() -> Self {
        Self {
            target_depth: 2,
            max_depth: 8,
        }
    }
}

/// An invalid [`JitterConfig`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JitterError {
    /// The target depth is zero.
    #[error("jitter buffer target depth must be at least 1 frame")]
    ZeroTarget,
    /// The maximum depth is below the target.
    #[error("jitter buffer max depth {max} is below the target depth {target}")]
    MaxBelowTarget {
        /// Configured target depth.
        target: usize,
        /// Configured maximum depth.
        max: usize,
    },
}

/// One received audio frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// RTP sequence number.
    pub sequence: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// RTP payload (G.711 bytes).
    pub payload: Vec<u8>,
}

/// What to play on this tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playout {
    /// The next frame in sequence.
    Frame(Frame),
    /// The frame with this sequence number is missing; conceal it.
    Gap {
        /// Sequence number of the first missing frame.
        sequence: u16,
    },
    /// Buffering (start, or after running dry): nothing to play yet.
    Waiting,
}

/// What [`JitterBuffer::push`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Buffered for playout.
    Queued,
    /// Already buffered or already played; dropped.
    Duplicate,
    /// Older than the playout point; dropped.
    Late,
    /// Far outside the window: the buffer restarted with this packet.
    Resync,
}

/// Counters since creation (or [`JitterBuffer::reset`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Audio packets pushed, whatever became of them.
    pub received: u64,
    /// Packets dropped because their turn had passed.
    pub late: u64,
    /// Sequence numbers never received by the time playout needed them.
    pub lost: u64,
    /// Packets dropped as duplicates.
    pub duplicates: u64,
    /// Entries dropped because the buffer was full.
    pub overflow: u64,
    /// Times playout ran dry and went back to buffering.
    pub underruns: u64,
    /// Times the buffer restarted on a sequence jump.
    pub resyncs: u64,
    /// Frames played.
    pub played: u64,
    /// Ticks answered with [`Playout::Gap`].
    pub concealed: u64,
}

/// The jitter buffer of one received stream. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct JitterBuffer {
    config: JitterConfig,
    /// Extended sequence number → frame, or `None` for a non-audio packet.
    slots: BTreeMap<i64, Option<Frame>>,
    /// Audio frames in `slots`.
    audio: usize,
    /// Newest extended sequence number seen.
    highest: Option<i64>,
    /// Next extended sequence number to play.
    expected: Option<i64>,
    playing: bool,
    /// Newest extended sequence number played, and a bit per earlier one (bit i = played
    /// `last_played - i`), to tell duplicates from late packets.
    last_played: Option<i64>,
    played_mask: u64,
    stats: JitterStats,
}

impl JitterBuffer {
    /// An empty buffer.
    pub fn new(config: JitterConfig) -> Result<Self, JitterError> {
        if config.target_depth == 0 {
            return Err(JitterError::ZeroTarget);
        }
        if config.max_depth < config.target_depth {
            return Err(JitterError::MaxBelowTarget {
                target: config.target_depth,
                max: config.max_depth,
            });
        }
        Ok(Self {
            config,
            slots: BTreeMap::new(),
            audio: 0,
            highest: None,
            expected: None,
            playing: false,
            last_played: None,
            played_mask: 0,
            stats: JitterStats::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> JitterConfig {
        self.config
    }

    /// Audio frames buffered.
    pub fn depth(&self) -> usize {
        self.audio
    }

    /// Whether playout is running (not buffering).
    pub fn is_playing(&self) -> bool {
        self.playing
    }

    /// The counters.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Empties the buffer and zeroes the counters (new stream, new SSRC).
    pub fn reset(&mut self) {
        self.clear();
        self.stats = JitterStats::default();
    }

    /// Adds a received audio packet.
    pub fn push(&mut self, sequence: u16, timestamp: u32, payload: &[u8]) -> PushOutcome {
        self.stats.received += 1;
        let frame = Frame {
            sequence,
            timestamp,
            payload: payload.to_vec(),
        };
        self.insert(sequence, Some(frame))
    }

    /// Notes a packet of the same stream that carries no audio (an RFC 4733 event), so
    /// playout steps over its sequence number without counting a loss.
    pub fn push_other(&mut self, sequence: u16) -> PushOutcome {
        self.insert(sequence, None)
    }

    /// What to play on this tick. Call exactly once per 20 ms.
    pub fn pop(&mut self) -> Playout {
        if !self.playing {
            if self.audio < self.config.target_depth {
                return Playout::Waiting;
            }
            let Some((&first, _)) = self.slots.first_key_value() else {
                return Playout::Waiting;
            };
            if let Some(e) = self.expected {
                self.stats.lost += u64::try_from(first - e).unwrap_or(0);
            }
            self.expected = Some(first);
            self.playing = true;
        }
        loop {
            let (Some(e), Some((&k, _))) = (self.expected, self.slots.first_key_value()) else {
                return self.underrun();
            };
            if k < e {
                // Unreachable by construction (late entries are never inserted); drop it.
                self.remove(k);
                continue;
            }
            if k == e {
                self.expected = Some(e + 1);
                self.mark_played(k);
                match self.remove(k) {
                    Some(frame) => {
                        self.stats.played += 1;
                        return Playout::Frame(frame);
                    }
                    None => continue,
                }
            }
            if self.audio == 0 {
                return self.underrun();
            }
            self.stats.lost += u64::try_from(k - e).unwrap_or(0);
            self.stats.concealed += 1;
            self.expected = Some(k);
            return Playout::Gap {
                // Truncation recovers the 16-bit sequence number.
                sequence: e as u16,
            };
        }
    }

    fn insert(&mut self, sequence: u16, entry: Option<Frame>) -> PushOutcome {
        let mut outcome = PushOutcome::Queued;
        let mut ext = self.extend(sequence);
        if let Some(h) = self.highest {
            if ext - h > MAX_DROPOUT || h - ext > MAX_MISORDER {
                self.clear();
                self.stats.resyncs += 1;
                ext = i64::from(sequence);
                outcome = PushOutcome::Resync;
            }
        }
        if let Some(e) = self.expected {
            if ext < e {
                return if self.was_played(ext) {
                    self.stats.duplicates += 1;
                    PushOutcome::Duplicate
                } else {
                    self.stats.late += 1;
                    PushOutcome::Late
                };
            }
        }
        if self.slots.contains_key(&ext) {
            self.stats.duplicates += 1;
            return PushOutcome::Duplicate;
        }
        if entry.is_some() {
            self.audio += 1;
        }
        self.slots.insert(ext, entry);
        self.highest = Some(self.highest.map_or(ext, |h| h.max(ext)));
        while self.slots.len() > self.config.max_depth {
            let Some((&k, _)) = self.slots.first_key_value() else {
                break;
            };
            self.remove(k);
            self.stats.overflow += 1;
            if let Some(e) = self.expected {
                if k >= e {
                    self.stats.lost += u64::try_from(k - e).unwrap_or(0);
                    self.expected = Some(k + 1);
                }
            }
        }
        outcome
    }

    /// Extends a 16-bit sequence number to the one nearest the newest seen.
    fn extend(&self, sequence: u16) -> i64 {
        match self.highest {
            None => i64::from(sequence),
            // `h as u16` keeps the low 16 bits; the signed difference is the distance.
            Some(h) => h + i64::from(sequence.wrapping_sub(h as u16) as i16),
        }
    }

    fn remove(&mut self, k: i64) -> Option<Frame> {
        let entry = self.slots.remove(&k).flatten();
        if entry.is_some() {
            self.audio -= 1;
        }
        entry
    }

    fn underrun(&mut self) -> Playout {
        self.playing = false;
        self.stats.underruns += 1;
        Playout::Waiting
    }

    fn mark_played(&mut self, k: i64) {
        match self.last_played {
            Some(last) if k <= last => {
                if last - k < 64 {
                    self.played_mask |= 1 << (last - k);
                }
            }
            Some(last) if k - last < 64 => {
                self.played_mask = (self.played_mask << (k - last)) | 1;
                self.last_played = Some(k);
            }
            _ => {
                self.played_mask = 1;
                self.last_played = Some(k);
            }
        }
    }

    fn was_played(&self, ext: i64) -> bool {
        match self.last_played {
            Some(last) if ext <= last && last - ext < 64 => {
                self.played_mask >> (last - ext) & 1 == 1
            }
            _ => false,
        }
    }

    fn clear(&mut self) {
        self.slots.clear();
        self.audio = 0;
        self.highest = None;
        self.expected = None;
        self.playing = false;
        self.last_played = None;
        self.played_mask = 0;
    }
}

#[cfg(test)]
mod tests;
