//! Logging: the structured events go to stderr through a writer thread of their
//! own (tracing-appender's non-blocking writer), so that no media worker ever
//! waits on a slow or stuck log reader — a pipe nobody drains, a terminal on
//! hold, a journal under load. A blocking write there would stall every call on
//! that worker, the very stall that cuts the start of messages. Lines beyond
//! [`BUFFERED_LINES`] waiting are dropped and counted
//! (`openum_log_lines_dropped_total` on `/metrics`), never waited for.
//!
//! Recent events are also kept in memory for the API (see `events`).
//!
//! Depends on tracing-subscriber and tracing-appender only.

use std::sync::OnceLock;
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};

/// Lines that may wait for the writer thread (about 20 MB of typical events).
pub const BUFFERED_LINES: usize = 100_000;

static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// Install the subscriber (`RUST_LOG`, default `info`; JSON lines with `json`).
/// Keep the guard for the life of the process: dropping it writes out what is
/// still buffered.
pub fn init(json: bool) -> WorkerGuard {
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(BUFFERED_LINES)
        .thread_name("openum-log")
        .finish(std::io::stderr());
    let _ = DROPPED.set(writer.error_counter());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(writer);
    let fmt: Box<dyn tracing_subscriber::Layer<_> + Send + Sync> = match json {
        true => Box::new(fmt.json()),
        false => Box::new(fmt),
    };
    // The recent events for `GET /api/events`, past the same filter.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(crate::events::Keep)
        .try_init();
    guard
}

/// Log lines dropped because the reader of stderr did not keep up.
pub fn dropped_lines() -> u64 {
    DROPPED.get().map_or(0, |c| c.dropped_lines() as u64)
}
