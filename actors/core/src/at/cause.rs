//! How a GSM call ended, classified once so failover and the SIP mapping agree.
//!
//! The raw facts are Huawei's `^CEND` end status and the 3GPP 24.008 / Q.850 cause; the
//! [`EndKind`] says what they mean for routing: whose fault it was.

use serde::{Deserialize, Serialize};

use super::codec::{ErrorCode, FinalResult};
use super::urc::CallEndReport;

/// What ended a call, as far as routing and SIP care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndKind {
    /// Normal clearing (Q.850 16/31).
    Normal,
    /// The callee was busy (17).
    Busy,
    /// Nobody answered (18, 19, or the ring timer ran out).
    NoAnswer,
    /// The callee rejected the call (21).
    Rejected,
    /// The number does not exist (1, 22).
    Unassigned,
    /// No route to the destination (2, 3).
    NoRoute,
    /// The number is malformed (28).
    InvalidNumber,
    /// The callee is absent or out of order (20, 27).
    Unreachable,
    /// Network congestion or temporary failure (34, 38, 41, 42, 44, 47, 58).
    Congestion,
    /// The SIM is barred or lacks credit or service (8, 50, 55, 57, 63, 65, 68; end status 105).
    SimBarred,
    /// The modem has no network service (end status 106/21/0, NO DIALTONE, not registered).
    NoService,
    /// The modem refused the command (ERROR to ATD, a non-SIM +CME ERROR).
    ModemError,
    /// The SIM is missing, locked or failed.
    SimFault,
    /// A call phase timed out on the modem side (no ^ORIG, no ^CONF, no answer from the modem).
    Timeout,
    /// The modem restarted or was reset during the call.
    ModemRestarted,
    /// The device vanished (port lost) during the call.
    DeviceGone,
    /// We hung up (caller BYE/CANCEL, max duration, ...).
    LocalHangup,
    /// A protocol or interworking error with no better class (81..=127).
    NetworkError,
}

impl EndKind {
    /// Whether the gateway (modem, SIM, radio) is to blame, so the call may be retried on
    /// another modem. Callee outcomes (busy, no answer, rejected, bad number) are not.
    pub fn is_gateway_fault(self) -> bool {
        matches!(
            self,
            Self::Congestion
                | Self::SimBarred
                | Self::NoService
                | Self::ModemError
                | Self::SimFault
                | Self::Timeout
                | Self::ModemRestarted
                | Self::DeviceGone
                | Self::NetworkError
        )
    }

    /// Classifies a Q.850 / 24.008 cause value.
    pub fn from_q850(cause: u16) -> Self {
        match cause {
            1 | 22 => Self::Unassigned,
            2 | 3 => Self::NoRoute,
            8 | 50 | 55 | 57 | 63 | 65 | 68 | 69 | 70 => Self::SimBarred,
            16 | 31 => Self::Normal,
            17 => Self::Busy,
            18 | 19 => Self::NoAnswer,
            20 | 27 => Self::Unreachable,
            21 | 29 => Self::Rejected,
            28 => Self::InvalidNumber,
            6 | 34 | 38 | 41 | 42 | 43 | 44 | 47 | 58 => Self::Congestion,
            _ => Self::NetworkError,
        }
    }
}

/// The full story of a call's end: the class and the raw values behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndCause {
    /// The class.
    pub kind: EndKind,
    /// Q.850 cause, from `^CEND` or implied by the class.
    pub q850: Option<u16>,
    /// Huawei `^CEND` end status, when the modem reported one.
    pub end_status: Option<u16>,
    /// Human-readable detail for logs and records.
    pub detail: String,
}

