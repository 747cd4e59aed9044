//! The call record: one per call, whatever the ending.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::at::cause::EndKind;

/// Where a call was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum RecordTarget {
    /// Never routed (rejected before routing, cancelled early, no route).
    None,
    /// A modem.
    Modem {
        /// Modem id.
        modem: String,
        /// IMEI.
        imei: Option<String>,
        /// SIM IMSI.
        imsi: Option<String>,
        /// SIM ICCID.
        iccid: Option<String>,
    },
    /// The AI voice agent.
    Agent {
        /// Its URI.
        uri: String,
    },
    /// A SIM of a peer node (that node writes the modem's own record).
    Peer {
        /// The peer node.
        node: String,
        /// The modem's id there.
        modem: String,
        /// Its SIM's IMSI.
        imsi: Option<String>,
    },
}

/// One try on a modem (a call may try several on failover).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// Modem id.
    pub modem: String,
    /// How the try ended (`None` if it became the call).
    pub end: Option<EndKind>,
    /// Q.850 cause of that end.
    pub q850: Option<u16>,
    /// Why, in words.
    pub detail: String,
}

/// How a call ended, from the gateway's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Refused by screening (blacklist, validation, history...).
    Screened,
    /// Refused before routing (source, auth, limits, bad request).
    Rejected,
    /// No modem or agent could take it.
    NoRoute,
    /// Redirected to the agent (`302`): the trunk calls the agent itself.
    Redirected,
    /// The callee side failed before answer (busy, no answer, ...).
    Failed,
    /// The caller cancelled before answer.
    Cancelled,
    /// The caller hung up after answer.
    CallerHangup,
    /// The callee side hung up after answer.
    CalleeHangup,
    /// The maximum call duration was reached.
    MaxDuration,
    /// The caller stopped answering (no ACK, or requests timed out).
    CallerLost,
    /// The gateway is shutting down.
    Shutdown,
    /// The gateway stopped (crash, kill) while the call was up; this record was made
    /// from the call's start entry when the gateway came back.
    Interrupted,
}

/// One record per call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Call-ID of the caller's leg.
    pub call_id: String,
    /// Trunk name.
    pub trunk: Option<String>,
    /// Calling number.
    pub caller: String,
    /// Called number.
    pub callee: String,
    /// Where it went.
    pub target: RecordTarget,
    /// Tries on modems, in order.
    pub attempts: Vec<Attempt>,
    /// INVITE received (Unix milliseconds).
    pub received_ms: u64,
    /// Target chosen.
    pub routed_ms: Option<u64>,
    /// Callee alerting.
    pub alerting_ms: Option<u64>,
    /// Answered.
    pub answered_ms: Option<u64>,
    /// Ended.
    pub ended_ms: u64,
    /// Final SIP status sent to the caller (200 when answered).
    pub sip_status: u16,
    /// How it ended.
    pub end_reason: EndReason,
    /// GSM end class, for modem calls.
    pub gsm_end: Option<EndKind>,
    /// Q.850 cause from the network.
    pub q850: Option<u16>,
    /// Post-dial delay: from routing to alerting (or to answer), ms.
    pub post_dial_delay_ms: Option<u64>,
    /// Talk time, ms.
    pub talk_ms: u64,
    /// Filter verdict trace (empty until the filter pipeline runs).
    pub verdict: Vec<String>,
    /// "Why this SIM": for each routing decision, the candidates in rank order with the
    /// rule that placed each, then the ones removed and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub route: Vec<String>,
    /// How the call's state machines moved, in order (empty for records made without a
    /// call, e.g. after a crash).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Transition>,
    /// Media quality of the trunk leg (calls that had media).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<crate::media::quality::MediaQuality>,
    /// Which way: from a trunk out through a modem (or to the agent), or in on a SIM.
    #[serde(default)]
    pub direction: Direction,
}

/// Which way a call went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// A trunk's INVITE, out through a modem, a peer or the agent.
    #[default]
    Outbound,
    /// A GSM call that arrived on a SIM, offered to a SIP target.
    Inbound,
}

/// Which state machine of a call moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Machine {
    /// The call as a whole (routing, connecting, early, answered, ...).
    Call,
    /// The caller's dialog (RFC 3261 §12: early, confirmed, terminated).
    Dialog,
}

/// One move of a call's state machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// Milliseconds since the INVITE arrived.
    pub at_ms: u64,
    /// Which machine.
    pub machine: Machine,
    /// State before.
    pub from: Cow<'static, str>,
    /// State after.
    pub to: Cow<'static, str>,
    /// What moved it.
    pub event: Cow<'static, str>,
}

/// What is known of a call when it starts (journaled so a crash cannot lose the call).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallStart {
    /// Call-ID of the caller's leg.
    pub call_id: String,
    /// Trunk name.
    pub trunk: Option<String>,
    /// Calling number.
    pub caller: String,
    /// Called number.
    pub callee: String,
    /// INVITE received (Unix ms); the same value the call's record carries.
    pub received_ms: u64,
}

