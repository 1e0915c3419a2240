use std::process::ExitCode;

use clap::Parser;
use nfip_billing::config::Cli;
use nfip_billing::{AppState, BillingStore};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.print_openapi {
        print!("{}", nfip_kit::spec::to_json(&nfip_billing::openapi()));
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
    let billing = BillingStore::connect(&cli.database_url)
        .await
        .map_err(|e| e.to_string())?;
    let app = nfip_billing::app(AppState { billing });
    nfip_kit::serve::run("billing", cli.listen, app).await
}
