use std::process::ExitCode;

use clap::Parser;
use nfip_gateway::config::Cli;
use nfip_gateway::{Gateway, Settings};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(probed) = nfip_kit::serve::prepare(&cli.serve, &cli.db, cli.listen) {
        return probed;
    }
    let log = cli.log.clone();
    nfip_kit::serve::main(
        "gateway",
        cli.print_openapi,
        &log,
        nfip_gateway::openapi,
        run(cli),
    )
    .await
}

async fn run(cli: Cli) -> Result<(), String> {
    let settings = Settings::from_cli(&cli)?;
    let endpoints = &settings.endpoints;
    tracing::info!(
        "services: risk {}, policy {}, billing {}, notification {}; clients: {}",
        endpoints.risk.url,
        endpoints.policy.url,
        endpoints.billing.url,
        endpoints.notification.url,
        settings.clients.names().join(", ")
    );
    let gateway = Gateway::build(settings).await?;
    let served = nfip_kit::serve::run(
        "gateway",
        cli.listen,
        gateway.router.clone(),
        cli.serve.limits(),
    )
    .await;
    gateway.stop().await;
    served
}
