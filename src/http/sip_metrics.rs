//! The SIP side's and the finished calls' metrics: messages by method and status each
//! way, the handler's time per message, transactions and dialogs, admission counters; calls
//! by outcome, post-dial delay, setup and talk time.

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::MetricType;

use e173gw_actors::ingress::IngressStats;
use e173gw_core::record::Outcome;
use e173gw_core::stats::{CallTally, METHODS};

use super::metrics::{counter, counters, gauge, histogram, MS, US};

/// Encodes the SIP side's counters.
pub(crate) fn encode(e: &mut DescriptorEncoder, s: &IngressStats) -> std::fmt::Result {
    let rows: [(&str, &str, u64); 10] = [
        ("e173gw_sip_received", "SIP messages received.", s.received),
        (
            "e173gw_sip_malformed",
            "SIP messages rejected by the inbound checks.",
            s.malformed,
        ),
        (
            "e173gw_sip_unknown_source",
            "Requests from sources no trunk allows.",
            s.unknown_source,
        ),
        (
            "e173gw_sip_flooded",
            "Requests dropped by the per-source flood limit.",
            s.flooded,
        ),
        (
            "e173gw_sip_challenged",
            "Digest challenges sent.",
            s.challenged,
        ),
        (
            "e173gw_sip_auth_failed",
            "Requests refused for bad credentials.",
            s.auth_failed,
        ),
        (
            "e173gw_sip_over_limit",
            "Calls refused by trunk caps.",
            s.over_limit,
        ),
        (
            "e173gw_sip_send_failures",
            "SIP sends that failed.",
            s.send_failures,
        ),
        (
            "e173gw_sip_journal_refusals",
            "Calls refused 503 because the call-start journal was behind the disk.",
            s.journal_refusals,
        ),
        (
            "e173gw_sip_undialable",
            "INVITEs refused because the callee is not a dialable number.",
            s.undialable,
        ),
    ];
    counters(e, &rows)?;
    {
        let mut enc = e.encode_descriptor(
            "e173gw_sip_messages",
            "SIP requests by method and direction (in, out); retransmissions included.",
            None,
            MetricType::Counter,
        )?;
        for ((m, dir), n) in &s.messages.requests {
            let method = METHODS.get(*m).copied().unwrap_or("other");
            let labels = [("method", method), ("direction", dir.as_str())];
            ConstCounter::new(*n).encode(enc.encode_family(&labels)?)?;
        }
    }
    {
        let mut enc = e.encode_descriptor(
            "e173gw_sip_responses",
            "SIP responses by status code and direction (in, out); retransmissions included.",
            None,
            MetricType::Counter,
        )?;
        for ((code, dir), n) in &s.messages.responses {
            let code = code.to_string();
            let labels = [("code", code.as_str()), ("direction", dir.as_str())];
            ConstCounter::new(*n).encode(enc.encode_family(&labels)?)?;
        }
    }
    histogram(
        e,
        (
            "e173gw_sip_handler_seconds",
            "Time the SIP thread spent on each received message.",
        ),
        US,
        &[(Vec::new(), &s.handler_us)],
    )?;
    gauge(
        e,
        "e173gw_sip_transactions",
        "SIP transactions in flight.",
        i64::try_from(s.transactions).unwrap_or(i64::MAX),
    )?;
    gauge(
        e,
        "e173gw_sip_dialogs",
        "SIP dialogs (calls) in progress.",
        i64::try_from(s.active_calls).unwrap_or(i64::MAX),
    )?;
    counter(e, "e173gw_calls", "Calls started.", s.calls)?;
    gauge(
        e,
        "e173gw_calls_active",
        "Calls in progress.",
        i64::try_from(s.active_calls).unwrap_or(i64::MAX),
    )
}

/// Encodes the finished calls.
pub(crate) fn encode_calls(e: &mut DescriptorEncoder, t: &CallTally) -> std::fmt::Result {
    {
        let mut enc = e.encode_descriptor(
            "e173gw_call_outcomes",
            "Finished calls by outcome (answered, busy, no_answer, cancelled, rejected, redirected, failed).",
            None,
            MetricType::Counter,
        )?;
        for o in Outcome::ALL {
            let n = t.outcomes.get(&o).copied().unwrap_or(0);
            ConstCounter::new(n).encode(enc.encode_family(&[("outcome", o.as_str())])?)?;
        }
    }
    histogram(
        e,
        (
            "e173gw_call_post_dial_delay_seconds",
            "Post-dial delay: dial to ringback or answer.",
        ),
        MS,
        &[(Vec::new(), &t.pdd)],
    )?;
    histogram(
        e,
        (
            "e173gw_call_setup_seconds",
            "INVITE to answer, of answered calls.",
        ),
        MS,
        &[(Vec::new(), &t.setup)],
    )?;
    histogram(
        e,
        (
            "e173gw_call_talk_seconds",
            "Talk time of answered calls (ACD = sum / count).",
        ),
        1.0,
        &[(Vec::new(), &t.talk)],
    )?;
    histogram(
        e,
        (
            "e173gw_call_mos",
            "Estimated MOS of the trunk leg (E-model, G.107), calls with RTP from the trunk.",
        ),
        100.0,
        &[(Vec::new(), &t.mos)],
    )?;
    histogram(
        e,
        (
            "e173gw_call_jitter_seconds",
            "Interarrival jitter of the trunk's RTP (RFC 3550), per call.",
        ),
        US,
        &[(Vec::new(), &t.jitter)],
    )?;
    {
        let mut enc = e.encode_descriptor(
            "e173gw_call_one_way_audio",
            "Calls with one-way audio, by the silent side (caller: nothing from the trunk; callee: nothing from the modem).",
            None,
            MetricType::Counter,
        )?;
        for side in ["caller", "callee"] {
            let n = t.one_way.get(side).copied().unwrap_or(0);
            ConstCounter::new(n).encode(enc.encode_family(&[("silent", side)])?)?;
        }
    }
    let rtp: [(&str, &str, u64); 3] = [
        (
            "e173gw_rtp_packets_received",
            "RTP packets received from trunks (finished calls).",
            t.rtp_received,
        ),
        (
            "e173gw_rtp_packets_lost",
            "RTP packets from trunks that never arrived (finished calls).",
            t.rtp_lost,
        ),
        (
            "e173gw_rtp_packets_late",
            "RTP packets from trunks too late to play, or duplicated (finished calls).",
            t.rtp_late,
        ),
    ];
    counters(e, &rtp)
}
