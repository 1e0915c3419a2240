//! The HTTP surface: handlers and the wire types they speak.

use axum::extract::State;
use nfip_kit::BadId;
use nfip_kit::{Created, IdempotencyKey, IdempotencyKeyHeader, Json, Path, Problem, Query};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::domain::{self, Invalid, NewPolicy};
use crate::error::{NoPolicy, no_policy};

/// How to reach the policy holder: an email, a phone number or both.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct ContactInput {
    #[serde(default)]
    #[schema(format = Email, max_length = 254, example = "ada@example.org",
        pattern = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")]
    pub email: Option<String>,
    /// E.164 form.
    #[serde(default)]
    #[schema(pattern = r"^\+[1-9][0-9]{6,14}$", example = "+15555550123")]
    pub phone: Option<String>,
}

/// A policy to create.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "holder": "Ada Lovelace",
    "contact": {"email": "ada@example.org"},
    "zipcode": "33139",
    "risk_score": 0.9
}))]
pub struct CreatePolicy {
    /// The policy holder's name (1–200 characters).
    #[schema(min_length = 1, max_length = 200)]
    pub holder: String,
    #[serde(default)]
    pub contact: Option<ContactInput>,
    /// The insured property's ZIP code.
    #[schema(pattern = "^[0-9]{5}$")]
    pub zipcode: String,
    /// The flood risk score the policy was priced on, from the risk service.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub risk_score: f64,
}

/// How to reach the policy holder.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Contact {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Email, nullable = false)]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
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
    /// Absent when the holder gave no contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub contact: Option<Contact>,
    #[schema(pattern = "^[0-9]{5}$")]
    pub zipcode: String,
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub risk_score: f64,
    pub status: PolicyStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the policy was cancelled; absent while it is active.
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none",
        default
    )]
    #[schema(nullable = false)]
    pub cancelled_at: Option<OffsetDateTime>,
}

/// One page of a holder's policies.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "items": [{
        "id": "019a7b4e-8f1c-7d2a-9b3e-4c5d6e7f8a9b",
        "holder": "Ada Lovelace",
        "zipcode": "33139",
        "risk_score": 0.9,
        "status": "active",
        "created_at": "2026-11-25T10:00:00.000000Z"
    }],
    "next_cursor": "019a7b4e-8f1c-7d2a-9b3e-4c5d6e7f8a9b"
}))]
pub struct PolicyPage {
    /// Oldest first.
    pub items: Vec<Policy>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The holder whose policies to list (exact match).
    #[param(min_length = 1, example = "Ada Lovelace")]
    pub holder: String,
    /// Page size, 1–100.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (opaque).
    #[param(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub cursor: Option<String>,
}

impl From<domain::Policy> for Policy {
    fn from(policy: domain::Policy) -> Policy {
        Policy {
            id: policy.id,
            holder: policy.holder,
            contact: policy.contact.map(|c| Contact {
                email: c.email,
                phone: c.phone,
            }),
            zipcode: policy.zipcode,
            risk_score: policy.risk_score,
            status: match policy.status {
                domain::PolicyStatus::Active => PolicyStatus::Active,
                domain::PolicyStatus::Cancelled => PolicyStatus::Cancelled,
            },
            created_at: policy.created_at,
            cancelled_at: policy.cancelled_at,
        }
    }
}

