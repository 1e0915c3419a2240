//! Logging: one human-readable line per event on stderr, filtered by `--log` or `RUST_LOG`
//! (default `info,sqlx=warn,hyper=warn`; e.g. `RUST_LOG=debug,sqlx=warn`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// What to log, from a flag or `RUST_LOG`; every binary takes it.
#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// What to log: a level, or a filter per module (tracing's syntax), e.g. `debug,sqlx=warn`.
    #[arg(long = "log", env = "RUST_LOG", default_value = DEFAULT_FILTER)]
    pub filter: String,
}

const DEFAULT_FILTER: &str = "info,sqlx=warn,hyper=warn";

/// Starts logging with `log`'s filter; one that does not parse falls back to the default,
/// saying so.
pub fn init(log: &LogArgs) {
    let (filter, bad) = match EnvFilter::try_new(&log.filter) {
        Ok(filter) => (filter, None),
        Err(error) => (EnvFilter::new(DEFAULT_FILTER), Some(error)),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
    if let Some(error) = bad {
        tracing::warn!(
            "RUST_LOG `{}` is not a filter ({error}); logging at info",
            log.filter
        );
    }
}
