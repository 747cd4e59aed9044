//! The HTTP server's own metrics: requests by route and status, their duration, and the
//! requests in flight, and their encoding. Counted by a middleware around every route;
//! the counts live behind a mutex held for a map update only (this is the HTTP worker,
//! never the SIP thread).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::MetricType;

use e173gw_core::stats::Histogram;

use super::metrics::{gauge, histogram, US};

/// What the server counted.
#[derive(Debug, Default)]
pub struct HttpTally {
    counts: Mutex<Counts>,
    in_flight: AtomicI64,
}

/// A copy of the counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests by (route pattern, status).
    pub requests: BTreeMap<(String, u16), u64>,
    /// Duration, µs.
    pub duration_us: Histogram,
    /// In flight when copied.
    pub in_flight: i64,
}

/// The route label of a request: its pattern (`/api/modems/{id}`), so ids do not make
/// new series; `other` for paths no route matched.
pub fn route_label(pattern: Option<&str>) -> String {
    pattern.unwrap_or("other").to_string()
}

impl HttpTally {
    /// A request started; it is in flight until the guard is dropped (also when the
    /// client goes away mid-request).
    pub fn begin(self: &std::sync::Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// A request was answered.
    pub fn end(&self, route: String, status: u16, us: u64) {
        if let Ok(mut c) = self.counts.lock() {
            *c.requests.entry((route, status)).or_default() += 1;
            c.duration_us.observe(us);
        }
    }

    /// The counts now.
    pub fn snapshot(&self) -> Counts {
        let mut c = self.counts.lock().map(|c| c.clone()).unwrap_or_default();
        c.in_flight = self.in_flight.load(Ordering::Relaxed);
        c
    }
}

/// A request in flight.
#[derive(Debug)]
pub struct InFlight(std::sync::Arc<HttpTally>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Encodes the HTTP server's counts.
pub(crate) fn encode(e: &mut DescriptorEncoder, h: &Counts) -> std::fmt::Result {
    {
        let mut enc = e.encode_descriptor(
            "e173gw_http_requests",
            "HTTP requests by route and status.",
            None,
            MetricType::Counter,
        )?;
        for ((route, status), n) in &h.requests {
            let status = status.to_string();
            let labels = [("route", route.as_str()), ("status", status.as_str())];
            ConstCounter::new(*n).encode(enc.encode_family(&labels)?)?;
        }
    }
    histogram(
        e,
        ("e173gw_http_request_seconds", "HTTP request duration."),
        US,
        &[(Vec::new(), &h.duration_us)],
    )?;
    gauge(
        e,
        "e173gw_http_requests_in_flight",
        "HTTP requests being answered.",
        h.in_flight,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests() {
        let t = std::sync::Arc::new(HttpTally::default());
        let a = t.begin();
        let _b = t.begin();
        t.end(route_label(Some("/api/modems/{id}")), 200, 120);
        drop(a);
        let c = t.snapshot();
        assert_eq!(c.in_flight, 1);
        assert_eq!(c.requests.get(&("/api/modems/{id}".into(), 200)), Some(&1));
        assert_eq!(c.duration_us.count, 1);
        assert_eq!(route_label(None), "other");
    }
}
