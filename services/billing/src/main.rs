use std::process::ExitCode;

use clap::Parser;
use nfip_billing::config::Cli;
use nfip_billing::{AppState, BillingStore};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(probed) = nfip_kit::serve::prepare(&cli.service.serve, &cli.service.db, cli.listen)
    {
        return probed;
    }
    let log = cli.service.log.clone();
    nfip_kit::serve::main(
        "billing",
        cli.print_openapi,
        &log,
        nfip_billing::openapi,
        run(cli),
    )
    .await
}

async fn run(cli: Cli) -> Result<(), String> {
    let billing = BillingStore::connect(&cli.database_url)
        .await
        .map_err(|e| e.to_string())?;
    let app = nfip_billing::app(AppState { billing }, cli.service.callers.load()?);
    let app = cli.service.cors.apply(app)?;
    nfip_kit::serve::run("billing", cli.listen, app, cli.service.serve.limits()).await
}
