use std::fs::File;
use std::process::ExitCode;

use clap::Parser;
use nfip_risk::config::{Cli, Command};
use nfip_risk::{AppState, RatingStore, ratings_csv};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = cli.service.log.clone();
    nfip_kit::serve::main(cli.print_openapi, &log, nfip_risk::openapi, run(cli)).await
}

async fn run(cli: Cli) -> Result<(), String> {
    let ratings = RatingStore::connect(&cli.database_url)
        .await
        .map_err(|e| e.to_string())?;
    match cli.command {
        Some(Command::Import { file }) => {
            let input =
                File::open(&file).map_err(|e| format!("cannot open {}: {e}", file.display()))?;
            let parsed =
                ratings_csv::parse(input).map_err(|e| format!("{}: {e}", file.display()))?;
            ratings
                .replace_all(&parsed)
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(
                "imported {} ZIP ratings from {}",
                parsed.len(),
                file.display()
            );
            Ok(())
        }
        None => {
            let seeded = nfip_risk::seed_if_empty(&ratings).await?;
            if seeded > 0 {
                tracing::info!("seeded {seeded} ZIP ratings from the bundled sample data");
            }
            let app = nfip_risk::app(AppState { ratings }, cli.service.callers.load()?);
            nfip_kit::serve::run("risk", cli.listen, app, cli.service.serve.limits()).await
        }
    }
}
