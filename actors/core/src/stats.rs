//! Counting for metrics: a histogram with fixed bounds, and the SIP message tally.

use std::collections::BTreeMap;

/// Upper bounds of latency buckets, µs (the filter's stages, the SIP handler).
pub const LATENCY_BOUNDS_US: &[u64] = &[
    5, 20, 50, 200, 1_000, 5_000, 20_000, 100_000, 500_000, 2_000_000,
];

/// A histogram: cumulative counts per upper bound (the last bucket is +Inf), the sum and
/// the count of what was observed. The unit is the caller's (µs, ms, s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram {
    /// Upper bounds, ascending.
    pub bounds: &'static [u64],
    /// Cumulative counts per bound, then +Inf.
    pub buckets: Vec<u64>,
    /// Sum of observations.
    pub sum: u64,
    /// Observations.
    pub count: u64,
}

impl Default for Histogram {
    /// A latency histogram in µs ([`LATENCY_BOUNDS_US`]).
    fn default() -> Self {
        Self::new(LATENCY_BOUNDS_US)
    }
}

impl Histogram {
    /// An empty histogram with these bounds.
    pub fn new(bounds: &'static [u64]) -> Self {
        Self {
            bounds,
            buckets: vec![0; bounds.len() + 1],
            sum: 0,
            count: 0,
        }
    }

    /// Counts one observation.
    pub fn observe(&mut self, v: u64) {
        for (i, b) in self.bounds.iter().enumerate() {
            if v <= *b {
                if let Some(x) = self.buckets.get_mut(i) {
                    *x += 1;
                }
            }
        }
        if let Some(x) = self.buckets.last_mut() {
            *x += 1;
        }
        self.sum = self.sum.saturating_add(v);
        self.count += 1;
    }

    /// Per-bucket (not cumulative) counts with their bounds divided by `unit` (the
    /// bound in the exported unit; the last is +Inf), as exposition encoders want them.
    pub fn exposition(&self, unit: f64) -> Vec<(f64, u64)> {
        let mut out = Vec::with_capacity(self.buckets.len());
        let mut below = 0;
        for (i, c) in self.buckets.iter().enumerate() {
            let bound = self
                .bounds
                .get(i)
                .map_or(f64::INFINITY, |b| *b as f64 / unit);
            out.push((bound, c.saturating_sub(below)));
            below = *c;
        }
        out
    }
}

/// Which way a SIP message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Direction {
    /// Received.
    In,
    /// Sent.
    Out,
}

impl Direction {
    /// `in` or `out`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
}

/// Request methods counted by name; any other is `other`.
pub const METHODS: [&str; 15] = [
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "OPTIONS",
    "REGISTER",
    "INFO",
    "UPDATE",
    "PRACK",
    "REFER",
    "NOTIFY",
    "SUBSCRIBE",
    "MESSAGE",
    "PUBLISH",
    "other",
];

/// What the first line of a SIP message says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstLine {
    /// A request: index into [`METHODS`].
    Request(usize),
    /// A response with this status.
    Response(u16),
}

/// Reads the first line of a message: `METHOD uri SIP/2.0` or `SIP/2.0 code reason`.
/// `None` when it is neither (garbage, a keep-alive).
pub fn first_line(bytes: &[u8]) -> Option<FirstLine> {
    let line = bytes.split(|b| *b == b'\r' || *b == b'\n').next()?;
    if let Some(rest) = line.strip_prefix(b"SIP/2.0 ") {
        let code = rest.get(..3)?;
        if !code.iter().all(u8::is_ascii_digit) || rest.get(3).is_some_and(|b| *b != b' ') {
            return None;
        }
        let code = code.iter().fold(0u16, |a, d| a * 10 + u16::from(d - b'0'));
        return (100..=699)
            .contains(&code)
            .then_some(FirstLine::Response(code));
    }
    let method = line.split(|b| *b == b' ').next()?;
    if method.is_empty() || !line.ends_with(b" SIP/2.0") {
        return None;
    }
    let i = METHODS
        .iter()
        .position(|m| m.as_bytes() == method)
        .unwrap_or(METHODS.len() - 1);
    Some(FirstLine::Request(i))
}

