//! The HTTP surface: handlers and the wire types they speak.

use axum::extract::State;
use nfip_kit::{Json, Path, Problem};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::domain::{
    self, Assessment, FactorKind, FloodZone, Provenance, Source, ZipCode, ZipRating,
};
use crate::model::{self, ZipLocation};

/// The flood risk of one ZIP code, what it is made of, and where it comes from.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "zipcode": "20740",
    "risk_score": 0.1914,
    "flood_zone": "X",
    "state": "MD",
    "source": "model",
    "data_version": "model 1 on zipcodes 3.0.0, global-land-mask 1.0.0",
    "distance_to_coast_mi": 20.1,
    "factors": [
        {"factor": "distance_to_coast", "contribution": 0.0993,
         "explanation": "20.1 mi from the sea coast"},
        {"factor": "coastal_storms", "contribution": 0.0421,
         "explanation": "MD at 39.0°N: a hurricane or typhoon coast"},
        {"factor": "baseline", "contribution": 0.05,
         "explanation": "rain, rivers and drainage can flood anywhere"}
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
    /// The FEMA-style flood zone: from the rating table, or estimated from the score by the model
    /// (VE from 0.55, AE from 0.30, X below).
    pub flood_zone: FloodZone,
    /// Two-letter USPS state or territory code.
    pub state: String,
    pub source: Source,
    /// The version or date of the data behind this answer: the shipped table's, the import's, or
    /// the model's with the versions of the open data it was built from.
    pub data_version: String,
    /// Mean elevation above sea level, in feet; from the rating table only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub elevation_ft: Option<f64>,
    /// Distance to the nearest coast, river or lake, in miles; from the rating table only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 0.0)]
    pub distance_to_water_mi: Option<f64>,
    /// Flood insurance claims filed in the ZIP code over the last ten years; from the rating
    /// table only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub flood_claims_10y: Option<u32>,
    /// Distance to the sea coast, in miles (most lakes do not count); from the model only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 0.0)]
    pub distance_to_coast_mi: Option<f64>,
    /// Each factor's share of the score.
    pub factors: Vec<RiskFactor>,
}

/// One factor's share of a risk score.
#[derive(Debug, Serialize, ToSchema)]
pub struct RiskFactor {
    /// `flood_zone`, `elevation`, `distance_to_water` and `claims_history` rate a table row;
    /// `distance_to_coast`, `coastal_storms` and `baseline` are the model's.
    pub factor: FactorKind,
    /// This factor's share of the score, from 0 to 0.5.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub contribution: f64,
    /// The input behind the contribution, for a human.
    pub explanation: String,
}

impl RiskAssessment {
    fn from_table(rating: ZipRating, provenance: Provenance) -> RiskAssessment {
        let assessment = domain::assess(&rating);
        let zipcode = rating.zipcode.to_string();
        RiskAssessment {
            elevation_ft: Some(rating.elevation_ft),
            distance_to_water_mi: Some(rating.distance_to_water_mi),
            flood_claims_10y: Some(rating.flood_claims_10y),
            distance_to_coast_mi: None,
            ..RiskAssessment::scored(
                zipcode,
                rating.flood_zone,
                rating.state,
                provenance,
                assessment,
            )
        }
    }

    fn from_model(place: &ZipLocation, version: &str) -> RiskAssessment {
        let (zone, assessment) = model::assess(place);
        let provenance = Provenance {
            source: Source::Model,
            version: version.to_owned(),
        };
        let (zipcode, state) = (place.zipcode(), place.state().to_owned());
        RiskAssessment {
            distance_to_coast_mi: Some(place.coast_mi()),
            ..RiskAssessment::scored(zipcode, zone, state, provenance, assessment)
        }
    }

    fn scored(
        zipcode: String,
        zone: FloodZone,
        state: String,
        provenance: Provenance,
        assessment: Assessment,
    ) -> RiskAssessment {
        RiskAssessment {
            zipcode,
            risk_score: assessment.score.as_fraction(),
            flood_zone: zone,
            state,
            source: provenance.source,
            data_version: provenance.version,
            elevation_ft: None,
            distance_to_water_mi: None,
            flood_claims_10y: None,
            distance_to_coast_mi: None,
            factors: assessment
                .factors
                .into_iter()
                .map(|factor| RiskFactor {
                    factor: factor.kind,
                    contribution: factor.contribution.as_fraction(),
                    explanation: factor.explanation,
                })
                .collect(),
        }
    }
}

/// Flood risk for a ZIP code
///
/// The risk score (0–1), the FEMA-style flood zone and the factors behind the score, for every
/// U.S. ZIP code in use. A ZIP code in the service's rating table is rated from it (`source`
/// `table`, or `imported` once an operator imported one); any other is rated by an illustrative
/// model from its distance to the sea coast, its state and its latitude (`source` `model`). Both
/// are sample data, not FEMA's flood maps.
#[utoipa::path(
    get,
    path = "/api/risk/{zipcode}",
    operation_id = "get_risk",
    tag = "risk",
    params(
        ("zipcode" = String, Path, description = "Five-digit US ZIP code",
         pattern = "^[0-9]{5}$", example = "20740"),
    ),
    responses(
        (status = 200, description = "The flood risk of the ZIP code", body = RiskAssessment),
        (status = 400, description = "The ZIP code is not five digits", body = Problem,
         content_type = "application/problem+json",
         example = json!({"type": "urn:nfip:problem:invalid-parameter",
                          "title": "A path or query parameter is invalid", "status": 400,
                          "detail": "`331` is not a 5-digit ZIP code",
                          "errors": [{"pointer": "zipcode", "detail": "`331` is not a 5-digit ZIP code"}]})),
        (status = 404, description = "Five digits, but not a U.S. ZIP code in use: neither the \
                                      rating table nor the ZIP code list holds it",
         body = Problem, content_type = "application/problem+json",
         example = json!({"type": "urn:nfip:problem:not-found", "title": "Not found",
                          "status": 404, "detail": "00000 is not a U.S. ZIP code in use"})),
    )
)]
pub async fn get_risk(
    State(state): State<AppState>,
    Path(zipcode): Path<String>,
) -> Result<Json<RiskAssessment>, Problem> {
    let zipcode =
        ZipCode::parse(&zipcode).map_err(|detail| Problem::invalid_parameter("zipcode", detail))?;
    if let Some((rating, provenance)) = state.ratings.get(&zipcode).await? {
        return Ok(Json(RiskAssessment::from_table(rating, provenance)));
    }
    let place = state
        .locations
        .get(&zipcode)
        .ok_or_else(|| Problem::not_found(format!("{zipcode} is not a U.S. ZIP code in use")))?;
    Ok(Json(RiskAssessment::from_model(
        place,
        state.locations.version(),
    )))
}
