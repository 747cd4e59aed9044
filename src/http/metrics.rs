//! Metrics in the OpenMetrics/Prometheus text format: a snapshot of the actors' counters,
//! taken at each scrape and encoded here (nothing is counted twice: the actors own them).

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use e173gw_actors::ingress::IngressStats;
use e173gw_actors::recorder::RecorderStats;
use e173gw_actors::routing::RouterStats;
use e173gw_actors::routing::SimRow;
use e173gw_core::at::session::SimState;

use e173gw_core::stats::Histogram;

use crate::adapters::resilient::SharedStatus;

/// One modem's row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModemRow {
    /// Modem id.
    pub id: String,
    /// A call can be placed on it now.
    pub available: bool,
    /// Its ports are open.
    pub link_open: bool,
    /// A call is up or being set up.
    pub in_call: bool,
    /// Raw RSSI 0..=31 (99 or `None`: unknown).
    pub rssi: Option<u8>,
    /// Resets performed.
    pub resets: u64,
    /// Recovery rung (0 = healthy).
    pub recovery_rung: u32,
    /// Registered on a network (home or roaming).
    pub registered: bool,
    /// A SIM is present and ready.
    pub sim_ready: bool,
    /// Signal, dBm.
    pub signal_dbm: Option<i16>,
    /// Routing would consider it (not disabled, quarantined, rested or busy).
    pub routable: bool,
    /// Calls today (the limits' day).
    pub calls_today: u32,
    /// Minutes today.
    pub minutes_today: u32,
    /// AT commands that failed or timed out.
    pub errors: u64,
    /// What is left of each limit it has.
    pub limit_left: Vec<(&'static str, u32)>,
}

impl ModemRow {
    /// Open, with a ready SIM on a network: it can take calls (now or after the one it has).
    pub fn usable(&self) -> bool {
        self.link_open && self.sim_ready && self.registered
    }

    /// The row of one modem as the router sees it.
    pub fn of(r: &SimRow) -> Self {
        let m = &r.status;
        Self {
            id: m.id.to_string(),
            available: m.is_available(),
            link_open: r.is_open(),
            in_call: m.session.call.is_some(),
            rssi: r.signal().map(|s| s.rssi),
            signal_dbm: r.signal().and_then(|s| s.dbm()),
            resets: m.resets,
            recovery_rung: m.recovery_rung,
            registered: m
                .session
                .registration
                .as_ref()
                .is_some_and(|g| g.state.is_registered()),
            sim_ready: m.session.sim == SimState::Ready,
            routable: r.routable(),
            calls_today: r.calls_today,
            minutes_today: r.minutes_today,
            errors: m.session.stats.errors + m.session.stats.timeouts,
            limit_left: r
                .limits_left()
                .into_iter()
                .filter_map(|(k, v)| Some((k, v?)))
                .collect(),
        }
    }
}

/// What one scrape reports. A source that did not answer is left out.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The SIP side.
    pub ingress: Option<IngressStats>,
    /// The recorder.
    pub recorder: Option<RecorderStats>,
    /// The router.
    pub router: Option<RouterStats>,
    /// The filter pipeline.
    pub filter: Option<e173gw_actors::filter::FilterStats>,
    /// The shared store (production storage only).
    pub shared: Option<SharedStatus>,
    /// Every modem.
    pub modems: Vec<ModemRow>,
    /// Every peer node.
    pub peers: Vec<e173gw_actors::routing::PeerRow>,
    /// The HTTP server's counts.
    pub http: Option<super::tally::Counts>,
    /// The process.
    pub process: Option<super::process::ProcessStats>,
    /// When the gateway started (Unix ms).
    pub started_ms: u64,
    /// Each SIM's last balance, and whether it is low.
    pub balances: Vec<(e173gw_core::sms::message::SimBalance, bool)>,
}