impl EndCause {
    /// A cause with no modem report behind it.
    pub fn new(kind: EndKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            q850: None,
            end_status: None,
            detail: detail.into(),
        }
    }

    /// Classifies a `^CEND` report. `hangup_requested` says whether we asked for the end.
    pub fn from_cend(r: &CallEndReport, hangup_requested: bool) -> Self {
        let kind = if hangup_requested {
            EndKind::LocalHangup
        } else {
            match (r.end_status, r.cc_cause) {
                (105, _) => EndKind::SimBarred,
                (0 | 21 | 106, _) => EndKind::NoService,
                (29, _) => EndKind::ModemError,
                (_, Some(c)) => EndKind::from_q850(c),
                (101 | 103, None) => EndKind::Congestion,
                (_, None) => EndKind::NetworkError,
            }
        };
        Self {
            kind,
            q850: r.cc_cause,
            end_status: Some(r.end_status),
            detail: format!(
                "^CEND end_status {}{}",
                r.end_status,
                r.cc_cause
                    .map(|c| format!(" cause {c}"))
                    .unwrap_or_default()
            ),
        }
    }

    /// Classifies a final result that ended a dial (`ERROR`, `BUSY`, `+CME ERROR`, ...).
    pub fn from_final(f: &FinalResult) -> Self {
        let (kind, q850) = match f {
            FinalResult::Busy => (EndKind::Busy, Some(17)),
            FinalResult::NoAnswer => (EndKind::NoAnswer, Some(19)),
            FinalResult::NoDialtone => (EndKind::NoService, None),
            FinalResult::NoCarrier => (EndKind::Congestion, None),
            FinalResult::CmeError(c) if c.is_sim_fault() => (EndKind::SimFault, None),
            FinalResult::CmeError(ErrorCode::Code(30..=32)) => (EndKind::NoService, None),
            FinalResult::Ok
            | FinalResult::Error
            | FinalResult::NotSupported
            | FinalResult::CmeError(_)
            | FinalResult::CmsError(_) => (EndKind::ModemError, None),
        };
        Self {
            kind,
            q850,
            end_status: None,
            detail: format!("{f:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cend_classification_table() {
        let cases = [
            // (end_status, cc_cause, hangup_requested, kind)
            (104, Some(16), false, EndKind::Normal),
            (104, Some(31), false, EndKind::Normal),
            (104, Some(17), false, EndKind::Busy),
            (104, Some(19), false, EndKind::NoAnswer),
            (104, Some(18), false, EndKind::NoAnswer),
            (104, Some(21), false, EndKind::Rejected),
            (104, Some(1), false, EndKind::Unassigned),
            (104, Some(3), false, EndKind::NoRoute),
            (104, Some(8), false, EndKind::SimBarred),
            (104, Some(27), false, EndKind::Unreachable),
            (104, Some(28), false, EndKind::InvalidNumber),
            (104, Some(34), false, EndKind::Congestion),
            (104, Some(47), false, EndKind::Congestion),
            (104, Some(68), false, EndKind::SimBarred),
            (104, Some(111), false, EndKind::NetworkError),
            (101, None, false, EndKind::Congestion),
            (103, None, false, EndKind::Congestion),
            (106, None, false, EndKind::NoService),
            (21, None, false, EndKind::NoService),
            (105, None, false, EndKind::SimBarred),
            (29, Some(16), true, EndKind::LocalHangup),
            (104, Some(16), true, EndKind::LocalHangup),
            (29, None, false, EndKind::ModemError),
            (67, Some(16), false, EndKind::Normal),
        ];
        for (end_status, cc_cause, req, want) in cases {
            let r = CallEndReport {
                idx: 1,
                duration_s: 0,
                end_status,
                cc_cause,
            };
            let got = EndCause::from_cend(&r, req);
            assert_eq!(got.kind, want, "{end_status}/{cc_cause:?}/{req}");
            assert_eq!(got.end_status, Some(end_status));
            assert_eq!(got.q850, cc_cause);
        }
    }

    #[test]
    fn final_classification_table() {
        let cases = [
            (FinalResult::Busy, EndKind::Busy),
            (FinalResult::NoAnswer, EndKind::NoAnswer),
            (FinalResult::NoDialtone, EndKind::NoService),
            (FinalResult::NoCarrier, EndKind::Congestion),
            (FinalResult::Error, EndKind::ModemError),
            (FinalResult::NotSupported, EndKind::ModemError),
            (
                FinalResult::CmeError(ErrorCode::Code(10)),
                EndKind::SimFault,
            ),
            (
                FinalResult::CmeError(ErrorCode::Code(30)),
                EndKind::NoService,
            ),
            (
                FinalResult::CmeError(ErrorCode::Code(100)),
                EndKind::ModemError,
            ),
        ];
        for (f, want) in cases {
            assert_eq!(EndCause::from_final(&f).kind, want, "{f:?}");
        }
    }

    #[test]
    fn fault_split_matches_failover_rule() {
        for k in [
            EndKind::ModemError,
            EndKind::NoService,
            EndKind::SimFault,
            EndKind::Timeout,
            EndKind::DeviceGone,
        ] {
            assert!(k.is_gateway_fault(), "{k:?}");
        }
        for k in [
            EndKind::Busy,
            EndKind::NoAnswer,
            EndKind::Rejected,
            EndKind::Unassigned,
            EndKind::Normal,
            EndKind::LocalHangup,
        ] {
            assert!(!k.is_gateway_fault(), "{k:?}");
        }
    }
}
