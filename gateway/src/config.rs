use std::net::SocketAddr;

use clap::Parser;

use crate::clients::RateLimit;

/// The nfip gateway: the public front of the services.
#[derive(Debug, Parser)]
#[command(name = "nfip-gateway", version)]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// The purchase journal: sqlite://path/file.db (created if missing) or postgres://user@host/db.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/gateway.db")]
    pub database_url: String,

    #[arg(long, env = "RISK_URL", default_value = "http://127.0.0.1:8081")]
    pub risk_url: String,

    #[arg(long, env = "POLICY_URL", default_value = "http://127.0.0.1:8082")]
    pub policy_url: String,

    #[arg(long, env = "BILLING_URL", default_value = "http://127.0.0.1:8083")]
    pub billing_url: String,

    #[arg(
        long,
        env = "NOTIFICATION_URL",
        default_value = "http://127.0.0.1:8084"
    )]
    pub notification_url: String,

    /// The clients: `<name>:sha256:<hex of the key>`, comma-separated; a name may have several
    /// keys (rotation). Unset, with no file either: every request is refused.
    #[arg(long, env = "GATEWAY_API_KEYS", hide_env_values = true)]
    pub api_keys: Option<String>,

    /// The same, from a file (one entry a line; `#` comments), e.g. a mounted secret.
    #[arg(long, env = "GATEWAY_API_KEYS_FILE")]
    pub api_keys_file: Option<std::path::PathBuf>,

    /// Requests a second one client may make, on average.
    #[arg(long, env = "RATE_LIMIT_PER_SECOND", default_value_t = RateLimit::DEFAULT.per_second.get())]
    pub rate_limit_per_second: u32,

    /// Requests one client may make at once, in a burst.
    #[arg(long, env = "RATE_LIMIT_BURST", default_value_t = RateLimit::DEFAULT.burst.get())]
    pub rate_limit_burst: u32,

    /// CA certificates (PEM) to trust for `https://` services besides the system's.
    #[arg(long, env = "UPSTREAM_CA_FILE")]
    pub upstream_ca_file: Option<std::path::PathBuf>,

    /// The key the gateway presents to the risk service (`Authorization: Bearer`).
    #[arg(long, env = "RISK_TOKEN", hide_env_values = true)]
    pub risk_token: Option<String>,

    /// The key the gateway presents to the policy service.
    #[arg(long, env = "POLICY_TOKEN", hide_env_values = true)]
    pub policy_token: Option<String>,

    /// The key the gateway presents to the billing service.
    #[arg(long, env = "BILLING_TOKEN", hide_env_values = true)]
    pub billing_token: Option<String>,

    /// The key the gateway presents to the notification service.
    #[arg(long, env = "NOTIFICATION_TOKEN", hide_env_values = true)]
    pub notification_token: Option<String>,

    /// Longest wait for one answer from a service, in milliseconds.
    #[arg(long, env = "HOP_TIMEOUT_MS", default_value_t = 2_000)]
    pub hop_timeout_ms: u64,

    /// Longest time a whole request (a purchase: all its calls and retries) may take, in
    /// milliseconds.
    #[arg(long, env = "REQUEST_DEADLINE_MS", default_value_t = 8_000)]
    pub request_deadline_ms: u64,

    /// Attempts per service call, the first included (retries only what is safe to repeat).
    #[arg(long, env = "CALL_ATTEMPTS", default_value_t = 3)]
    pub call_attempts: u32,

    /// Consecutive failures after which calls to a service fail fast for a while.
    #[arg(long, env = "BREAKER_THRESHOLD", default_value_t = 5)]
    pub breaker_threshold: u32,

    /// How long calls fail fast before one probe is let through, in milliseconds.
    #[arg(long, env = "BREAKER_COOLDOWN_MS", default_value_t = 2_000)]
    pub breaker_cooldown_ms: u64,

    /// First delay before the follow-up worker retries an undo or a confirmation, in
    /// milliseconds (confirmations back off exponentially from it, up to 5 minutes).
    #[arg(long, env = "FOLLOWUP_RETRY_MS", default_value_t = 1_000)]
    pub followup_retry_ms: u64,

    /// Days a finished purchase stays in the journal: a retry with its Idempotency-Key within
    /// them answers the same receipt; after them the key buys afresh. What a client bought stays
    /// its own either way.
    #[arg(long, env = "JOURNAL_RETENTION_DAYS", default_value_t = 30)]
    pub journal_retention_days: u32,

    /// The citizen's page to serve at `/`: the folder `just web` builds (web/dist). Unset: no page.
    #[arg(long, env = "WEB_DIR")]
    pub web_dir: Option<std::path::PathBuf>,

    /// The key the page uses, written into it when served: that of a client of its own in
    /// GATEWAY_API_KEYS (public by design, so give it no other use).
    #[arg(long, env = "WEB_API_KEY", hide_env_values = true)]
    pub web_api_key: Option<String>,

    #[command(flatten)]
    pub serve: nfip_kit::serve::ServeArgs,

    #[command(flatten)]
    pub db: nfip_kit::db::DbArgs,

    #[command(flatten)]
    pub log: nfip_kit::telemetry::LogArgs,

    /// Print the OpenAPI document to stdout and exit.
    #[arg(long)]
    pub print_openapi: bool,
}
