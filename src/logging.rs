//! Log output: human-readable or one JSON object per line, filtered by `log.level`.
//!
//! Lines go to stderr through a writer thread: a thread that logs only queues the line,
//! so a slow reader of the log (a full pipe, a busy journal) never stalls the SIP path.
//! When the queue is full, lines are dropped rather than waited for.

use std::io::IsTerminal;

use e173gw_core::config::{LogConfig, LogFormat};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Lines queued for the writer thread before new ones are dropped.
const QUEUED_LINES: usize = 64 * 1024;

/// Installs the global subscriber. Call once, before anything logs; keep the guard until
/// the end (dropping it writes out what is queued).
pub fn init(cfg: &LogConfig) -> WorkerGuard {
    let filter = EnvFilter::try_new(&cfg.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(QUEUED_LINES)
        .lossy(true)
        .finish(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match cfg.format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    guard
}
