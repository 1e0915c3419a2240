use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

use crate::delivery::SmtpSecurity;

/// The nfip notification service: emails and texts to policy holders, queued durably and
/// delivered with retries.
#[derive(Debug, Parser)]
#[command(name = "nfip-notification", version)]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8084")]
    pub listen: SocketAddr,

    /// sqlite://path/file.db (created if missing) or postgres://user@host/db.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/notification.db"
    )]
    pub database_url: String,

    /// Folder the outbox channel writes messages to (email always, unless SMTP is set; SMS always).
    #[arg(long, env = "OUTBOX_DIR", default_value = "data/outbox")]
    pub outbox_dir: PathBuf,

    /// Send email through this SMTP relay instead of the outbox.
    #[arg(long, env = "SMTP_HOST")]
    pub smtp_host: Option<String>,

    #[arg(long, env = "SMTP_PORT", default_value_t = 25)]
    pub smtp_port: u16,

    /// How to secure the connection to the relay: none (a local relay only), starttls
    /// (required), or tls (implicit, usually port 465).
    #[arg(long, env = "SMTP_TLS", value_enum, default_value_t = SmtpSecurity::None)]
    pub smtp_tls: SmtpSecurity,

    /// The relay's user name; needs SMTP_PASSWORD and TLS.
    #[arg(long, env = "SMTP_USERNAME", requires = "smtp_password")]
    pub smtp_username: Option<String>,

    #[arg(
        long,
        env = "SMTP_PASSWORD",
        hide_env_values = true,
        requires = "smtp_username"
    )]
    pub smtp_password: Option<String>,

    /// A CA certificate (PEM) to trust for the relay besides the system's.
    #[arg(long, env = "SMTP_CA_FILE")]
    pub smtp_ca_file: Option<PathBuf>,

    /// The sender of every email.
    #[arg(
        long,
        env = "MAIL_FROM",
        default_value = "NFIP <no-reply@nfip.invalid>"
    )]
    pub mail_from: String,

    /// Delivery attempts before a notification is marked failed.
    #[arg(long, env = "MAX_ATTEMPTS", default_value_t = 5)]
    pub max_attempts: u32,

    /// Delay after the first failed attempt, in milliseconds; it doubles on each failure.
    #[arg(long, env = "RETRY_BASE_MS", default_value_t = 1000)]
    pub retry_base_ms: u64,

    /// The longest delay between two attempts, in milliseconds.
    #[arg(long, env = "RETRY_CAP_MS", default_value_t = 300_000)]
    pub retry_cap_ms: u64,

    /// How long one delivery attempt reserves a notification, in milliseconds (at least 100);
    /// after a crash mid-attempt, the notification is retried when this runs out. A worker
    /// tries a notification only while at least half of its lease is left.
    #[arg(long, env = "ATTEMPT_LEASE_MS", default_value_t = 60_000,
          value_parser = clap::value_parser!(u64).range(100..))]
    pub attempt_lease_ms: u64,

    #[command(flatten)]
    pub service: nfip_kit::service::ServiceArgs,

    /// Print the OpenAPI document to stdout and exit.
    #[arg(long)]
    pub print_openapi: bool,
}