impl CallStart {
    /// The record of a call refused at admission with `status`, before anything started.
    pub fn refused(&self, status: u16) -> CallRecord {
        CallRecord {
            sip_status: status,
            end_reason: EndReason::Rejected,
            ..self.interrupted(self.received_ms)
        }
    }

    /// The record of a call that was up when the gateway stopped.
    pub fn interrupted(&self, ended_ms: u64) -> CallRecord {
        CallRecord {
            call_id: self.call_id.clone(),
            trunk: self.trunk.clone(),
            caller: self.caller.clone(),
            callee: self.callee.clone(),
            target: RecordTarget::None,
            attempts: Vec::new(),
            received_ms: self.received_ms,
            routed_ms: None,
            alerting_ms: None,
            answered_ms: None,
            ended_ms,
            sip_status: 0,
            end_reason: EndReason::Interrupted,
            gsm_end: None,
            q850: None,
            post_dial_delay_ms: None,
            talk_ms: 0,
            verdict: Vec::new(),
            route: Vec::new(),
            history: Vec::new(),
            quality: None,
            direction: Direction::Outbound,
        }
    }
}

/// How a call came out, for operations (metrics, the record search, the web page): one
/// word per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Answered.
    Answered,
    /// The callee was busy.
    Busy,
    /// Nobody answered (or the callee was out of reach).
    NoAnswer,
    /// The caller gave up before answer.
    Cancelled,
    /// Refused before a leg was set up: screening, admission, no route.
    Rejected,
    /// Handed back to the trunk with a redirect to the agent.
    Redirected,
    /// Any other failure before answer (number, network, modem, SIM).
    Failed,
}

impl Outcome {
    /// Every outcome, in a stable order.
    pub const ALL: [Self; 7] = [
        Self::Answered,
        Self::Busy,
        Self::NoAnswer,
        Self::Cancelled,
        Self::Rejected,
        Self::Redirected,
        Self::Failed,
    ];

    /// The word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Busy => "busy",
            Self::NoAnswer => "no_answer",
            Self::Cancelled => "cancelled",
            Self::Rejected => "rejected",
            Self::Redirected => "redirected",
            Self::Failed => "failed",
        }
    }
}

impl CallRecord {
    /// How the call came out.
    pub fn outcome(&self) -> Outcome {
        if self.answered_ms.is_some() {
            return Outcome::Answered;
        }
        match self.end_reason {
            EndReason::Screened | EndReason::Rejected | EndReason::NoRoute => {
                return Outcome::Rejected
            }
            EndReason::Redirected => return Outcome::Redirected,
            EndReason::Cancelled => return Outcome::Cancelled,
            _ => {}
        }
        match (self.gsm_end, self.sip_status) {
            (Some(EndKind::Busy), _) | (None, 486 | 600) => Outcome::Busy,
            (Some(EndKind::NoAnswer | EndKind::Unreachable), _) | (None, 408 | 480) => {
                Outcome::NoAnswer
            }
            _ => Outcome::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes() {
        let base = CallStart {
            call_id: "c".into(),
            trunk: None,
            caller: "1".into(),
            callee: "2".into(),
            received_ms: 0,
        }
        .refused(503);
        type Edit = fn(&mut CallRecord);
        let cases: [(Edit, Outcome); 11] = [
            (|r| r.answered_ms = Some(5), Outcome::Answered),
            (
                |r| {
                    r.answered_ms = Some(5);
                    r.end_reason = EndReason::Shutdown;
                },
                Outcome::Answered,
            ),
            (|r| r.end_reason = EndReason::Screened, Outcome::Rejected),
            (|r| r.end_reason = EndReason::NoRoute, Outcome::Rejected),
            (
                |r| r.end_reason = EndReason::Redirected,
                Outcome::Redirected,
            ),
            (|r| r.end_reason = EndReason::Cancelled, Outcome::Cancelled),
            (
                |r| {
                    r.end_reason = EndReason::Failed;
                    r.gsm_end = Some(EndKind::Busy);
                },
                Outcome::Busy,
            ),
            (
                |r| {
                    r.end_reason = EndReason::Failed;
                    r.sip_status = 486;
                },
                Outcome::Busy,
            ),
            (
                |r| {
                    r.end_reason = EndReason::Failed;
                    r.gsm_end = Some(EndKind::NoAnswer);
                },
                Outcome::NoAnswer,
            ),
            (
                |r| {
                    r.end_reason = EndReason::Failed;
                    r.gsm_end = Some(EndKind::SimBarred);
                    r.sip_status = 480;
                },
                Outcome::Failed,
            ),
            (
                |r| {
                    r.end_reason = EndReason::CallerLost;
                    r.sip_status = 408;
                },
                Outcome::NoAnswer,
            ),
        ];
        for (i, (edit, want)) in cases.into_iter().enumerate() {
            let mut r = base.clone();
            edit(&mut r);
            assert_eq!(r.outcome(), want, "case {i}: {r:?}");
        }
        assert_eq!(base.outcome(), Outcome::Rejected, "refused is rejected");
    }
}
