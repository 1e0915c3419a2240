use std::fs::File;
use std::time::Instant;

use nfip_risk::config::{Cli, Command};
use nfip_risk::domain::{Provenance, Source};
use nfip_risk::{AppState, RatingStore, ratings_csv};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

nfip_kit::main!("risk", nfip_risk::openapi, run);

async fn run(cli: Cli) -> Result<(), String> {
    let ratings = RatingStore::connect(&cli.database_url).await?;
    match cli.command {
        Some(Command::Import { file }) => {
            let input =
                File::open(&file).map_err(|e| format!("cannot open {}: {e}", file.display()))?;
            let parsed =
                ratings_csv::parse(input).map_err(|e| format!("{}: {e}", file.display()))?;
            let now = OffsetDateTime::now_utc()
                .replace_nanosecond(0)
                .ok()
                .and_then(|now| now.format(&Rfc3339).ok())
                .unwrap_or_default();
            let name = file.file_name().unwrap_or_default().to_string_lossy();
            let provenance = Provenance {
                source: Source::Imported,
                version: format!("{name}, imported {now}"),
            };
            ratings
                .replace_all(&parsed, &provenance)
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
            let started = Instant::now();
            let seeded = nfip_risk::seed_if_empty(&ratings).await?;
            if seeded > 0 {
                tracing::info!(
                    "seeded {seeded} ZIP ratings from the bundled sample data in {:.0?}",
                    started.elapsed()
                );
            }
            let started = Instant::now();
            let state = AppState::new(ratings)?;
            tracing::info!(
                "the model can rate {} ZIP codes ({}), read in {:.0?}",
                state.locations.len(),
                state.locations.version(),
                started.elapsed()
            );
            let app = nfip_risk::app(state, cli.service.callers.load()?);
            cli.service.serve("risk", cli.listen, app).await
        }
    }
}
