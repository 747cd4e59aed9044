//! The call record the storage tests build on; the PostgreSQL adapter's own tests use it
//! too (`src/adapters/postgres/tests/mod.rs` includes this file).

use e173gw_core::at::cause::EndKind;
use e173gw_core::record::{CallRecord, EndReason, Machine, RecordTarget, Transition};

/// A plausible modem call: answered (with `talk_ms` of talk) when `status` is 200, busy
/// otherwise.
pub(crate) fn rec(
    call_id: &str,
    caller: &str,
    callee: &str,
    received_ms: u64,
    status: u16,
    talk_ms: u64,
) -> CallRecord {
    let answered = status == 200;
    CallRecord {
        call_id: call_id.into(),
        trunk: Some("carrier-a".into()),
        caller: caller.into(),
        callee: callee.into(),
        target: RecordTarget::Modem {
            modem: "m1".into(),
            imei: Some("354911021000005".into()),
            imsi: Some("724020001000000".into()),
            iccid: None,
        },
        attempts: Vec::new(),
        received_ms,
        routed_ms: Some(received_ms + 5),
        alerting_ms: Some(received_ms + 1500),
        answered_ms: answered.then_some(received_ms + 3000),
        ended_ms: received_ms + 3000 + talk_ms,
        sip_status: status,
        end_reason: if answered {
            EndReason::CallerHangup
        } else {
            EndReason::Failed
        },
        gsm_end: Some(if answered {
            EndKind::Normal
        } else {
            EndKind::Busy
        }),
        q850: Some(if answered { 16 } else { 17 }),
        post_dial_delay_ms: Some(1495),
        talk_ms,
        verdict: vec!["blacklist: pass".into(), "phone: valid mobile".into()],
        route: vec![
            "try 1: #1 modem0: sticky route; 3 calls today".into(),
            "try 1: - modem1: in use by another call".into(),
        ],
        history: vec![Transition {
            at_ms: 12,
            machine: Machine::Call,
            from: "routing".into(),
            to: "connecting".into(),
            event: "routed".into(),
        }],
        quality: None,
        direction: Default::default(),
    }
}
