//! Screening: the filter pipeline's rules, as plain code.
//!
//! A call is screened once, before any modem is leased. [`Rules`] (built from the
//! `[filter]` config section and the files it names) is an ordered list of stages; a
//! [`Screening`] runs them for one call, sans-IO: stages that need data from outside (the
//! WhatsApp provider, the call history in the store, a portability lookup) ask for it as a
//! [`Lookup`] and the owner (the filter actor, or a test) answers with an [`Answer`].
//!
//! ```text
//! let mut s = Screening::new(rules, request);
//! loop {
//!     match s.advance(&mut memory, &mut clock) {
//!         Step::Lookup(l) => s.supply(fulfil(l).await, &mut clock),
//!         Step::Done(verdict) => break verdict,
//!     }
//! }
//! ```
//!
//! Each stage reports a finding (`match`, `invalid`, `absent`, `failure`, ...) and the
//! stage's config maps every finding to an [`Act`]: continue, reject with a SIP status, or
//! divert to the AI agent. The first reject or divert ends the screening. Stages add
//! [`Annotations`] (E.164 form, number type, region, operator, tags) that later stages and
//! the router use. The [`Verdict`] carries the trace of every stage that ran: its finding,
//! what it did, the data it used and how long it took.

pub mod act;
pub mod blacklist;
pub mod guard;
pub mod history;
pub mod numbers;
pub mod operator;
pub mod phone;
mod pipeline;
pub mod velocity;
pub mod whatsapp;

#[cfg(test)]
mod tests;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use act::Act;
pub use pipeline::{Memory, Rules, Screening, Stage, Step};

use crate::ports::NumberHistory;

/// One call to screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The calling number as received (may be empty or anonymous).
    pub caller: String,
    /// The called number as received.
    pub callee: String,
    /// The trunk it came in on.
    pub trunk: Option<String>,
    /// When it arrived (Unix ms).
    pub now_ms: u64,
}

/// What the screening decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Go on to routing.
    Allow,
    /// Refuse the call.
    Reject {
        /// SIP status.
        status: u16,
        /// Reason phrase and trace text.
        reason: String,
    },
    /// Send the call to the AI agent.
    Divert {
        /// Why (sent to the agent).
        reason: String,
        /// How the call is handed over, when the rule says (else `[routing]` decides).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delivery: Option<crate::config::routing::AgentDelivery>,
    },
}

impl Decision {
    /// `allow`, `reject` or `divert`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Reject { .. } => "reject",
            Self::Divert { .. } => "divert",
        }
    }
}

/// What stages learned about the call, for later stages and the router.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotations {
    /// The callee in E.164 (`+5511987654321`), once parsed.
    pub e164: Option<String>,
    /// The callee in national format, digits only (`11987654321`).
    pub national: Option<String>,
    /// The callee's number type (`mobile`, `fixed_line`, ...).
    pub number_type: Option<String>,
    /// The callee's region (ISO 3166 alpha-2).
    pub region: Option<String>,
    /// The caller in E.164, when it parses.
    pub caller_e164: Option<String>,
    /// The callee's operator (today's name, after aliases).
    pub operator: Option<String>,
    /// Free tags added by stages (`premium`, `whatsapp`, `ported`...).
    pub tags: Vec<String>,
}

impl Annotations {
    /// Adds a tag once.
    pub fn tag(&mut self, t: &str) {
        if !self.tags.iter().any(|x| x == t) {
            self.tags.push(t.to_string());
        }
    }
}

/// One stage as it ran for one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageTrace {
    /// The stage's kind (`blacklist`, `phone`, ...).
    pub stage: String,
    /// What it found (`pass`, `match`, `invalid`, `absent`, `failure`...).
    pub finding: String,
    /// What it did about it.
    pub act: String,
    /// The data it used (matched entry, parsed number, cached answer...).
    pub detail: String,
    /// How long it took, µs (lookups included).
    pub micros: u64,
}

