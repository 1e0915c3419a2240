use std::net::SocketAddr;

use clap::Parser;

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

    /// API keys clients authenticate with, comma-separated. Unset: a random key is generated
    /// and logged at start.
    #[arg(
        long,
        env = "GATEWAY_API_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub api_keys: Vec<String>,

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

    /// Print the OpenAPI document to stdout and exit.
    #[arg(long)]
    pub print_openapi: bool,
}
