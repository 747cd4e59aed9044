//! The filter pipeline's metrics: decisions, stage outcomes, stage latency, reloads.

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

use e173gw_actors::filter::{FilterStats, Latency};

use super::metrics::{histogram, US};

/// Encodes `s`.
pub(crate) fn encode(e: &mut DescriptorEncoder, s: &FilterStats) -> std::fmt::Result {
    {
        let mut enc = e.encode_descriptor(
            "e173gw_filter_decisions",
            "Screenings by decision (allow, reject, divert).",
            None,
            MetricType::Counter,
        )?;
        for (d, n) in &s.decisions {
            ConstCounter::new(*n).encode(enc.encode_family(&[("decision", d.as_str())])?)?;
        }
    }
    {
        let mut enc = e.encode_descriptor(
            "e173gw_filter_stage_outcomes",
            "Stage runs by stage, finding and action.",
            None,
            MetricType::Counter,
        )?;
        for ((stage, finding, act), n) in &s.outcomes {
            let labels = [
                ("stage", stage.as_str()),
                ("finding", finding.as_str()),
                ("act", act.as_str()),
            ];
            ConstCounter::new(*n).encode(enc.encode_family(&labels)?)?;
        }
    }
    let rows: Vec<(Vec<(&str, &str)>, &Latency)> = s
        .latency
        .iter()
        .map(|(k, l)| (vec![("stage", k.as_str())], l))
        .collect();
    histogram(
        e,
        (
            "e173gw_filter_stage_seconds",
            "Time per stage, lookups included.",
        ),
        US,
        &rows,
    )?;
    histogram(
        e,
        (
            "e173gw_filter_screening_seconds",
            "Time per whole screening.",
        ),
        US,
        &[(Vec::new(), &s.total)],
    )?;
    for (name, help, v) in [
        (
            "e173gw_filter_reloads",
            "Filter rule reloads applied.",
            s.reloads,
        ),
        (
            "e173gw_filter_reloads_refused",
            "Config edits refused (the old rules stayed).",
            s.reloads_refused,
        ),
        (
            "e173gw_filter_blacklist_refresh_failures",
            "Reads of the store's blacklist that failed.",
            s.blacklist_refresh_failures,
        ),
    ] {
        let m = ConstCounter::new(v);
        m.encode(e.encode_descriptor(name, help, None, m.metric_type())?)?;
    }
    for (name, help, v) in [
        (
            "e173gw_filter_rules_version",
            "Version of the filter rules in force (1 at start, +1 per reload).",
            s.rules_version,
        ),
        (
            "e173gw_filter_stored_blacklist_entries",
            "Entries of the store's blacklist held in memory.",
            s.stored_blacklist,
        ),
    ] {
        let m = ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX));
        m.encode(e.encode_descriptor(name, help, None, m.metric_type())?)?;
    }
    Ok(())
}