impl fmt::Display for StageTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} -> {}", self.stage, self.finding, self.act)?;
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        write!(f, " {}us", self.micros)
    }
}

/// The screening's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Allow, reject or divert.
    pub decision: Decision,
    /// What the stages learned.
    pub annotations: Annotations,
    /// Every stage that ran, in order.
    pub trace: Vec<StageTrace>,
    /// The rules' version (bumped on every reload).
    pub rules_version: u64,
}

impl Verdict {
    /// An allow verdict with no stages (screening off).
    pub fn allow_unscreened() -> Self {
        Self {
            decision: Decision::Allow,
            annotations: Annotations::default(),
            trace: Vec::new(),
            rules_version: 0,
        }
    }

    /// The trace as lines, for the call record (none for an unscreened call).
    pub fn trace_lines(&self) -> Vec<String> {
        if self.trace.is_empty() && self.rules_version == 0 {
            return Vec::new();
        }
        let mut v: Vec<String> = self.trace.iter().map(ToString::to_string).collect();
        v.push(match &self.decision {
            Decision::Allow => "verdict: allow".to_string(),
            Decision::Reject { status, reason } => format!("verdict: reject {status} {reason}"),
            Decision::Divert { reason, .. } => format!("verdict: divert ({reason})"),
        });
        v
    }

    /// The trace in one header-safe line (`stage=finding/act;...`), for the agent.
    pub fn trace_header(&self) -> String {
        self.trace
            .iter()
            .map(|t| format!("{}={}/{}", t.stage, t.finding, t.act))
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// Data a stage needs from outside the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Is this E.164 number on WhatsApp? (The owner's cache, breaker and concurrency limit
    /// come first; `budget` bounds the whole lookup.)
    Presence {
        /// The number, E.164.
        e164: String,
        /// How long the call may wait for the answer.
        budget_ms: u64,
    },
    /// The call history of the callee (and caller) from the store.
    History(history::HistoryQuery),
    /// Which operator serves this number today (portability).
    Portability {
        /// The number, E.164.
        e164: String,
        /// How long the call may wait.
        budget_ms: u64,
    },
}

impl Lookup {
    /// The stage that asked.
    pub fn stage(&self) -> &'static str {
        match self {
            Self::Presence { .. } => "whatsapp",
            Self::History(_) => "history",
            Self::Portability { .. } => "operator",
        }
    }
}

/// Why a lookup gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupFailure {
    /// The budget ran out.
    Timeout,
    /// The circuit breaker is open: the provider failed too often lately.
    BreakerOpen,
    /// Too many lookups in flight.
    Busy,
    /// The provider answered with an error or something unreadable.
    Error(String),
    /// Nothing is configured to answer.
    Unconfigured,
}

impl fmt::Display for LookupFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout => f.write_str("timeout"),
            Self::BreakerOpen => f.write_str("breaker open"),
            Self::Busy => f.write_str("too many in flight"),
            Self::Error(e) => write!(f, "error: {e}"),
            Self::Unconfigured => f.write_str("no provider"),
        }
    }
}

/// The answer to a [`Lookup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// WhatsApp presence; `cached` when it came from the cache.
    Presence {
        /// The result.
        result: Result<bool, LookupFailure>,
        /// Whether it came from the cache.
        cached: bool,
    },
    /// History facts (or why there are none).
    History(Result<history::HistoryFacts, LookupFailure>),
    /// The operator serving the number, `None` when the provider does not know.
    Portability {
        /// The result.
        result: Result<Option<String>, LookupFailure>,
        /// Whether it came from the cache.
        cached: bool,
    },
}

/// A short form of a history answer for traces.
pub fn history_brief(h: &NumberHistory) -> String {
    format!(
        "attempts={} answered={} short={} peers={}",
        h.attempts, h.answered, h.short_calls, h.distinct_peers
    )
}
