//! Logging: a `tracing` subscriber with an injectable sink, so tests can capture logs.
//!
//! Personal data rule: request handlers log no profile content (no ROME code, item code or
//! identifier) at info level or above; such details are at most `debug`.

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber writing to `sink`, filtered by `RUST_LOG` (default
/// `info`). Does nothing if a subscriber is already installed.
pub fn init<W>(format: LogFormat, sink: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    use std::io::IsTerminal;
    // Colours only on a terminal, never in a log file.
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = subscriber(format, filter, std::io::stderr().is_terminal(), sink).try_init();
}

/// The subscriber [`init`] installs, for a given filter; tests use it with
/// `tracing::subscriber::with_default` to capture logs.
///
/// In JSON each line is one object with `timestamp`, `level`, `fields.message`, the other
/// event fields, `target`, `span` (the innermost span: e.g. `engine.recommend`) and `spans`
/// (outermost first: `grpc` with `request_id` and `method`, see [`crate::request_id`]).
pub fn subscriber<W>(format: LogFormat, filter: EnvFilter, ansi: bool, sink: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(sink);
    match format {
        LogFormat::Text => Box::new(builder.finish()),
        LogFormat::Json => Box::new(builder.json().with_current_span(true).with_span_list(true).finish()),
    }
}
