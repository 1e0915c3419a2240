use std::process::ExitCode;

use clap::Parser;
use nfip_billing::config::Cli;
use nfip_billing::{AppState, BillingStore};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let openapi = nfip_billing::openapi;
    let process = cli
        .service
        .process("billing", cli.listen, cli.print_openapi, openapi);
    process.main(run(cli)).await
}

async fn run(cli: Cli) -> Result<(), String> {
    let billing = BillingStore::connect(&cli.database_url)
        .await
        .map_err(|e| e.to_string())?;
    let app = nfip_billing::app(AppState { billing }, cli.service.callers.load()?);
    let app = cli.service.cors.apply(app)?;
    nfip_kit::serve::run("billing", cli.listen, app, cli.service.serve.limits()).await
}
