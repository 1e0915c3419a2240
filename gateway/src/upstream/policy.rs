//! The gateway's view of the policy service (`openapi/policy.json`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Call, Deadline, Upstream, UpstreamError};

/// How to reach a policy holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Email, max_length = 254, example = "ada@example.org",
        pattern = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")]
    pub email: Option<String>,
    /// E.164 form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^\+[1-9][0-9]{6,14}$", example = "+15555550123")]
    pub phone: Option<String>,
}

/// `CreatePolicy` in the policy spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewPolicy {
    pub holder: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
    pub zipcode: String,
    pub risk_score: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PolicyStatus {
    Active,
    Cancelled,
}

/// A flood insurance policy.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "019a7b4e-8f1c-7d2a-9b3e-4c5d6e7f8a9b",
    "holder": "Ada Lovelace",
    "contact": {"email": "ada@example.org"},
    "zipcode": "33139",
    "risk_score": 0.9,
    "status": "active",
    "created_at": "2026-11-25T10:00:00.000000Z"
}))]
pub struct Policy {
    pub id: Uuid,
    pub holder: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub contact: Option<Contact>,
    #[schema(pattern = "^[0-9]{5}$")]
    pub zipcode: String,
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub risk_score: f64,
    pub status: PolicyStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(
        with = "time::serde::rfc3339::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(nullable = false)]
    pub cancelled_at: Option<OffsetDateTime>,
}

#[derive(Debug)]
pub struct PolicyService(pub Upstream);

impl PolicyService {
    /// `create_policy`: POST /api/policies, keyed so a retry creates nothing new.
    pub async fn create(
        &self,
        policy: &NewPolicy,
        idempotency_key: &str,
        deadline: Deadline,
    ) -> Result<Policy, UpstreamError> {
        let call = Call::keyed("create_policy", "/api/policies", policy, idempotency_key);
        self.0.call(call, deadline).await
    }

    /// `get_policy`: GET /api/policies/{id}.
    pub async fn get(&self, id: Uuid, deadline: Deadline) -> Result<Policy, UpstreamError> {
        let call = Call::read("get_policy", format!("/api/policies/{id}"));
        self.0.call(call, deadline).await
    }

    /// `cancel_policy`: POST /api/policies/{id}/cancel (idempotent).
    pub async fn cancel(&self, id: Uuid, deadline: Deadline) -> Result<Policy, UpstreamError> {
        let call = Call::action("cancel_policy", format!("/api/policies/{id}/cancel"));
        self.0.call(call, deadline).await
    }
}
