//! The gateway's view of the risk service (`openapi/risk.json`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Call, Deadline, Upstream, UpstreamError};

/// The flood risk of a ZIP code, and where the rating comes from.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "zipcode": "20740",
    "risk_score": 0.1914,
    "flood_zone": "X",
    "source": "model",
    "data_version": "model 1 on zipcodes 3.0.0, global-land-mask 1.0.0",
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
    #[schema(pattern = "^[0-9]{5}$")]
    pub zipcode: String,
    /// From 0 (lowest) to 1 (highest), four decimal places.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub risk_score: f64,
    /// FEMA flood zone designation (A, AE, AH, AO, AR, A99, V, VE, X or D).
    #[schema(example = "AE")]
    pub flood_zone: String,
    /// Where the rating comes from: `table` (the risk service's rating table), `imported` (a
    /// table its operator imported) or `model` (an illustrative model, not FEMA's flood maps).
    #[schema(example = "model")]
    pub source: String,
    /// The version or date of the data behind the rating.
    pub data_version: String,
    /// Each factor's share of the score.
    pub factors: Vec<RiskFactor>,
}

/// One factor's share of a risk score.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RiskFactor {
    /// `flood_zone`, `elevation`, `distance_to_water` or `claims_history` for a table row;
    /// `distance_to_coast`, `coastal_storms` or `baseline` for the model.
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
        let call = Call::read("get_risk", format!("/api/risk/{zipcode}"));
        self.0.call(call, deadline).await
    }
}
