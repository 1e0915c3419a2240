//! nfip risk service: flood risk for a ZIP code.

pub mod api;
pub mod config;
pub mod domain;
pub mod error;
pub mod ratings_csv;
pub mod store;

use axum::Router;
use nfip_kit::auth::Callers;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

pub use store::RatingStore;

#[derive(Debug, Clone)]
pub struct AppState {
    pub ratings: RatingStore,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "nfip risk",
        version = "2.0.0",
        contact(name = "nfip maintainers"),
        description = "Flood risk for a US ZIP code: a score from 0 to 1, the FEMA-style flood \
                       zone and the factors behind the score. Errors are RFC 9457 problem \
                       details (`application/problem+json`)."
    ),
    servers(
        (url = "/", description = "Where these docs are served"),
        (url = "http://127.0.0.1:8081", description = "The local stack (`just up`)"),
    ),
    tags((name = "risk", description = "Flood risk lookups"))
)]
struct ApiDoc;

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi()).routes(routes!(api::get_risk))
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
/// wrote (0 when the table already had ratings).
pub async fn seed_if_empty(ratings: &RatingStore) -> Result<usize, String> {
    if ratings.count().await.map_err(|e| e.to_string())? > 0 {
        return Ok(0);
    }
    let sample = ratings_csv::parse(ratings_csv::SAMPLE.as_bytes())
        .map_err(|e| format!("bundled sample: {e}"))?;
    ratings
        .replace_all(&sample)
        .await
        .map_err(|e| e.to_string())?;
    Ok(sample.len())
}
