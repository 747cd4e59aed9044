//! The generated data: every record derived from its index by a small deterministic
//! generator, so both stores get the same records, and the answers each query must give
//! computed from the records' shapes kept in memory.

use std::collections::HashSet;

use e173gw_core::at::cause::EndKind;
use e173gw_core::ports::{LastOutcome, NumberHistory, Party};
use e173gw_core::record::{Attempt, CallRecord, EndReason, RecordTarget};

use crate::{Plan, END_MS, HOT, NUMBERS, SHORT_CALL_MS, SPAN};

/// A small deterministic generator (SplitMix64), so both stores get the same data.
#[derive(Debug)]
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Answered,
    Busy,
    NoAnswer,
    Rejected,
    Cancelled,
}

/// The queried fields of one record: what the expected answers are computed from.
#[derive(Debug, Clone, Copy)]
struct Shape {
    caller: u32,
    callee: u32,
    received_ms: u64,
    outcome: Outcome,
    talk_ms: u64,
}

impl Shape {
    /// Record `k` of `total`; receive times rise strictly with `k`.
    fn new(k: u64, total: u64) -> Shape {
        let step = (SPAN / total).max(1);
        let mut r = Rng(k.wrapping_mul(0xA076_1D64_78BD_642F) ^ 0xE173);
        let caller = if r.below(100) < 30 {
            r.below(HOT)
        } else {
            r.below(NUMBERS)
        };
        let callee = if r.below(100) < 10 {
            HOT + r.below(HOT)
        } else {
            r.below(NUMBERS)
        };
        let received_ms = END_MS - SPAN + k * step + r.below(step);
        let outcome = match r.below(100) {
            0..45 => Outcome::Answered,
            45..70 => Outcome::Busy,
            70..85 => Outcome::NoAnswer,
            85..95 => Outcome::Rejected,
            _ => Outcome::Cancelled,
        };
        let talk_ms = match (outcome, r.below(100)) {
            (Outcome::Answered, 0..20) => 300 + r.below(SHORT_CALL_MS - 300),
            (Outcome::Answered, _) => {
                let long = r.below(900_000);
                SHORT_CALL_MS + r.below(long + 1)
            }
            _ => 0,
        };
        Shape {
            caller: u32::try_from(caller).expect("number index fits"),
            callee: u32::try_from(callee).expect("number index fits"),
            received_ms,
            outcome,
            talk_ms,
        }
    }

    fn sip_status(&self) -> u16 {
        match self.outcome {
            Outcome::Answered => 200,
            Outcome::Busy => 486,
            Outcome::NoAnswer => 480,
            Outcome::Rejected => 403,
            Outcome::Cancelled => 487,
        }
    }

    fn gsm_end(&self) -> Option<EndKind> {
        match self.outcome {
            Outcome::Answered => Some(EndKind::Normal),
            Outcome::Busy => Some(EndKind::Busy),
            Outcome::NoAnswer => Some(EndKind::NoAnswer),
            Outcome::Rejected | Outcome::Cancelled => None,
        }
    }

    fn last(&self) -> LastOutcome {
        LastOutcome {
            at_ms: self.received_ms,
            sip_status: self.sip_status(),
            gsm_end: self.gsm_end(),
            talk_ms: self.talk_ms,
        }
    }
}

/// Number `i` of the universe: Brazilian mobiles, scattered (48271 is prime to 10^8).
pub(crate) fn number(i: u32) -> String {
    format!(
        "5511{:09}",
        900_000_000 + (u64::from(i) * 48_271) % 100_000_000
    )
}

pub(crate) fn call_id(k: u64) -> String {
    let mut r = Rng(k ^ 0xCA11);
    format!("{:016x}{k:x}@sbc{}.carrier.example", r.next(), k % 4)
}

