//! SIM protection: operators' fraud systems block SIMs that make runs of unanswered or
//! very short calls, or whose answer rate collapses. A SIM showing such a run is rested
//! for a cool-down, then probed: its next call decides whether it is back for good (the
//! call is answered and not short) or rested again at once.
//!
//! Pure: one [`SimHealth`] per SIM, fed the outcome of each call that reached the
//! network on it; every change of state comes back as a [`Change`] with a reason a person
//! can read.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// When to rest a SIM. A threshold left out is not checked.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProtectionConfig {
    /// Unanswered calls in a row (no answer, busy, rejected by the network).
    pub unanswered_streak: Option<u32>,
    /// Answered calls shorter than `short_call_s` in a row.
    pub short_streak: Option<u32>,
    /// What counts as a short call, s.
    pub short_call_s: u32,
    /// Least answer rate over the last `asr_window` calls, percent.
    pub asr_min_pct: Option<u32>,
    /// Calls the answer rate is taken over (checked once that many are known).
    pub asr_window: u32,
    /// How long a SIM rests, s.
    pub rest_s: u64,
}

impl Default for ProtectionConfig {
    fn default() -> Self {
        Self {
            unanswered_streak: None,
            short_streak: None,
            short_call_s: 10,
            asr_min_pct: None,
            asr_window: 20,
            rest_s: 1800,
        }
    }
}

impl ProtectionConfig {
    /// Whether any rule is on.
    pub fn is_on(&self) -> bool {
        self.unanswered_streak.is_some()
            || self.short_streak.is_some()
            || self.asr_min_pct.is_some()
    }
}

/// How a call on the SIM ended, as the network saw it (gateway faults are not the
/// SIM's doing and are not fed here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered, talked this long (s).
    Answered(u64),
    /// Not answered: no answer, busy, refused by the network.
    Unanswered,
}

/// A change of a SIM's protection state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Rested until then (Unix ms), for this reason.
    Rested {
        /// End of the rest.
        until_ms: u64,
        /// Why.
        reason: String,
    },
    /// The rest is over; the next call is a probe.
    Probing,
    /// The probe call went well: the SIM is back.
    Restored,
}

/// The protection state of one SIM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimHealth {
    unanswered_run: u32,
    short_run: u32,
    /// Last calls, answered or not, newest last.
    recent: VecDeque<bool>,
    rested: Option<(u64, String)>,
    probing: bool,
}

impl SimHealth {
    /// The rest in force at `now_ms` (its end and reason).
    pub fn rested(&self, now_ms: u64) -> Option<&(u64, String)> {
        self.rested.as_ref().filter(|(until, _)| *until > now_ms)
    }

    /// Rests the SIM as another node or an earlier run decided (from the shared store).
    pub fn adopt_rest(&mut self, until_ms: u64, reason: String) {
        self.rested = Some((until_ms, reason));
        self.unanswered_run = 0;
        self.short_run = 0;
        self.recent.clear();
    }

    /// Moves an expired rest to probing.
    pub fn tick(&mut self, now_ms: u64) -> Option<Change> {
        match &self.rested {
            Some((until, _)) if *until <= now_ms => {
                self.rested = None;
                self.probing = true;
                Some(Change::Probing)
            }
            _ => None,
        }
    }

    /// Feeds a call's outcome at `now_ms`.
    pub fn record(
        &mut self,
        cfg: &ProtectionConfig,
        outcome: Outcome,
        now_ms: u64,
    ) -> Option<Change> {
        if !cfg.is_on() {
            return None;
        }
        let tick = self.tick(now_ms);
        let answered = matches!(outcome, Outcome::Answered(_));
        let short = matches!(outcome, Outcome::Answered(t) if t < u64::from(cfg.short_call_s));
        if answered {
            self.unanswered_run = 0;
        } else {
            self.unanswered_run += 1;
        }
        if short {
            self.short_run += 1;
        } else if answered {
            self.short_run = 0;
        }
        self.recent.push_back(answered);
        while self.recent.len() > cfg.asr_window.max(1) as usize {
            self.recent.pop_front();
        }
        let probing = std::mem::take(&mut self.probing);
        let reason = if probing && (!answered || short) {
            Some(if answered {
                format!(
                    "probe call after the rest lasted under {} s",
                    cfg.short_call_s
                )
            } else {
                "probe call after the rest was not answered".to_string()
            })
        } else {
            self.reason(cfg)
        };
        match reason {
            Some(reason) => {
                let until_ms = now_ms + cfg.rest_s * 1000;
                self.adopt_rest(until_ms, reason.clone());
                Some(Change::Rested { until_ms, reason })
            }
            None if probing => Some(Change::Restored),
            None => tick,
        }
    }