impl Snapshot {
    /// Why the gateway cannot take calls now (empty: ready). The config is valid: it is
    /// running. A failing record store is fine while the spool takes the records.
    pub fn not_ready(&self) -> Vec<String> {
        let mut why = Vec::new();
        if self.recorder.is_none() {
            why.push("the recorder does not answer".to_string());
        }
        if self.ingress.is_none() {
            why.push("the SIP side does not answer".to_string());
        }
        if !self.modems.iter().any(ModemRow::usable) {
            why.push(format!(
                "no modem is usable ({} known, none open with a ready SIM on a network)",
                self.modems.len()
            ));
        }
        why
    }
}

pub(crate) fn counter(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    v: u64,
) -> std::fmt::Result {
    let m = ConstCounter::new(v);
    let enc = e.encode_descriptor(name, help, None, m.metric_type())?;
    m.encode(enc)
}

/// Plain counters, one per `(name, help, value)`.
pub(crate) fn counters(e: &mut DescriptorEncoder, rows: &[(&str, &str, u64)]) -> std::fmt::Result {
    for (name, help, v) in rows {
        counter(e, name, help, *v)?;
    }
    Ok(())
}

pub(crate) fn gauge(e: &mut DescriptorEncoder, name: &str, help: &str, v: i64) -> std::fmt::Result {
    let m = ConstGauge::new(v);
    let enc = e.encode_descriptor(name, help, None, m.metric_type())?;
    m.encode(enc)
}

/// A gauge with one sample per row, labelled `label` = `key(row)`.
fn labelled<R>(
    e: &mut DescriptorEncoder,
    (name, help): (&str, &str),
    label: &str,
    rows: &[R],
    key: impl Fn(&R) -> &str,
    v: impl Fn(&R) -> Option<i64>,
) -> std::fmt::Result {
    let mut enc = e.encode_descriptor(name, help, None, ConstGauge::new(0i64).metric_type())?;
    for r in rows {
        if let Some(x) = v(r) {
            let labels = [(label, key(r))];
            ConstGauge::new(x).encode(enc.encode_family(&labels)?)?;
        }
    }
    Ok(())
}

/// A gauge with one sample per modem.
fn per_modem(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: &[ModemRow],
    v: impl Fn(&ModemRow) -> Option<i64>,
) -> std::fmt::Result {
    labelled(e, (name, help), "modem", rows, |r| r.id.as_str(), v)
}

/// One sample per peer node for each peer gauge.
fn per_peer(
    e: &mut DescriptorEncoder,
    rows: &[e173gw_actors::routing::PeerRow],
) -> std::fmt::Result {
    type Value = fn(&e173gw_actors::routing::PeerRow) -> Option<i64>;
    let gauges: [(&str, &str, Value); 3] = [
        (
            "e173gw_peer_up",
            "1 while the peer node is in rotation.",
            |r| Some(flag(r.up)),
        ),
        (
            "e173gw_peer_rtt_ms",
            "Round trip of the peer's last answered OPTIONS check, ms.",
            |r| r.rtt_ms.and_then(|v| i64::try_from(v).ok()),
        ),
        (
            "e173gw_peer_free_sims",
            "The peer's SIMs free now, as it says.",
            |r| i64::try_from(r.free).ok(),
        ),
    ];
    for (name, help, v) in gauges {
        labelled(e, (name, help), "peer", rows, |r| r.node.as_str(), v)?;
    }
    Ok(())
}

/// Divisor from µs to seconds.
pub(crate) const US: f64 = 1e6;
/// Divisor from ms to seconds.
pub(crate) const MS: f64 = 1e3;

