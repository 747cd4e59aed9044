//! What the call notes down as it goes, and the record it becomes.

use std::time::Instant;

use crate::at::cause::EndCause;
use crate::record::{Attempt, CallRecord, EndReason, RecordTarget, Transition};

/// Wall-clock time of the call, from the INVITE's arrival and the monotonic clock.
#[derive(Debug, Clone, Copy)]
pub(super) struct Clock {
    start: Instant,
    received_ms: u64,
}

impl Clock {
    pub(super) fn new(start: Instant, received_ms: u64) -> Self {
        Self { start, received_ms }
    }

    /// Unix milliseconds at `now`.
    pub(super) fn wall_ms(&self, now: Instant) -> u64 {
        let since = now.saturating_duration_since(self.start).as_millis();
        self.received_ms
            .saturating_add(u64::try_from(since).unwrap_or(u64::MAX))
    }
}

/// The record under construction.
#[derive(Debug, Clone)]
pub(super) struct Draft {
    pub(super) call_id: String,
    pub(super) trunk: String,
    pub(super) caller: String,
    pub(super) callee: String,
    pub(super) target: RecordTarget,
    pub(super) attempts: Vec<Attempt>,
    pub(super) received_ms: u64,
    pub(super) routed_ms: Option<u64>,
    pub(super) alerting_ms: Option<u64>,
    pub(super) answered_ms: Option<u64>,
    pub(super) sip_status: Option<u16>,
    pub(super) cause: Option<EndCause>,
    /// The screening's trace lines.
    pub(super) verdict: Vec<String>,
    /// "Why this SIM", per routing decision.
    pub(super) route: Vec<String>,
    /// The leased SIM's longest call.
    pub(super) max_call: Option<std::time::Duration>,
}

impl Draft {
    /// The finished record.
    pub(super) fn finish(
        &self,
        reason: EndReason,
        ended_ms: u64,
        history: Vec<Transition>,
    ) -> CallRecord {
        let progress = self.alerting_ms.or(self.answered_ms);
        CallRecord {
            call_id: self.call_id.clone(),
            trunk: Some(self.trunk.clone()),
            caller: self.caller.clone(),
            callee: self.callee.clone(),
            target: self.target.clone(),
            attempts: self.attempts.clone(),
            received_ms: self.received_ms,
            routed_ms: self.routed_ms,
            alerting_ms: self.alerting_ms,
            answered_ms: self.answered_ms,
            ended_ms,
            sip_status: self.sip_status.unwrap_or(500),
            end_reason: reason,
            gsm_end: self.cause.as_ref().map(|c| c.kind),
            q850: self.cause.as_ref().and_then(|c| c.q850),
            post_dial_delay_ms: match (self.routed_ms, progress) {
                (Some(r), Some(p)) => Some(p.saturating_sub(r)),
                _ => None,
            },
            talk_ms: self.answered_ms.map_or(0, |a| ended_ms.saturating_sub(a)),
            verdict: self.verdict.clone(),
            route: self.route.clone(),
            history,
            quality: None,
            direction: crate::record::Direction::Outbound,
        }
    }
}
