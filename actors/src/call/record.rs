//! What the call notes down as it goes, and the record it becomes.

use e173gw_core::at::cause::EndCause;
use e173gw_core::record::{Attempt, CallRecord, EndReason, RecordTarget};

/// Wall-clock milliseconds since the Unix epoch.
pub(crate) fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The record under construction.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub(crate) call_id: String,
    pub(crate) trunk: String,
    pub(crate) caller: String,
    pub(crate) callee: String,
    pub(crate) target: RecordTarget,
    pub(crate) attempts: Vec<Attempt>,
    pub(crate) received_ms: u64,
    pub(crate) routed_ms: Option<u64>,
    pub(crate) alerting_ms: Option<u64>,
    pub(crate) answered_ms: Option<u64>,
    pub(crate) sip_status: Option<u16>,
    pub(crate) cause: Option<EndCause>,
}

impl Draft {
    pub(crate) fn new(
        call_id: &str,
        trunk: &str,
        caller: &str,
        callee: &str,
        received_ms: u64,
    ) -> Self {
        Self {
            call_id: call_id.to_string(),
            trunk: trunk.to_string(),
            caller: caller.to_string(),
            callee: callee.to_string(),
            target: RecordTarget::None,
            attempts: Vec::new(),
            received_ms,
            routed_ms: None,
            alerting_ms: None,
            answered_ms: None,
            sip_status: None,
            cause: None,
        }
    }

    /// The finished record.
    pub(crate) fn finish(&self, reason: EndReason) -> CallRecord {
        let ended_ms = wall_ms();
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
            verdict: Vec::new(),
        }
    }
}
