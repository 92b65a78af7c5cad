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
    let (filter, warning) = filter_from(std::env::var(EnvFilter::DEFAULT_ENV).ok().as_deref());
    use std::io::IsTerminal;
    // Colours only on a terminal, never in a log file.
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = subscriber(format, filter, std::io::stderr().is_terminal(), sink).try_init();
    if let Some(warning) = warning {
        tracing::warn!("{warning}");
    }
}

/// The filter of a `RUST_LOG` value: `info` when unset or blank; `info` too, with a warning
/// to log, when it does not parse (it fell back silently, so a `warn,…` with a typo logged
/// every call at info unnoticed).
pub fn filter_from(spec: Option<&str>) -> (EnvFilter, Option<String>) {
    match spec.map(str::trim).filter(|s| !s.is_empty()) {
        None => (EnvFilter::new("info"), None),
        Some(spec) => match EnvFilter::try_new(spec) {
            Ok(filter) => (filter, None),
            Err(e) => (
                EnvFilter::new("info"),
                Some(format!("RUST_LOG `{spec}` is not a valid filter ({e}): logging at info")),
            ),
        },
    }
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

#[cfg(test)]
mod tests {
    use super::filter_from;

    #[test]
    fn an_invalid_rust_log_falls_back_to_info_with_a_warning() {
        let (filter, warning) = filter_from(Some("warn,["));
        assert_eq!(filter.to_string(), "info");
        let warning = warning.unwrap_or_default();
        assert!(warning.starts_with("RUST_LOG `warn,[` is not a valid filter ("), "{warning}");
        assert!(warning.ends_with("): logging at info"), "{warning}");
        for (spec, shown) in [(None, "info"), (Some("  "), "info"), (Some("warn"), "warn")] {
            let (filter, warning) = filter_from(spec);
            assert_eq!((filter.to_string().as_str(), warning), (shown, None));
        }
    }
}
