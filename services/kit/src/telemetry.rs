//! Logging: one line per event on stderr, filtered by `--log` or `RUST_LOG` (default
//! `info,sqlx=warn,hyper=warn`; e.g. `RUST_LOG=debug,sqlx=warn`): for a person to read, or with
//! `LOG_FORMAT=json` one JSON object a line for a log pipeline, with the request's id, trace id
//! and span id (the one its caller sent in `traceparent`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// What to log, from a flag or `RUST_LOG`; every binary takes it.
#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// What to log: a level, or a filter per module (tracing's syntax), e.g. `debug,sqlx=warn`.
    #[arg(long = "log", env = "RUST_LOG", default_value = DEFAULT_FILTER)]
    pub filter: String,

    /// How to write each line: `text` for people, `json` for a log pipeline.
    #[arg(long = "log-format", env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

const DEFAULT_FILTER: &str = "info,sqlx=warn,hyper=warn";

/// Starts logging with `log`'s filter; one that does not parse falls back to the default,
/// saying so.
pub fn init(log: &LogArgs) {
    let (filter, bad) = match EnvFilter::try_new(&log.filter) {
        Ok(filter) => (filter, None),
        Err(error) => (EnvFilter::new(DEFAULT_FILTER), Some(error)),
    };
    let lines = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr);
    let _ = match log.format {
        LogFormat::Text => lines.with_ansi(std::io::stderr().is_terminal()).try_init(),
        // The request's span (id, trace, span) on every line, flattened beside the message.
        LogFormat::Json => lines
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    if let Some(error) = bad {
        tracing::warn!(
            "RUST_LOG `{}` is not a filter ({error}); logging at info",
            log.filter
        );
    }
}