/// Create a policy
///
/// Stores a new active policy and answers 201 with its `Location`. With an `Idempotency-Key`,
/// a retry of the same request answers the same policy (and `Idempotent-Replayed: true`)
/// instead of creating another; the key sent with a different body is refused with 422.
#[utoipa::path(
    post,
    path = "/api/policies",
    operation_id = "create_policy",
    tag = "policies",
    params(
        IdempotencyKeyHeader,
    ),
    request_body = CreatePolicy,
    responses(
        (status = 201, description = "The policy was created (or replayed for a repeated key)",
         body = Policy,
         links(
             ("get_policy" = (operation_id = "get_policy", parameters(("id" = "$response.body#/id")))),
             ("cancel_policy" = (operation_id = "cancel_policy", parameters(("id" = "$response.body#/id")))),
         ),
         headers(
             ("Location" = String, description = "The policy's URL"),
             ("Idempotent-Replayed" = String, description = "`true` when this answers an earlier request with the same key"),
         )),
        (status = 422, description = "A field is invalid, or the idempotency key was used for another request",
         body = Problem, content_type = "application/problem+json",
         example = json!({"type": "urn:nfip:problem:validation",
                          "title": "The request body is not valid", "status": 422,
                          "detail": "/zipcode: `3313` is not a 5-digit ZIP code",
                          "errors": [{"pointer": "/zipcode", "detail": "`3313` is not a 5-digit ZIP code"}]})),
    )
)]
pub async fn create_policy(
    State(state): State<AppState>,
    idempotency_key: IdempotencyKey,
    Json(request): Json<CreatePolicy>,
) -> Result<Created<Policy>, Problem> {
    let contact = request
        .contact
        .as_ref()
        .map(|c| (c.email.as_deref(), c.phone.as_deref()));
    let new = NewPolicy::validate(
        &request.holder,
        contact,
        &request.zipcode,
        request.risk_score,
    )
    .map_err(Invalid::problem)?;
    let canonical = serde_json::to_string(&request).expect("a request serializes");
    let key = idempotency_key.0.as_deref();
    let (policy, replayed) = state
        .policies
        .create(new, key.map(|key| (key, canonical.as_str())))
        .await?
        .into_parts();
    let location = format!("/api/policies/{}", policy.id);
    Ok(Created::at(location, Policy::from(policy)).replayed(replayed))
}

/// Read a policy
///
/// The policy with its holder, contact, ZIP code, risk score and status.
#[utoipa::path(
    get,
    path = "/api/policies/{id}",
    operation_id = "get_policy",
    tag = "policies",
    params(("id" = Uuid, Path, description = "The policy id")),
    responses(
        (status = 200, description = "The policy", body = Policy),
        BadId,
        NoPolicy,
    )
)]
pub async fn get_policy(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Json<Policy>, Problem> {
    let policy = state.policies.get(id).await?.ok_or_else(|| no_policy(id))?;
    Ok(Json(policy.into()))
}

/// List a holder's policies
///
/// Oldest first, `limit` at a time; follow `next_cursor` for the next page.
#[utoipa::path(
    get,
    path = "/api/policies",
    operation_id = "list_policies",
    tag = "policies",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of the holder's policies", body = PolicyPage),
        (status = 400, description = "`holder` is missing, or `limit` or `cursor` is invalid",
         body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_policies(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<PolicyPage>, Problem> {
    if query.holder.is_empty() {
        return Err(Problem::invalid_parameter("holder", "must not be empty"));
    }
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        let detail = format!("{limit} is not between 1 and 100");
        return Err(Problem::invalid_parameter("limit", detail));
    }
    let after = query
        .cursor
        .as_deref()
        .map(|cursor| {
            Uuid::parse_str(cursor).map_err(|_| {
                let detail = format!("`{cursor}` is not a cursor from this API");
                Problem::invalid_parameter("cursor", detail)
            })
        })
        .transpose()?;
    // One more than asked tells whether there is a next page.
    let mut items = state
        .policies
        .list_by_holder(&query.holder, after, limit + 1)
        .await?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|policy| policy.id.to_string())
    } else {
        None
    };
    Ok(Json(PolicyPage {
        items: items.into_iter().map(Policy::from).collect(),
        next_cursor,
    }))
}

/// Cancel a policy
///
/// Idempotent: cancelling a cancelled policy answers it unchanged. The gateway calls this to
/// undo a purchase whose invoice could not be created.
#[utoipa::path(
    post,
    path = "/api/policies/{id}/cancel",
    operation_id = "cancel_policy",
    tag = "policies",
    params(("id" = Uuid, Path, description = "The policy id")),
    responses(
        (status = 200, description = "The policy, cancelled", body = Policy),
        BadId,
        NoPolicy,
    )
)]
pub async fn cancel_policy(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Json<Policy>, Problem> {
    let policy = state
        .policies
        .cancel(id, nfip_kit::db::now())
        .await?
        .ok_or_else(|| no_policy(id))?;
    Ok(Json(policy.into()))
}
