use nfip_policy::config::Cli;
use nfip_policy::{AppState, PolicyStore};

nfip_kit::main!("policy", nfip_policy::openapi, run);

async fn run(cli: Cli) -> Result<(), String> {
    let policies = PolicyStore::connect(&cli.database_url).await?;
    let app = nfip_policy::app(AppState { policies }, cli.service.callers.load()?);
    cli.service.serve("policy", cli.listen, app).await
}
