use std::process::ExitCode;

use clap::Parser;
use nfip_policy::config::Cli;
use nfip_policy::{AppState, PolicyStore};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let openapi = nfip_policy::openapi;
    let process = cli
        .service
        .process("policy", cli.listen, cli.print_openapi, openapi);
    process.main(run(cli)).await
}

async fn run(cli: Cli) -> Result<(), String> {
    let policies = PolicyStore::connect(&cli.database_url)
        .await
        .map_err(|e| e.to_string())?;
    let app = nfip_policy::app(AppState { policies }, cli.service.callers.load()?);
    let app = cli.service.cors.apply(app)?;
    nfip_kit::serve::run("policy", cli.listen, app, cli.service.serve.limits()).await
}