/// SIP messages by method or status, each way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SipTally {
    /// Requests by (method index, direction).
    pub requests: BTreeMap<(usize, Direction), u64>,
    /// Responses by (status, direction).
    pub responses: BTreeMap<(u16, Direction), u64>,
}

impl SipTally {
    /// Counts one message.
    pub fn count(&mut self, bytes: &[u8], dir: Direction) {
        match first_line(bytes) {
            Some(FirstLine::Request(i)) => *self.requests.entry((i, dir)).or_default() += 1,
            Some(FirstLine::Response(c)) => *self.responses.entry((c, dir)).or_default() += 1,
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_counts_and_exposes() {
        let mut h = Histogram::new(&[10, 100]);
        for v in [1, 10, 11, 500] {
            h.observe(v);
        }
        assert_eq!(h.buckets, [2, 3, 4]);
        assert_eq!((h.sum, h.count), (522, 4));
        let e = h.exposition(1000.0);
        assert_eq!(e.len(), 3);
        assert_eq!(e[0], (0.01, 2));
        assert_eq!(e[1], (0.1, 1));
        assert!(e[2].0.is_infinite());
        assert_eq!(e[2].1, 1);
        assert_eq!(Histogram::default().bounds, LATENCY_BOUNDS_US);
    }

    #[test]
    fn first_lines() {
        let idx = |m: &str| METHODS.iter().position(|x| *x == m).expect("known");
        for (msg, want) in [
            (
                "INVITE sip:1@h SIP/2.0\r\nVia: x\r\n",
                Some(FirstLine::Request(idx("INVITE"))),
            ),
            ("BYE sip:1@h SIP/2.0", Some(FirstLine::Request(idx("BYE")))),
            (
                "FOO sip:1@h SIP/2.0\r\n",
                Some(FirstLine::Request(idx("other"))),
            ),
            ("SIP/2.0 200 OK\r\n", Some(FirstLine::Response(200))),
            ("SIP/2.0 486 Busy Here\r\n", Some(FirstLine::Response(486))),
            ("SIP/2.0 999 What\r\n", None),
            ("SIP/2.0 20 OK\r\n", None),
            ("SIP/2.0 2000 OK\r\n", None),
            ("\r\n\r\n", None),
            ("", None),
            ("INVITE sip:1@h HTTP/1.1\r\n", None),
            ("garbage", None),
        ] {
            assert_eq!(first_line(msg.as_bytes()), want, "{msg:?}");
        }
    }

    #[test]
    fn tally_counts_each_way() {
        let mut t = SipTally::default();
        t.count(b"INVITE sip:1@h SIP/2.0\r\n", Direction::In);
        t.count(b"INVITE sip:1@h SIP/2.0\r\n", Direction::In);
        t.count(b"SIP/2.0 100 Trying\r\n", Direction::Out);
        t.count(b"\r\n\r\n", Direction::In);
        assert_eq!(t.requests.get(&(0, Direction::In)), Some(&2));
        assert_eq!(t.responses.get(&(100, Direction::Out)), Some(&1));
        assert_eq!(t.requests.len() + t.responses.len(), 2);
    }
}

/// Post-dial delay buckets, ms.
pub const PDD_BOUNDS_MS: &[u64] = &[
    500, 1_000, 2_000, 3_000, 5_000, 8_000, 12_000, 20_000, 30_000,
];
/// Setup time buckets (INVITE to answer), ms.
pub const SETUP_BOUNDS_MS: &[u64] = &[1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 60_000];
/// Talk time buckets, s.
pub const TALK_BOUNDS_S: &[u64] = &[5, 15, 30, 60, 120, 300, 600, 1_800, 3_600];

/// MOS × 100 buckets.
pub const MOS_BOUNDS_X100: &[u64] = &[100, 200, 250, 300, 350, 380, 400, 420, 440, 450];
/// Jitter buckets, µs.
pub const JITTER_BOUNDS_US: &[u64] = &[1_000, 5_000, 10_000, 20_000, 40_000, 80_000, 160_000];

/// Finished calls, for ASR, ACD, PDD and failures by cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallTally {
    /// Calls by outcome.
    pub outcomes: BTreeMap<crate::record::Outcome, u64>,
    /// Post-dial delay of calls that got one (dial to alerting or answer), ms.
    pub pdd: Histogram,
    /// INVITE to answer of answered calls, ms.
    pub setup: Histogram,
    /// Talk time of answered calls, s.
    pub talk: Histogram,
    /// Estimated MOS × 100 of calls with media from the trunk.
    pub mos: Histogram,
    /// Interarrival jitter of calls with media from the trunk, µs.
    pub jitter: Histogram,
    /// Calls with one-way audio, by the silent side (`caller`, `callee`).
    pub one_way: BTreeMap<String, u64>,
    /// RTP packets received from the trunk, lost, and late or duplicated.
    pub rtp_received: u64,
    /// Lost.
    pub rtp_lost: u64,
    /// Late or duplicated.
    pub rtp_late: u64,
}

impl Default for CallTally {
    fn default() -> Self {
        Self {
            outcomes: BTreeMap::new(),
            pdd: Histogram::new(PDD_BOUNDS_MS),
            setup: Histogram::new(SETUP_BOUNDS_MS),
            talk: Histogram::new(TALK_BOUNDS_S),
            mos: Histogram::new(MOS_BOUNDS_X100),
            jitter: Histogram::new(JITTER_BOUNDS_US),
            one_way: BTreeMap::new(),
            rtp_received: 0,
            rtp_lost: 0,
            rtp_late: 0,
        }
    }
}

impl CallTally {
    /// Counts one finished call.
    pub fn observe(&mut self, r: &crate::record::CallRecord) {
        *self.outcomes.entry(r.outcome()).or_default() += 1;
        if let Some(p) = r.post_dial_delay_ms {
            self.pdd.observe(p);
        }
        if let Some(a) = r.answered_ms {
            self.setup.observe(a.saturating_sub(r.received_ms));
            self.talk.observe(r.talk_ms / 1000);
        }
        if let Some(q) = &r.quality {
            if q.mos_x100 > 0 {
                self.mos.observe(u64::from(q.mos_x100));
                self.jitter.observe(u64::from(q.jitter_us));
            }
            if let Some(side) = &q.one_way {
                *self.one_way.entry(side.clone()).or_default() += 1;
            }
            self.rtp_received += q.rtp_received;
            self.rtp_lost += q.rtp_lost;
            self.rtp_late += q.rtp_late;
        }
    }
}

#[cfg(test)]
mod call_tests {
    use super::*;
    use crate::record::{CallStart, Outcome};