    fn reason(&self, cfg: &ProtectionConfig) -> Option<String> {
        if let Some(n) = cfg.unanswered_streak.filter(|n| self.unanswered_run >= *n) {
            return Some(format!("{n} unanswered calls in a row"));
        }
        if let Some(n) = cfg.short_streak.filter(|n| self.short_run >= *n) {
            return Some(format!(
                "{n} calls shorter than {} s in a row",
                cfg.short_call_s
            ));
        }
        let window = cfg.asr_window.max(1) as usize;
        if let Some(min) = cfg.asr_min_pct.filter(|_| self.recent.len() >= window) {
            let answered = self.recent.iter().filter(|a| **a).count();
            let pct = answered * 100 / window;
            if pct < min as usize {
                return Some(format!(
                    "answer rate {pct}% over the last {window} calls (under {min}%)"
                ));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ProtectionConfig {
        ProtectionConfig {
            unanswered_streak: Some(3),
            short_streak: Some(2),
            short_call_s: 10,
            asr_min_pct: Some(50),
            asr_window: 6,
            rest_s: 60,
        }
    }

    /// `a30` answered 30 s, `u` unanswered, `tick` the clock only; each step 1 s apart.
    fn run(cfg: &ProtectionConfig, steps: &[&str], start_ms: u64) -> Vec<String> {
        let mut h = SimHealth::default();
        let mut out = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let now = start_ms + i as u64 * 1000;
            let change = match *step {
                "u" => h.record(cfg, Outcome::Unanswered, now),
                "tick" => h.tick(now),
                "skip" => h.tick(now + 60_000),
                a => {
                    let talk = a.trim_start_matches('a').parse().expect("talk");
                    h.record(cfg, Outcome::Answered(talk), now)
                }
            };
            if let Some(c) = change {
                out.push(match c {
                    Change::Rested { reason, .. } => format!("{step}: rested ({reason})"),
                    Change::Probing => format!("{step}: probing"),
                    Change::Restored => format!("{step}: restored"),
                });
            }
        }
        out
    }

    #[test]
    fn streaks_and_answer_rate_rest_a_sim_and_a_probe_decides_its_return() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                "answered calls never rest",
                &["a30", "a40", "a30", "a60"],
                &[],
            ),
            (
                "three unanswered in a row",
                &["u", "u", "u"],
                &["u: rested (3 unanswered calls in a row)"],
            ),
            (
                "an answer breaks the run",
                &["u", "u", "a30", "u", "u"],
                &[],
            ),
            (
                "two short calls in a row",
                &["a3", "a5"],
                &["a5: rested (2 calls shorter than 10 s in a row)"],
            ),
            (
                "answer rate over the window",
                &["u", "a30", "u", "u", "a30", "u"],
                &["u: rested (answer rate 33% over the last 6 calls (under 50%))"],
            ),
            (
                "after the rest a good probe restores",
                &["u", "u", "u", "skip", "a30"],
                &[
                    "u: rested (3 unanswered calls in a row)",
                    "skip: probing",
                    "a30: restored",
                ],
            ),
            (
                "a failed probe rests again at once",
                &["u", "u", "u", "skip", "u"],
                &[
                    "u: rested (3 unanswered calls in a row)",
                    "skip: probing",
                    "u: rested (probe call after the rest was not answered)",
                ],
            ),
            (
                "a short probe rests again",
                &["a1", "a1", "skip", "a2"],
                &[
                    "a1: rested (2 calls shorter than 10 s in a row)",
                    "skip: probing",
                    "a2: rested (probe call after the rest lasted under 10 s)",
                ],
            ),
        ];
        for (name, steps, want) in cases {
            assert_eq!(run(&cfg(), steps, 1_000_000), *want, "{name}");
        }
    }

    #[test]
    fn off_by_default_and_rest_is_visible_until_it_ends() {
        let off = ProtectionConfig::default();
        assert!(!off.is_on());
        assert!(run(&off, &["u", "u", "u", "u", "u", "u"], 0).is_empty());
        let mut h = SimHealth::default();
        for i in 0..3 {
            h.record(&cfg(), Outcome::Unanswered, 1000 + i);
        }
        assert!(h.rested(2000).is_some());
        assert!(h.rested(1002 + 60_000).is_none(), "the rest is 60 s");
        assert_eq!(h.tick(1002 + 60_000), Some(Change::Probing));
        assert_eq!(h.tick(1002 + 60_000), None);
    }
}