/// A histogram family: one histogram per label set, its values divided by `unit` into
/// the exported unit.
pub(crate) fn histogram(
    e: &mut DescriptorEncoder,
    (name, help): (&str, &str),
    unit: f64,
    rows: &[(Vec<(&str, &str)>, &Histogram)],
) -> std::fmt::Result {
    let mut enc = e.encode_descriptor(name, help, None, MetricType::Histogram)?;
    for (labels, h) in rows {
        let (sum, buckets) = (h.sum as f64 / unit, h.exposition(unit));
        if labels.is_empty() {
            // No `{}` after the name when there is no label.
            enc.encode_histogram::<NoLabelSet>(sum, h.count, &buckets, None)?;
        } else {
            enc.encode_family(labels)?
                .encode_histogram::<NoLabelSet>(sum, h.count, &buckets, None)?;
        }
    }
    Ok(())
}

fn flag(b: bool) -> i64 {
    i64::from(b)
}

impl Collector for Snapshot {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        {
            let b = &self.balances;
            labelled(
                &mut e,
                (
                    "e173gw_sim_balance_cents",
                    "Each SIM's balance as last read by USSD, in cents (by the modem it is in).",
                ),
                "modem",
                b,
                |r| r.0.modem.as_str(),
                |r| Some(r.0.cents),
            )?;
            labelled(
                &mut e,
                (
                    "e173gw_sim_balance_low",
                    "1 when the SIM's balance is under [ussd] low_balance_cents.",
                ),
                "modem",
                b,
                |r| r.0.modem.as_str(),
                |r| Some(i64::from(r.1)),
            )?;
        }
        if let Some(s) = &self.ingress {
            super::sip_metrics::encode(&mut e, s)?;
        }
        if let Some(r) = &self.recorder {
            super::sip_metrics::encode_calls(&mut e, &r.calls)?;
        }
        if let Some(f) = &self.filter {
            super::filter_metrics::encode(&mut e, f)?;
        }
        if let Some(r) = &self.router {
            gauge(
                &mut e,
                "e173gw_routing_leases",
                "Modems leased to calls now.",
                r.leases as i64,
            )?;
            counter(
                &mut e,
                "e173gw_routing_decisions",
                "Route requests answered.",
                r.decisions,
            )?;
            counter(
                &mut e,
                "e173gw_routing_failovers",
                "Route requests for a call whose earlier try failed on a modem.",
                r.failovers,
            )?;
            gauge(
                &mut e,
                "e173gw_routing_waiting",
                "Calls waiting for their sticky SIM (strict mode).",
                r.waiting as i64,
            )?;
            gauge(
                &mut e,
                "e173gw_routing_sims_rested",
                "SIMs rested by SIM protection now.",
                r.rested as i64,
            )?;
            gauge(
                &mut e,
                "e173gw_peers_up",
                "Peer nodes in rotation.",
                r.peers_up as i64,
            )?;
            gauge(
                &mut e,
                "e173gw_peers",
                "Peer nodes configured.",
                r.peers as i64,
            )?;
        }
        if let Some(r) = &self.recorder {
            counter(
                &mut e,
                "e173gw_records_spooled",
                "Call records journaled to the spool.",
                r.spooled,
            )?;
            counter(
                &mut e,
                "e173gw_records_delivered",
                "Call records the record store accepted.",
                r.delivered,
            )?;
            counter(
                &mut e,
                "e173gw_record_store_failures",
                "Record store batches that failed.",
                r.failures,
            )?;
            counter(
                &mut e,
                "e173gw_records_interrupted",
                "Records made for calls cut by a stop of the gateway.",
                r.interrupted,
            )?;
            counter(
                &mut e,
                "e173gw_records_dead",
                "Records the store refused as invalid (kept in dead.jsonl).",
                r.dead,
            )?;
            counter(
                &mut e,
                "e173gw_spool_write_errors",
                "Spool writes that failed (the disk under the spool is failing).",
                r.journal_errors,
            )?;
            histogram(
                &mut e,
                (
                    "e173gw_record_store_seconds",
                    "Time the record store took per batch of records.",
                ),
                US,
                &[(Vec::new(), &r.store_us)],
            )?;
            gauge(
                &mut e,
                "e173gw_records_backlog",
                "Call records waiting for the record store.",
                r.backlog as i64,
            )?;
            gauge(
                &mut e,
                "e173gw_record_store_degraded",
                "1 while the record store is failing (records wait in the spool).",
                flag(r.degraded),
            )?;
        }
        if let Some(s) = &self.shared {
            gauge(
                &mut e,
                "e173gw_shared_store_degraded",
                "1 while the shared store (Redis) is failing and local state is used.",
                flag(s.degraded),
            )?;
            gauge(
                &mut e,
                "e173gw_shared_store_pending_writes",
                "Writes held back for the shared store.",
                s.pending as i64,
            )?;
            counter(
                &mut e,
                "e173gw_shared_store_outages",
                "Times the shared store went down.",
                s.outages,
            )?;
            counter(&mut e, "e173gw_shared_store_resyncs", "Times the shared store came back without its data and local state was pushed back.", s.resyncs)?;
            counter(
                &mut e,
                "e173gw_shared_store_dropped_writes",
                "Held-back writes dropped because too many waited.",
                s.dropped,
            )?;
        }
        per_peer(&mut e, &self.peers)?;
        gauge(
            &mut e,
            "e173gw_ready",
            "1 when the gateway can take calls (see /readyz for the reasons when not).",
            flag(self.not_ready().is_empty()),
        )?;
        if let Some(h) = &self.http {
            super::tally::encode(&mut e, h)?;
        }
        if let Some(p) = &self.process {
            super::process::encode(&mut e, p, self.started_ms)?;
        }
        let m = &self.modems;
        gauge(
            &mut e,
            "e173gw_modems",
            "Modems known to this gateway.",
            m.len() as i64,
        )?;
        per_modem(
            &mut e,
            "e173gw_modem_available",
            "1 when a call can be placed on the modem now.",
            m,
            |r| Some(flag(r.available)),
        )?;
        per_modem(
            &mut e,
            "e173gw_modem_link_open",
            "1 when the modem's ports are open.",
            m,
            |r| Some(flag(r.link_open)),
        )?;
        per_modem(
            &mut e,
            "e173gw_modem_in_call",
            "1 while the modem has a call.",
            m,
            |r| Some(flag(r.in_call)),
        )?;
        per_modem(
            &mut e,
            "e173gw_modem_rssi",
            "Raw signal strength 0..31 (absent when unknown).",
            m,
            |r| r.rssi.filter(|v| *v <= 31).map(i64::from),
        )?;
        per_modem(
            &mut e,
            "e173gw_modem_signal_dbm",
            "Signal, dBm (absent when unknown).",
            m,
            |r| r.signal_dbm.map(i64::from),
        )?;
        per_modem(
            &mut e,
            "e173gw_modem_registered",
            "1 while the modem is registered on a network (home or roaming).",
            m,
            |r| Some(flag(r.registered)),
        )?;
        per_modem(
            &mut e,
            "e173gw_modem_routable",
            "1 while routing would give the modem a call (not disabled, quarantined, rested or busy).",
            m,
            |r| Some(flag(r.routable)),
        )?;
        per_modem(
            &mut e,
            "e173gw_modem_calls_today",
            "Calls on the modem's SIM today (the limits' day).",
            m,
            |r| Some(i64::from(r.calls_today)),
        )?;
        per_modem(
            &mut e,
            "e173gw_modem_minutes_today",
            "Minutes on the modem's SIM today.",
            m,
            |r| Some(i64::from(r.minutes_today)),
        )?;
        per_modem(
            &mut e,
            "e173gw_modem_errors",
            "AT commands that failed or timed out on the modem.",
            m,
            |r| i64::try_from(r.errors).ok(),
        )?;
        {
            let mut enc = e.encode_descriptor(
                "e173gw_modem_limit_left",
                "What is left of each SIM limit (calls or minutes, per day or month).",
                None,
                MetricType::Gauge,
            )?;
            for r in m {
                for (limit, v) in &r.limit_left {
                    let labels = [("modem", r.id.as_str()), ("limit", limit)];
                    ConstGauge::new(i64::from(*v)).encode(enc.encode_family(&labels)?)?;
                }
            }
        }
        per_modem(
            &mut e,
            "e173gw_modem_resets",
            "Resets performed on the modem.",
            m,
            |r| Some(r.resets as i64),
        )?;
        per_modem(
            &mut e,
            "e173gw_modem_recovery_rung",
            "Recovery ladder rung (0 = healthy).",
            m,
            |r| Some(i64::from(r.recovery_rung)),
        )?;
        Ok(())
    }
}

