//! Call quality on the trunk leg: packets received, lost and reordered, interarrival
//! jitter (RFC 3550 A.1 and A.8), an estimated MOS (the E-model of ITU-T G.107, reduced
//! to delay and packet loss), and one-way audio: one side silent (no RTP, or silence)
//! for a while after answer while the other side talks.

use serde::{Deserialize, Serialize};

/// RTP clock of G.711, Hz.
const CLOCK_HZ: u64 = 8_000;
/// A jump larger than this is a new stream, not loss (RFC 3550 A.1).
const MAX_DROPOUT: u16 = 3_000;
/// A step back of at most this many is reordering.
const MAX_MISORDER: u16 = 100;

/// What one call's media measured, kept in its record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaQuality {
    /// RTP packets received from the trunk.
    pub rtp_received: u64,
    /// RTP packets sent to the trunk.
    pub rtp_sent: u64,
    /// Packets the trunk sent that never arrived (from the sequence numbers).
    pub rtp_lost: u64,
    /// Packets that arrived too late to play, or as duplicates.
    pub rtp_late: u64,
    /// Lost and late per mille of those expected.
    pub loss_permille: u32,
    /// Interarrival jitter, µs (RFC 3550).
    pub jitter_us: u32,
    /// Estimated MOS × 100 (E-model, G.711 without loss concealment); 0 when no RTP
    /// came from the trunk.
    pub mos_x100: u16,
    /// The side that stayed silent while the other talked (`caller`: no audio from the
    /// trunk; `callee`: none from the modem), if that happened.
    pub one_way: Option<String>,
    /// RTCP reports sent and received on the trunk leg.
    pub rtcp_sent: u64,
    /// RTCP packets received.
    pub rtcp_received: u64,
    /// The far end's last report on the stream the gateway sends: lost per mille in
    /// its last interval (RTCP fraction lost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_loss_permille: Option<u32>,
    /// The far end's jitter on that stream, µs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_jitter_us: Option<u32>,
    /// Round trip from the last report that referred to one of our SRs, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<u32>,
}

impl MediaQuality {
    /// The MOS as a number.
    pub fn mos(&self) -> f64 {
        f64::from(self.mos_x100) / 100.0
    }
}

/// Reception statistics of the RTP stream from the trunk (RFC 3550 A.1, A.8).
#[derive(Debug, Clone, Default)]
pub struct Reception {
    ssrc: Option<u32>,
    base_seq: u32,
    max_seq: u16,
    cycles: u32,
    bad_seq: Option<u16>,
    received: u64,
    /// Expected, received and lost of earlier streams (the SSRC changed).
    carried: (u64, u64, u64),
    transit: Option<i64>,
    /// Jitter in RTP clock units.
    jitter: f64,
    /// For the next RTCP report's fraction lost.
    prior: (u64, u64),
    /// Highest sequence number and jitter for a report block.
    last_sr: Option<(u32, u64)>,
}

impl Reception {
    /// A packet arrived at `arrival_us` (any fixed origin). Audio packets (`ts` given)
    /// feed the jitter; every packet of the stream counts for loss.
    pub fn on_packet(&mut self, ssrc: u32, seq: u16, ts: Option<u32>, arrival_us: u64) {
        if self.ssrc != Some(ssrc) {
            if self.ssrc.is_some() {
                self.carry();
            }
            self.start(ssrc, seq);
        } else {
            let delta = seq.wrapping_sub(self.max_seq);
            if delta < MAX_DROPOUT {
                if seq < self.max_seq {
                    self.cycles += 1 << 16;
                }
                self.max_seq = seq;
            } else if delta <= u16::MAX - MAX_MISORDER {
                // A big jump: a restarted sender if the next packet follows it.
                if self.bad_seq == Some(seq) {
                    self.carry();
                    self.start(ssrc, seq);
                } else {
                    self.bad_seq = Some(seq.wrapping_add(1));
                    return;
                }
            }
        }
        self.received += 1;
        if let Some(ts) = ts {
            let arrival = (arrival_us.saturating_mul(CLOCK_HZ) / 1_000_000) as i64;
            let transit = arrival - i64::from(ts);
            if let Some(prev) = self.transit {
                let d = (transit - prev).abs() as f64;
                self.jitter += (d - self.jitter) / 16.0;
            }
            self.transit = Some(transit);
        }
    }

    /// Keeps the figures of the stream that ends.
    fn carry(&mut self) {
        let (e, r) = (self.expected_here(), self.received);
        self.carried = (
            self.carried.0 + e,
            self.carried.1 + r,
            self.carried.2 + e.saturating_sub(r),
        );
    }

    fn start(&mut self, ssrc: u32, seq: u16) {
        self.ssrc = Some(ssrc);
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.cycles = 0;
        self.bad_seq = None;
        self.received = 0;
        self.transit = None;
        self.prior = (0, 0);
    }

    fn extended_max(&self) -> u32 {
        self.cycles + u32::from(self.max_seq)
    }

    fn expected_here(&self) -> u64 {
        if self.ssrc.is_none() {
            return 0;
        }
        u64::from(self.extended_max().saturating_sub(self.base_seq)) + 1
    }

    /// Packets expected from the sequence numbers, all streams.
    pub fn expected(&self) -> u64 {
        self.carried.0 + self.expected_here()
    }

    /// Packets received, all streams.
    pub fn received(&self) -> u64 {
        self.carried.1 + self.received
    }

    /// Packets lost (never negative: duplicates do not make up for losses, in any
    /// stream).
    pub fn lost(&self) -> u64 {
        self.carried.2 + self.expected_here().saturating_sub(self.received)
    }

