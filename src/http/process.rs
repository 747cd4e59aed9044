//! The process's own figures for `/metrics` (`process_*`, as Prometheus client libraries
//! name them), read from `/proc/self`. CPU time is summed from each thread's
//! `schedstat` (nanoseconds on a CPU), which counts the short wake-ups that tick-based
//! `utime`/`stime` miss; threads that have exited are no longer counted.

use std::path::Path;

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;

use super::metrics::gauge;

/// What `/proc/self` says now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessStats {
    /// CPU time of the live threads, ns.
    pub cpu_ns: u64,
    /// Resident memory, bytes.
    pub rss_bytes: u64,
    /// Live threads.
    pub threads: u64,
    /// Open file descriptors.
    pub open_fds: u64,
}

/// The first field of a `schedstat` file: time on a CPU, ns.
pub fn parse_schedstat(text: &str) -> Option<u64> {
    text.split_whitespace().next()?.parse().ok()
}

/// `VmRSS:` of a `status` file, in bytes.
pub fn parse_vm_rss(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut f = line.split_whitespace().skip(1);
    let n: u64 = f.next()?.parse().ok()?;
    match f.next() {
        Some("kB") | None => Some(n * 1024),
        _ => None,
    }
}

impl ProcessStats {
    /// Reads `root` (normally `/proc/self`); what cannot be read stays 0.
    pub fn read(root: &Path) -> Self {
        let mut s = Self::default();
        if let Ok(tasks) = std::fs::read_dir(root.join("task")) {
            for t in tasks.flatten() {
                s.threads += 1;
                if let Some(ns) = std::fs::read_to_string(t.path().join("schedstat"))
                    .ok()
                    .as_deref()
                    .and_then(parse_schedstat)
                {
                    s.cpu_ns += ns;
                }
            }
        }
        s.rss_bytes = std::fs::read_to_string(root.join("status"))
            .ok()
            .as_deref()
            .and_then(parse_vm_rss)
            .unwrap_or(0);
        s.open_fds = std::fs::read_dir(root.join("fd")).map_or(0, |d| d.count() as u64);
        s
    }
}

/// Encodes the process's figures (`process_*`).
pub(crate) fn encode(
    e: &mut DescriptorEncoder,
    p: &ProcessStats,
    started_ms: u64,
) -> std::fmt::Result {
    {
        let c = ConstCounter::new(p.cpu_ns as f64 / 1e9);
        let enc = e.encode_descriptor(
            "process_cpu_seconds",
            "CPU time of the gateway's threads (from schedstat), s.",
            None,
            c.metric_type(),
        )?;
        c.encode(enc)?;
    }
    let gauges: [(&str, &str, u64); 3] = [
        (
            "process_resident_memory_bytes",
            "Resident memory, bytes.",
            p.rss_bytes,
        ),
        ("process_threads", "Threads.", p.threads),
        ("process_open_fds", "Open file descriptors.", p.open_fds),
    ];
    for (name, help, v) in gauges {
        gauge(e, name, help, i64::try_from(v).unwrap_or(i64::MAX))?;
    }
    gauge(
        e,
        "process_start_time_seconds",
        "When the gateway started, Unix s.",
        i64::try_from(started_ms / 1000).unwrap_or(i64::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        assert_eq!(parse_schedstat("123456789 2000 15\n"), Some(123_456_789));
        assert_eq!(parse_schedstat(""), None);
        assert_eq!(parse_schedstat("x 1 2"), None);
        let status = "Name:\te173gw\nVmPeak:\t  9000 kB\nVmRSS:\t   20480 kB\nThreads:\t7\n";
        assert_eq!(parse_vm_rss(status), Some(20480 * 1024));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
        assert_eq!(parse_vm_rss("VmRSS: 12 MB\n"), None);
    }

    #[test]
    fn reads_this_process() {
        let s = ProcessStats::read(Path::new("/proc/self"));
        assert!(s.threads >= 1, "{s:?}");
        assert!(s.rss_bytes > 1 << 20, "{s:?}");
        assert!(s.open_fds >= 3, "{s:?}");
        assert!(s.cpu_ns > 0, "{s:?}");
    }
}
