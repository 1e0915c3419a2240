use std::net::SocketAddr;

use clap::Parser;

/// The nfip billing service: invoices priced from base rate and risk score, and their payments.
#[derive(Debug, Parser)]
#[command(name = "nfip-billing", version)]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8083")]
    pub listen: SocketAddr,

    /// sqlite://path/file.db (created if missing) or postgres://user@host/db.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/billing.db")]
    pub database_url: String,

    #[command(flatten)]
    pub service: nfip_kit::service::ServiceArgs,

    /// Print the OpenAPI document to stdout and exit.
    #[arg(long)]
    pub print_openapi: bool,
}