/// The full record `k`.
fn record(k: u64, s: &Shape) -> CallRecord {
    let t = s.received_ms;
    let modem = format!("m{:02}", k % 16);
    let routed = (s.outcome != Outcome::Rejected).then_some(t + 4 + k % 7);
    let alerting = match s.outcome {
        Outcome::Answered | Outcome::NoAnswer | Outcome::Cancelled => Some(t + 1_800 + k % 900),
        _ => None,
    };
    let answered = (s.outcome == Outcome::Answered).then_some(t + 9_000 + k % 20_000);
    let ended = match (s.outcome, answered, alerting) {
        (_, Some(a), _) => a + s.talk_ms,
        (Outcome::NoAnswer, _, _) => t + 45_000,
        (_, _, Some(al)) => al + 3_000,
        _ => t + 2_500,
    };
    let mut attempts = Vec::new();
    if s.outcome == Outcome::Busy && k % 5 == 0 {
        attempts.push(Attempt {
            modem: format!("m{:02}", (k + 1) % 16),
            end: Some(EndKind::Congestion),
            q850: Some(34),
            detail: "network congestion".into(),
        });
    }
    CallRecord {
        call_id: call_id(k),
        trunk: Some(["carrier-a", "carrier-b", "pbx"][(k % 3) as usize].into()),
        caller: number(s.caller),
        callee: number(s.callee),
        target: match s.outcome {
            Outcome::Rejected => RecordTarget::None,
            _ => RecordTarget::Modem {
                imei: Some(format!("3549110210{:05}", k % 16)),
                imsi: Some(format!("7240200010{:05}", k % 16)),
                iccid: Some(format!("895502001000{:07}", k % 16)),
                modem,
            },
        },
        attempts,
        received_ms: t,
        routed_ms: routed,
        alerting_ms: alerting,
        answered_ms: answered,
        ended_ms: ended,
        sip_status: s.sip_status(),
        end_reason: match s.outcome {
            Outcome::Answered if k % 2 == 0 => EndReason::CallerHangup,
            Outcome::Answered => EndReason::CalleeHangup,
            Outcome::Busy | Outcome::NoAnswer => EndReason::Failed,
            Outcome::Rejected => EndReason::Rejected,
            Outcome::Cancelled => EndReason::Cancelled,
        },
        gsm_end: s.gsm_end(),
        q850: match s.outcome {
            Outcome::Answered => Some(16),
            Outcome::Busy => Some(17),
            Outcome::NoAnswer => Some(19),
            _ => None,
        },
        post_dial_delay_ms: routed.zip(alerting.or(answered)).map(|(r, a)| a - r),
        talk_ms: s.talk_ms,
        verdict: match s.outcome {
            Outcome::Rejected => vec!["blacklist: reject 403 (prefix 5511)".into()],
            _ => vec!["blacklist: pass".into(), "phone: valid mobile".into()],
        },
        route: Vec::new(),
        history: Vec::new(),
        quality: None,
        direction: Default::default(),
    }
}

/// Every record's shape, and which records each number is on, in receive order.
#[derive(Debug)]
pub(crate) struct Data {
    shapes: Vec<Shape>,
    by_caller: Vec<Vec<u32>>,
    by_callee: Vec<Vec<u32>>,
}

impl Data {
    pub(crate) fn new(plan: &Plan) -> Data {
        let total = plan.total();
        let shapes: Vec<Shape> = (0..total).map(|k| Shape::new(k, total)).collect();
        let mut by_caller = vec![Vec::new(); NUMBERS as usize];
        let mut by_callee = vec![Vec::new(); NUMBERS as usize];
        for (k, s) in shapes.iter().enumerate() {
            let k = u32::try_from(k).expect("record index fits");
            by_caller[s.caller as usize].push(k);
            by_callee[s.callee as usize].push(k);
        }
        Data {
            shapes,
            by_caller,
            by_callee,
        }
    }

    pub(crate) fn record(&self, k: u64) -> CallRecord {
        record(k, &self.shapes[k as usize])
    }

    /// Records of number `i` as `party`, oldest first.
    pub(crate) fn of(&self, party: Party, i: u32) -> &[u32] {
        match party {
            Party::Caller => &self.by_caller[i as usize],
            Party::Callee => &self.by_callee[i as usize],
        }
    }

    /// What `number_history` must answer for number `i` (`None`: a stranger).
    pub(crate) fn history(&self, party: Party, i: Option<u32>, since_ms: u64) -> NumberHistory {
        let Some(i) = i else {
            return NumberHistory::default();
        };
        let mut h = NumberHistory::default();
        let mut peers = HashSet::new();
        for &k in self.of(party, i) {
            let s = &self.shapes[k as usize];
            if s.received_ms < since_ms {
                continue;
            }
            h.attempts += 1;
            if s.outcome == Outcome::Answered {
                h.answered += 1;
                h.short_calls += u64::from(s.talk_ms < SHORT_CALL_MS);
                h.consecutive_failures = 0;
            } else if s.last().gsm_end.is_some_and(|k| {
                use e173gw_core::at::cause::EndKind::*;
                matches!(
                    k,
                    Busy | NoAnswer | Rejected | Unassigned | InvalidNumber | Unreachable
                )
            }) {
                // Only the callee side's failures count; gateway faults neither count
                // nor break the run.
                h.consecutive_failures += 1;
            }
            peers.insert(match party {
                Party::Caller => s.callee,
                Party::Callee => s.caller,
            });
            h.last = Some(s.last());
        }
        h.distinct_peers = peers.len() as u64;
        h
    }

    /// Numbers to ask about as `party`: 80% picked through a random record (so busy
    /// numbers come up as often as they call), 20% never seen.
    pub(crate) fn probes(&self, party: Party, n: usize, seed: u64) -> Vec<(String, Option<u32>)> {
        let mut r = Rng(seed);
        (0..n)
            .map(|_| {
                if r.below(100) < 20 {
                    (format!("5521{:09}", r.below(1_000_000_000)), None)
                } else {
                    let s = &self.shapes[r.below(self.shapes.len() as u64) as usize];
                    let i = match party {
                        Party::Caller => s.caller,
                        Party::Callee => s.callee,
                    };
                    (number(i), Some(i))
                }
            })
            .collect()
    }
}