    /// Interarrival jitter, µs.
    pub fn jitter_us(&self) -> u32 {
        (self.jitter * 1_000_000.0 / CLOCK_HZ as f64) as u32
    }

    /// The SSRC of the stream, once one arrived.
    pub fn ssrc(&self) -> Option<u32> {
        self.ssrc
    }

    /// A report block for RTCP (RFC 3550 6.4.1), with the fraction lost since the last
    /// one; `None` before any packet. `lsr_dlsr` comes from the peer's last SR.
    pub fn report_block(&mut self, now_us: u64) -> Option<super::rtcp::ReportBlock> {
        let ssrc = self.ssrc?;
        let (expected, received) = (self.expected_here(), self.received);
        let exp_int = expected.saturating_sub(self.prior.0);
        let rec_int = received.saturating_sub(self.prior.1);
        self.prior = (expected, received);
        let lost_int = exp_int.saturating_sub(rec_int);
        let fraction = (lost_int << 8).checked_div(exp_int).unwrap_or(0).min(255) as u8;
        let (lsr, dlsr) = match self.last_sr {
            Some((lsr, at_us)) => {
                let d = now_us.saturating_sub(at_us);
                (lsr, ((d << 16) / 1_000_000).min(u64::from(u32::MAX)) as u32)
            }
            None => (0, 0),
        };
        Some(super::rtcp::ReportBlock {
            ssrc,
            fraction_lost: fraction,
            cumulative_lost: expected.saturating_sub(received).min(0x7f_ffff) as u32,
            highest_seq: self.extended_max(),
            jitter: self.jitter as u32,
            lsr,
            dlsr,
        })
    }

    /// The peer sent a sender report with this NTP time at `now_us`.
    pub fn on_sender_report(&mut self, ntp: u64, now_us: u64) {
        self.last_sr = Some(((ntp >> 16) as u32, now_us));
    }
}

/// The E-model's R factor for G.711 without loss concealment (G.107 with G.113's
/// Ie = 0, Bpl = 4.3), from the packet loss in percent and the one-way delay in ms.
pub fn r_factor(loss_pct: f64, delay_ms: f64) -> f64 {
    let ppl = loss_pct.clamp(0.0, 100.0);
    let ie_eff = 95.0 * ppl / (ppl + 4.3);
    let id = 0.024 * delay_ms
        + if delay_ms > 177.3 {
            0.11 * (delay_ms - 177.3)
        } else {
            0.0
        };
    93.2 - id - ie_eff
}

/// MOS from an R factor (G.107 B.4).
pub fn mos(r: f64) -> f64 {
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        (1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6).max(1.0)
    }
}

/// The one-way delay the E-model is given, ms: packetisation, the jitter buffer, twice
/// the jitter, and the modem's audio path (about 40 ms of USB serial buffering).
pub fn delay_ms(buffer_ms: f64, jitter_ms: f64) -> f64 {
    20.0 + buffer_ms + 2.0 * jitter_ms + 40.0
}

/// Mean absolute amplitude of 16-bit little-endian PCM.
pub fn level(pcm_le: &[u8]) -> u32 {
    let n = pcm_le.len() / 2;
    if n == 0 {
        return 0;
    }
    let sum: u64 = pcm_le
        .chunks_exact(2)
        .map(|b| u64::from(i16::from_le_bytes([b[0], b[1]]).unsigned_abs()))
        .sum();
    (sum / n as u64) as u32
}

/// A frame at or above this mean amplitude is speech (about -44 dBFS).
pub const VOICE_LEVEL: u32 = 200;

/// Which side of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The SIP caller (audio from the trunk).
    Caller,
    /// The GSM callee (audio from the modem).
    Callee,
}

impl Side {
    /// `caller` or `callee`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Caller => "caller",
            Self::Callee => "callee",
        }
    }
}

/// Finds one-way audio: after answer, one side without speech for `window_ms` while the
/// other side spoke within the last second.
#[derive(Debug, Clone)]
pub struct OneWay {
    window_ms: u64,
    answered_ms: Option<u64>,
    voice: [Option<u64>; 2],
    found: Option<Side>,
}

impl OneWay {
    /// A detector with this window (0: off).
    pub fn new(window_ms: u64) -> Self {
        Self {
            window_ms,
            answered_ms: None,
            voice: [None, None],
            found: None,
        }
    }

    /// The call was answered.
    pub fn answered(&mut self, now_ms: u64) {
        self.answered_ms.get_or_insert(now_ms);
    }

    /// A frame of `side`'s audio.
    pub fn frame(&mut self, side: Side, pcm_le: &[u8], now_ms: u64) {
        if level(pcm_le) >= VOICE_LEVEL {
            self.voice[side as usize] = Some(now_ms);
        }
    }

    /// The call is on hold (a side is not meant to send): silence counts from now.
    pub fn hold(&mut self, now_ms: u64) {
        self.voice = [Some(now_ms), Some(now_ms)];
    }

    /// Looks at the sides now; returns the silent side when it is first found.
    pub fn check(&mut self, now_ms: u64) -> Option<Side> {
        let answered = self.answered_ms?;
        if self.window_ms == 0 || self.found.is_some() {
            return None;
        }
        for (side, other) in [(Side::Caller, Side::Callee), (Side::Callee, Side::Caller)] {
            let since = self.voice[side as usize].map_or(answered, |t| t.max(answered));
            let other_talks =
                self.voice[other as usize].is_some_and(|t| now_ms.saturating_sub(t) < 1_000);
            if now_ms.saturating_sub(since) >= self.window_ms && other_talks {
                self.found = Some(side);
                return self.found;
            }
        }
        None
    }

    /// The silent side, if one was found.
    pub fn found(&self) -> Option<Side> {
        self.found
    }
}

#[cfg(test)]
mod tests;
