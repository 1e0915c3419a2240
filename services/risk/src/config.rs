use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The nfip risk service: flood risk for a ZIP code.
#[derive(Debug, Parser)]
#[command(name = "nfip-risk", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address to listen on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,

    /// sqlite://path/file.db (created if missing) or postgres://user@host/db.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/risk.db")]
    pub database_url: String,

    #[command(flatten)]
    pub service: nfip_kit::service::ServiceArgs,

    /// Print the OpenAPI document to stdout and exit.
    #[arg(long)]
    pub print_openapi: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replace the rating table with the ratings in a CSV file (all rows or none).
    Import {
        /// CSV with header zipcode,state,flood_zone,elevation_ft,distance_to_water_mi,flood_claims_10y
        file: PathBuf,
    },
}
