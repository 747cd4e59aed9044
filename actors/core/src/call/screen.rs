//! Screening: the call asks the filter for a verdict before any route is asked for.

use std::time::Instant;

use super::state::CallState;
use super::{Action, CallSession};
use crate::filter::{Decision, Request, Verdict};
use crate::record::EndReason;

/// A reason phrase or header value made safe for one SIP line.
pub(super) fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

impl CallSession {
    /// Asks for the verdict; the call waits in `screening`.
    pub(super) fn screen(&mut self) {
        self.m.call = CallState::Screening;
        self.push(Action::Screen(Request {
            caller: self.caller.clone(),
            callee: self.callee.to_string(),
            trunk: Some(self.trunk_name.clone()),
            now_ms: self.rec.received_ms,
        }));
    }

    pub(super) fn on_screened(&mut self, now: Instant, v: Verdict, ev: &'static str) {
        if self.m.call != CallState::Screening {
            // The caller left meanwhile; the call is over or ending.
            return;
        }
        self.rec.verdict = v.trace_lines();
        match &v.decision {
            Decision::Reject { status, reason } => {
                let status = if (400..=699).contains(status) {
                    *status
                } else {
                    403
                };
                let reason = one_line(reason);
                self.fail(status, Some(reason), EndReason::Screened, now, ev);
            }
            Decision::Allow | Decision::Divert { .. } => {
                self.verdict = Some(Box::new(v));
                self.route(now, ev);
            }
        }
    }

    pub(super) fn on_screen_gone(&mut self, now: Instant, ev: &'static str) {
        if self.m.call != CallState::Screening {
            return;
        }
        self.rec.verdict = vec!["filter: unavailable -> continue unscreened".into()];
        self.route(now, ev);
    }

    /// Headers telling the agent what screening found.
    pub(super) fn screening_headers(&self) -> Vec<(String, String)> {
        let Some(v) = self.verdict.as_deref() else {
            return Vec::new();
        };
        let a = &v.annotations;
        let mut h = vec![(
            "X-E173GW-Screening".to_string(),
            one_line(&v.trace_header()),
        )];
        if let Some(e) = &a.e164 {
            h.push(("X-E173GW-Callee-E164".into(), one_line(e)));
        }
        if let Some(o) = &a.operator {
            h.push(("X-E173GW-Operator".into(), one_line(o)));
        }
        if !a.tags.is_empty() {
            h.push(("X-E173GW-Tags".into(), one_line(&a.tags.join(","))));
        }
        h
    }
}