    #[test]
    fn calls_are_tallied() {
        let start = CallStart {
            call_id: "c".into(),
            trunk: None,
            caller: "1".into(),
            callee: "2".into(),
            received_ms: 1_000,
        };
        let mut t = CallTally::default();
        t.observe(&start.refused(403));
        let mut up = start.refused(200);
        up.answered_ms = Some(4_500);
        up.post_dial_delay_ms = Some(2_500);
        up.talk_ms = 61_000;
        up.quality = Some(crate::media::quality::MediaQuality {
            rtp_received: 90,
            rtp_lost: 10,
            mos_x100: 250,
            one_way: Some("caller".into()),
            ..Default::default()
        });
        t.observe(&up);
        assert_eq!(t.outcomes.get(&Outcome::Rejected), Some(&1));
        assert_eq!(t.outcomes.get(&Outcome::Answered), Some(&1));
        assert_eq!((t.pdd.count, t.pdd.sum), (1, 2_500));
        assert_eq!((t.setup.count, t.setup.sum), (1, 3_500));
        assert_eq!((t.talk.count, t.talk.sum), (1, 61));
        assert_eq!((t.mos.count, t.mos.sum), (1, 250));
        assert_eq!(t.one_way.get("caller"), Some(&1));
        assert_eq!((t.rtp_received, t.rtp_lost), (90, 10));
    }
}
