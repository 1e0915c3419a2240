use std::process::ExitCode;

use clap::Parser;
use nfip_gateway::config::Cli;
use nfip_gateway::{Gateway, Settings};
use nfip_kit::serve::Process;

#[global_allocator]
static ALLOCATOR: nfip_kit::Allocator = nfip_kit::Allocator;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let process = Process {
        name: "gateway",
        listen: cli.listen,
        print_openapi: cli.print_openapi,
        openapi: nfip_gateway::openapi,
        serve: cli.serve.clone(),
        db: cli.db.clone(),
        log: cli.log.clone(),
    };
    process.main(run(cli)).await
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
