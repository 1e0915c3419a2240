//! nfip risk service: flood risk for a ZIP code.

pub mod api;
pub mod config;
pub mod domain;
pub mod model;
pub mod ratings_csv;
pub mod store;

use std::sync::Arc;

use axum::Router;
use nfip_kit::auth::Callers;
use nfip_kit::spec::About;
use utoipa_axum::{router::OpenApiRouter, routes};

pub use store::RatingStore;

use crate::domain::{Provenance, Source};
use crate::model::Locations;

#[derive(Debug, Clone)]
pub struct AppState {
    /// The rating table: the shipped sample or an imported one; it takes precedence.
    pub ratings: RatingStore,
    /// Every ZIP code in use, for the model to rate those the table does not hold.
    pub locations: Arc<Locations>,
}

impl AppState {
    /// The rating table, with the ZIP code list compiled into the binary.
    pub fn new(ratings: RatingStore) -> Result<AppState, String> {
        Ok(AppState {
            ratings,
            locations: Locations::bundled()?,
        })
    }
}

const ABOUT: About = About {
    title: "nfip risk",
    version: "3.2.0",
    description: "Flood risk for a US ZIP code: a score from 0 to 1, the FEMA-style flood \
                  zone and the factors behind the score, and where the rating comes from: \
                  the service's rating table, an imported one, or an illustrative model \
                  (not FEMA's flood maps) for every other ZIP code in use. Errors are RFC \
                  9457 problem details (`application/problem+json`).",
    local_port: 8081,
    tags: &[("risk", "Flood risk lookups")],
};

fn api() -> OpenApiRouter<AppState> {
    ABOUT.router().routes(routes!(api::get_risk))
}

/// The service's OpenAPI document, as committed in `openapi/risk.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    nfip_kit::service::internal_openapi(api())
}

/// The HTTP app: what `main` serves and what the tests call.
pub fn app(state: AppState, callers: Callers) -> Router {
    let db = state.ratings.db().clone();
    nfip_kit::service::app(api(), state, db, callers)
}

/// Seeds the rating table from the bundled sample when it is empty; returns how many rows it
/// wrote (0 when the table already had ratings, also when another replica just seeded it).
pub async fn seed_if_empty(ratings: &RatingStore) -> Result<usize, String> {
    if ratings.count().await.map_err(|e| e.to_string())? > 0 {
        return Ok(0);
    }
    let sample = ratings_csv::parse(ratings_csv::SAMPLE.as_bytes())
        .map_err(|e| format!("bundled sample: {e}"))?;
    let provenance = Provenance {
        source: Source::Table,
        version: ratings_csv::SAMPLE_VERSION.to_owned(),
    };
    let seeded = ratings
        .seed(&sample, &provenance)
        .await
        .map_err(|e| e.to_string())?;
    Ok(if seeded { sample.len() } else { 0 })
}
