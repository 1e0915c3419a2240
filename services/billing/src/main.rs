use nfip_billing::config::Cli;
use nfip_billing::{AppState, BillingStore};

nfip_kit::main!("billing", nfip_billing::openapi, run);

async fn run(cli: Cli) -> Result<(), String> {
    let billing = BillingStore::connect(&cli.database_url).await?;
    let app = nfip_billing::app(AppState { billing }, cli.service.callers.load()?);
    cli.service.serve("billing", cli.listen, app).await
}
