//! The HTTP surface: handlers and the wire types they speak.

use axum::extract::State;
use nfip_kit::{Json, Path, Problem};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::domain::{self, FactorKind, FloodZone, ZipCode};
use crate::error::ApiError;

/// The flood risk of one ZIP code and what it is made of.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "zipcode": "33139",
    "risk_score": 0.9,
    "flood_zone": "AE",
    "state": "FL",
    "elevation_ft": 4.0,
    "distance_to_water_mi": 0.1,
    "flood_claims_10y": 214,
    "factors": [
        {"factor": "flood_zone", "contribution": 0.4,
         "explanation": "flood zone AE: special flood hazard area (1% annual chance)"},
        {"factor": "elevation", "contribution": 0.2, "explanation": "4 ft above sea level"},
        {"factor": "distance_to_water", "contribution": 0.15,
         "explanation": "0.1 mi from the nearest water"},
        {"factor": "claims_history", "contribution": 0.15,
         "explanation": "214 flood claims in the last 10 years"}
    ]
}))]
pub struct RiskAssessment {
    /// The ZIP code assessed.
    #[schema(pattern = "^[0-9]{5}$")]
    pub zipcode: String,
    /// From 0 (lowest) to 1 (highest): the sum of the factors' contributions, exact to four
    /// decimal places.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub risk_score: f64,
    pub flood_zone: FloodZone,
    /// Two-letter USPS state code.
    pub state: String,
    /// Mean elevation above sea level, in feet.
    pub elevation_ft: f64,
    /// Distance to the nearest coast, river or lake, in miles.
    #[schema(minimum = 0.0)]
    pub distance_to_water_mi: f64,
    /// Flood insurance claims filed in the ZIP code over the last ten years.
    pub flood_claims_10y: u32,
    /// Each factor's share of the score.
    pub factors: Vec<RiskFactor>,
}

/// One factor's share of a risk score.
#[derive(Debug, Serialize, ToSchema)]
pub struct RiskFactor {
    pub factor: FactorKind,
    /// This factor's share of the score, from 0 to 0.5.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub contribution: f64,
    /// The input behind the contribution, for a human.
    pub explanation: String,
}

/// Flood risk for a ZIP code
///
/// The risk score (0–1), the FEMA-style flood zone and the factors behind the score. Ratings
/// come from the service's rating table (sample data unless an operator imported a real one).
#[utoipa::path(
    get,
    path = "/api/risk/{zipcode}",
    operation_id = "get_risk",
    tag = "risk",
    params(
        ("zipcode" = String, Path, description = "Five-digit US ZIP code",
         pattern = "^[0-9]{5}$", example = "33139"),
    ),
    responses(
        (status = 200, description = "The flood risk of the ZIP code", body = RiskAssessment),
        (status = 400, description = "The ZIP code is not five digits", body = Problem,
         content_type = "application/problem+json",
         example = json!({"type": "urn:nfip:problem:invalid-parameter",
                          "title": "A path or query parameter is invalid", "status": 400,
                          "detail": "`331` is not a 5-digit ZIP code",
                          "errors": [{"pointer": "zipcode", "detail": "`331` is not a 5-digit ZIP code"}]})),
        (status = 404, description = "The rating table has no entry for this ZIP code",
         body = Problem, content_type = "application/problem+json",
         example = json!({"type": "urn:nfip:problem:not-found", "title": "Not found",
                          "status": 404, "detail": "no flood rating for ZIP code 99999"})),
    )
)]
pub async fn get_risk(
    State(state): State<AppState>,
    Path(zipcode): Path<String>,
) -> Result<Json<RiskAssessment>, ApiError> {
    let zipcode = ZipCode::parse(&zipcode).map_err(ApiError::MalformedZip)?;
    let rating = state
        .ratings
        .get(&zipcode)
        .await?
        .ok_or_else(|| ApiError::UnknownZip(zipcode.clone()))?;
    let assessment = domain::assess(&rating);
    Ok(Json(RiskAssessment {
        zipcode: zipcode.to_string(),
        risk_score: assessment.score.as_fraction(),
        flood_zone: rating.flood_zone,
        state: rating.state,
        elevation_ft: rating.elevation_ft,
        distance_to_water_mi: rating.distance_to_water_mi,
        flood_claims_10y: rating.flood_claims_10y,
        factors: assessment
            .factors
            .into_iter()
            .map(|factor| RiskFactor {
                factor: factor.kind,
                contribution: factor.contribution.as_fraction(),
                explanation: factor.explanation,
            })
            .collect(),
    }))
}
