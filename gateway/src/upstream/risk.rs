//! The gateway's view of the risk service (`openapi/risk.json`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Call, Deadline, Upstream, UpstreamError};

/// The flood risk of a ZIP code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "zipcode": "33139",
    "risk_score": 0.9,
    "flood_zone": "AE",
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
    #[schema(pattern = "^[0-9]{5}$")]
    pub zipcode: String,
    /// From 0 (lowest) to 1 (highest), four decimal places.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub risk_score: f64,
    /// FEMA flood zone designation (A, AE, AH, AO, AR, A99, V, VE, X or D).
    #[schema(example = "AE")]
    pub flood_zone: String,
    /// Each factor's share of the score.
    pub factors: Vec<RiskFactor>,
}

/// One factor's share of a risk score.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RiskFactor {
    /// `flood_zone`, `elevation`, `distance_to_water` or `claims_history`.
    pub factor: String,
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub contribution: f64,
    pub explanation: String,
}

#[derive(Debug)]
pub struct RiskService(pub Upstream);

impl RiskService {
    /// `get_risk`: GET /api/risk/{zipcode}.
    pub async fn assess(
        &self,
        zipcode: &str,
        deadline: Deadline,
    ) -> Result<RiskAssessment, UpstreamError> {
        self.0
            .call(
                Call::read("get_risk", format!("/api/risk/{zipcode}")),
                deadline,
            )
            .await
    }
}
