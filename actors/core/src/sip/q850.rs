//! How a GSM call's end becomes a SIP final response: RFC 3398 §8.2.6.1 (Q.850 cause to
//! SIP status), with the gateway's own classes for ends that carry no cause.

use crate::at::cause::{EndCause, EndKind};

/// The SIP status for a Q.850 cause (RFC 3398 §8.2.6.1), except that 21 (call rejected)
/// maps to 603 Decline: the callee said no, which no other route can change.
pub fn q850_to_sip(cause: u16) -> u16 {
    match cause {
        1..=3 | 26 => 404,
        17 => 486,
        18 => 408,
        19 | 20 | 31 => 480,
        21 => 603,
        22 | 23 => 410,
        27 => 502,
        28 => 484,
        29 | 69 | 79 => 501,
        34 | 38 | 41 | 42 | 44 | 47 | 58 | 88 => 503,
        55 | 57 | 87 => 403,
        65 | 70 => 488,
        102 => 504,
        _ => 500,
    }
}

/// The Q.850 cause for a SIP final status (RFC 3398 §8.2.6.1 read backwards, as RFC 4497
/// does): how a GSM call offered to SIP is said to have failed.
pub fn sip_to_q850(status: u16) -> u16 {
    match status {
        404 | 485 | 604 => 1,
        410 => 22,
        484 => 28,
        486 | 600 => 17,
        408 | 504 => 102,
        480 => 18,
        401 | 402 | 403 | 407 | 603 => 21,
        405 | 406 | 415 | 501 => 79,
        482 | 483 => 25,
        502 => 38,
        487 => 16,
        606 | 488 => 65,
        500 | 503 => 41,
        400..=499 => 41,
        _ => 31,
    }
}

/// The SIP status for an end class when no cause value is known.
pub fn kind_to_sip(kind: EndKind) -> u16 {
    match kind {
        EndKind::Busy => 486,
        EndKind::NoAnswer | EndKind::Unreachable | EndKind::Normal => 480,
        EndKind::Rejected => 603,
        EndKind::Unassigned | EndKind::NoRoute => 404,
        EndKind::InvalidNumber => 484,
        EndKind::LocalHangup => 487,
        EndKind::NetworkError => 500,
        EndKind::Congestion
        | EndKind::SimBarred
        | EndKind::NoService
        | EndKind::ModemError
        | EndKind::SimFault
        | EndKind::Timeout
        | EndKind::ModemRestarted
        | EndKind::DeviceGone => 503,
    }
}

/// The final status to send the caller for a call that ended before it was answered.
///
/// Callee outcomes use the Q.850 cause when the network gave one. Gateway faults are
/// always 503: another gateway may succeed, and the caller needs no detail of our
/// modems. Normal clearing before answer (16) is 480.
pub fn final_status(cause: &EndCause) -> u16 {
    if cause.kind.is_gateway_fault() {
        return 503;
    }
    match (cause.kind, cause.q850) {
        (EndKind::LocalHangup, _) => 487,
        (EndKind::Normal, _) | (_, Some(16)) => 480,
        (_, Some(q)) => q850_to_sip(q),
        (k, None) => kind_to_sip(k),
    }
}

/// A `Reason` header value (RFC 3326) carrying the Q.850 cause, when there is one.
pub fn reason_header(cause: &EndCause) -> Option<String> {
    let q = cause.q850?;
    let text: String = cause
        .detail
        .chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .collect();
    Some(format!("Q.850;cause={q};text=\"{text}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_status_to_cause() {
        let cases = [
            (404, 1),
            (486, 17),
            (600, 17),
            (480, 18),
            (408, 102),
            (603, 21),
            (403, 21),
            (484, 28),
            (410, 22),
            (502, 38),
            (503, 41),
            (500, 41),
            (487, 16),
            (488, 65),
            (415, 79),
            (499, 41),
            (302, 31),
        ];
        for (status, cause) in cases {
            assert_eq!(sip_to_q850(status), cause, "{status}");
        }
        // The way back lands in the same class for the common refusals.
        for s in [404, 486, 484, 410] {
            assert_eq!(q850_to_sip(sip_to_q850(s)), s, "{s}");
        }
    }

    #[test]
    fn rfc3398_table() {
        let cases = [
            (1, 404),
            (2, 404),
            (3, 404),
            (16, 500),
            (17, 486),
            (18, 408),
            (19, 480),
            (20, 480),
            (21, 603),
            (22, 410),
            (26, 404),
            (27, 502),
            (28, 484),
            (29, 501),
            (31, 480),
            (34, 503),
            (38, 503),
            (41, 503),
            (42, 503),
            (44, 503),
            (47, 503),
            (55, 403),
            (57, 403),
            (58, 503),
            (65, 488),
            (69, 501),
            (70, 488),
            (79, 501),
            (87, 403),
            (88, 503),
            (102, 504),
            (111, 500),
            (127, 500),
        ];
        for (q, sip) in cases {
            assert_eq!(q850_to_sip(q), sip, "cause {q}");
        }
    }

    #[test]
    fn final_status_of_gsm_outcomes() {
        let with = |kind, q850| EndCause {
            kind,
            q850,
            end_status: Some(104),
            detail: "x".into(),
        };
        let cases = [
            (with(EndKind::Busy, Some(17)), 486),
            (with(EndKind::NoAnswer, Some(19)), 480),
            (with(EndKind::NoAnswer, None), 480),
            (with(EndKind::Unassigned, Some(1)), 404),
            (with(EndKind::Rejected, Some(21)), 603),
            (with(EndKind::Congestion, Some(34)), 503),
            (with(EndKind::Normal, Some(16)), 480),
            (with(EndKind::InvalidNumber, Some(28)), 484),
            (with(EndKind::ModemError, None), 503),
            (with(EndKind::SimBarred, Some(8)), 503),
            (with(EndKind::DeviceGone, None), 503),
            (with(EndKind::LocalHangup, Some(16)), 487),
            (with(EndKind::Unreachable, Some(20)), 480),
        ];
        for (cause, want) in cases {
            assert_eq!(final_status(&cause), want, "{cause:?}");
        }
    }

    #[test]
    fn reason_header_is_safe() {
        let c = EndCause {
            kind: EndKind::Busy,
            q850: Some(17),
            end_status: Some(104),
            detail: "a \"b\"\r\n".into(),
        };
        assert_eq!(
            reason_header(&c).as_deref(),
            Some("Q.850;cause=17;text=\"a b\"")
        );
        assert_eq!(reason_header(&EndCause::new(EndKind::Timeout, "t")), None);
    }
}