impl Snapshot {
    /// The text exposition.
    pub fn render(self) -> String {
        let mut reg = Registry::default();
        reg.register_collector(Box::new(self));
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &reg).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(text: &str, name: &str) -> Option<String> {
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .map(str::to_string)
    }

    #[test]
    fn renders_every_source() {
        let snap = Snapshot {
            peers: vec![e173gw_actors::routing::PeerRow {
                node: "b".into(),
                up: true,
                rtt_ms: Some(3),
                modems: 4,
                free: 2,
            }],
            ingress: Some(IngressStats {
                received: 10,
                calls: 4,
                active_calls: 2,
                ..IngressStats::default()
            }),
            recorder: Some(RecorderStats {
                spooled: 4,
                delivered: 3,
                backlog: 1,
                degraded: true,
                ..RecorderStats::default()
            }),
            router: Some(RouterStats {
                leases: 3,
                decisions: 9,
                failovers: 4,
                waiting: 1,
                rested: 2,
                peers_up: 1,
                peers: 2,
            }),
            filter: Some({
                let mut f = e173gw_actors::filter::FilterStats {
                    rules_version: 2,
                    reloads_refused: 1,
                    ..Default::default()
                };
                f.decisions.insert("reject".into(), 5);
                f.outcomes
                    .insert(("blacklist".into(), "match".into(), "reject 403".into()), 5);
                let mut l = e173gw_actors::filter::Latency::default();
                for us in [3, 4, 30, 3_000_000] {
                    l.observe(us);
                }
                f.latency.insert("blacklist".into(), l);
                f
            }),
            shared: Some(SharedStatus {
                degraded: true,
                pending: 7,
                outages: 1,
                ..SharedStatus::default()
            }),
            modems: vec![
                ModemRow {
                    id: "modem0".into(),
                    available: true,
                    link_open: true,
                    rssi: Some(21),
                    ..ModemRow::default()
                },
                ModemRow {
                    id: "modem1".into(),
                    rssi: Some(99),
                    resets: 2,
                    signal_dbm: Some(-91),
                    calls_today: 7,
                    limit_left: vec![("calls_per_day", 3)],
                    ..ModemRow::default()
                },
            ],
            http: Some(super::super::tally::Counts {
                requests: [(("/api/modems".to_string(), 200), 5)]
                    .into_iter()
                    .collect(),
                ..Default::default()
            }),
            process: Some(super::super::process::ProcessStats {
                cpu_ns: 1_500_000_000,
                rss_bytes: 4096,
                threads: 3,
                open_fds: 9,
            }),
            started_ms: 1_000_000,
            balances: Vec::new(),
        };
        let mut snap = snap;
        if let Some(i) = snap.ingress.as_mut() {
            i.messages.count(
                b"INVITE sip:1@h SIP/2.0\r\n",
                e173gw_core::stats::Direction::In,
            );
            i.messages.count(
                b"SIP/2.0 486 Busy Here\r\n",
                e173gw_core::stats::Direction::Out,
            );
        }
        if let Some(r) = snap.recorder.as_mut() {
            let rec = e173gw_core::record::CallStart {
                call_id: "c".into(),
                trunk: None,
                caller: "1".into(),
                callee: "2".into(),
                received_ms: 0,
            }
            .refused(403);
            r.calls.observe(&rec);
        }
        let t = snap.render();
        for (name, v) in [
            ("e173gw_sip_received_total", "10"),
            ("e173gw_sip_messages_total{method=\"INVITE\",direction=\"in\"}", "1"),
            ("e173gw_sip_responses_total{code=\"486\",direction=\"out\"}", "1"),
            ("e173gw_call_outcomes_total{outcome=\"rejected\"}", "1"),
            ("e173gw_call_outcomes_total{outcome=\"answered\"}", "0"),
            ("e173gw_modem_signal_dbm{modem=\"modem1\"}", "-91"),
            ("e173gw_modem_calls_today{modem=\"modem1\"}", "7"),
            ("e173gw_modem_limit_left{modem=\"modem1\",limit=\"calls_per_day\"}", "3"),
            ("e173gw_ready", "0"),
            ("e173gw_http_requests_total{route=\"/api/modems\",status=\"200\"}", "5"),
            ("process_cpu_seconds_total", "1.5"),
            ("process_resident_memory_bytes", "4096"),
            ("process_start_time_seconds", "1000"),
            ("e173gw_calls_total", "4"),
            ("e173gw_calls_active", "2"),
            ("e173gw_routing_leases", "3"),
            ("e173gw_routing_decisions_total", "9"),
            ("e173gw_routing_failovers_total", "4"),
            ("e173gw_routing_waiting", "1"),
            ("e173gw_routing_sims_rested", "2"),
            ("e173gw_peers_up", "1"),
            ("e173gw_peers", "2"),
            ("e173gw_records_spooled_total", "4"),
            ("e173gw_records_backlog", "1"),
            ("e173gw_record_store_degraded", "1"),
            ("e173gw_shared_store_degraded", "1"),
            ("e173gw_shared_store_pending_writes", "7"),
            ("e173gw_shared_store_outages_total", "1"),
            ("e173gw_modems", "2"),
            ("e173gw_peer_up{peer=\"b\"}", "1"),
            ("e173gw_peer_rtt_ms{peer=\"b\"}", "3"),
            ("e173gw_peer_free_sims{peer=\"b\"}", "2"),
            ("e173gw_modem_available{modem=\"modem0\"}", "1"),
            ("e173gw_modem_available{modem=\"modem1\"}", "0"),
            ("e173gw_modem_rssi{modem=\"modem0\"}", "21"),
            ("e173gw_modem_resets{modem=\"modem1\"}", "2"),
            ("e173gw_filter_decisions_total{decision=\"reject\"}", "5"),
            (
                "e173gw_filter_stage_outcomes_total{stage=\"blacklist\",finding=\"match\",act=\"reject 403\"}",
                "5",
            ),
            ("e173gw_filter_stage_seconds_bucket{le=\"0.000005\",stage=\"blacklist\"}", "2"),
            ("e173gw_filter_stage_seconds_bucket{le=\"0.00005\",stage=\"blacklist\"}", "3"),
            ("e173gw_filter_stage_seconds_bucket{le=\"+Inf\",stage=\"blacklist\"}", "4"),
            ("e173gw_filter_stage_seconds_count{stage=\"blacklist\"}", "4"),
            ("e173gw_filter_rules_version", "2"),
            ("e173gw_filter_reloads_refused_total", "1"),
        ] {
            assert_eq!(sample(&t, name).as_deref(), Some(v), "{name} in\n{t}");
        }
        assert!(
            !t.contains("e173gw_modem_rssi{modem=\"modem1\"}"),
            "unknown RSSI left out"
        );
        assert!(t.contains("# TYPE e173gw_calls counter"));
        assert!(t.ends_with("# EOF\n"));
    }

    #[test]
    fn missing_sources_are_left_out() {
        let t = Snapshot::default().render();
        assert!(!t.contains("e173gw_sip_"));
        assert!(!t.contains("e173gw_shared_store"));
        assert_eq!(sample(&t, "e173gw_modems").as_deref(), Some("0"));
    }
}
