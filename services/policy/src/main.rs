use std::process::ExitCode;

use clap::Parser;
use nfip_policy::config::Cli;
use nfip_policy::{AppState, PolicyStore};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.print_openapi {
        print!("{}", nfip_kit::spec::to_json(&nfip_policy::openapi()));
        return ExitCode::SUCCESS;
    }
    nfip_kit::telemetry::init();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let policies = PolicyStore::connect(&cli.database_url)
        .await
        .map_err(|e| e.to_string())?;
    let app = nfip_policy::app(AppState { policies });
    nfip_kit::serve::run("policy", cli.listen, app).await
}
