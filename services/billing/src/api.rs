//! The HTTP surface: handlers and the wire types they speak.

use crate::error::NoInvoice;
use axum::extract::State;
use nfip_kit::BadId;
use nfip_kit::{
    Created, IdempotencyKey, IdempotencyKeyHeader, Json, Path, Problem, Query,
    RequiredIdempotencyKeyHeader,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::domain::{self, CardNumber, Cents, RiskBasisPoints};
use crate::error::ApiError;
use crate::store;

/// An invoice to issue for a policy.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "policy_id": "019a7b4e-8f1c-7d2a-9b3e-4c5d6e7f8a9b",
    "base_rate_cents": 120000,
    "risk_score": 0.9
}))]
pub struct CreateInvoice {
    pub policy_id: Uuid,
    /// The annual base rate in cents, before the risk score is applied.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub base_rate_cents: i64,
    /// The policy's risk score, 0 to 1, with at most four decimal places.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub risk_score: f64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub enum Currency {
    USD,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Open,
    Paid,
    Void,
}

/// An invoice: the premium for a policy, `base_rate_cents × risk_score` rounded half up to
/// the cent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "019a7b4f-0000-7000-8000-000000000001",
    "policy_id": "019a7b4e-8f1c-7d2a-9b3e-4c5d6e7f8a9b",
    "base_rate_cents": 120000,
    "risk_score": 0.9,
    "amount_cents": 108000,
    "currency": "USD",
    "status": "open",
    "created_at": "2026-11-25T10:00:00.000000Z"
}))]
pub struct Invoice {
    pub id: Uuid,
    pub policy_id: Uuid,
    pub base_rate_cents: i64,
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub risk_score: f64,
    /// What is due, in cents.
    pub amount_cents: i64,
    pub currency: Currency,
    pub status: InvoiceStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none",
        default
    )]
    #[schema(nullable = false)]
    pub paid_at: Option<OffsetDateTime>,
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none",
        default
    )]
    #[schema(nullable = false)]
    pub voided_at: Option<OffsetDateTime>,
}

/// A card payment for the whole amount of an invoice.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"card_number": "4242424242424242"}))]
pub struct PayInvoice {
    /// 12–19 digits (spaces and dashes between groups are ignored). Test cards: 4000000000000002
    /// (declined), 4000000000009995 (insufficient funds), 4000000000000069 (expired); any
    /// other number with a valid check digit, such as 4242424242424242, is approved.
    #[schema(
        min_length = 12,
        max_length = 40,
        pattern = "^[0-9][0-9 -]*[0-9]$",
        example = "4242424242424242"
    )]
    pub card_number: String,
}

/// An approved payment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "019a7b51-0000-7000-8000-000000000003",
    "invoice_id": "019a7b4f-0000-7000-8000-000000000001",
    "amount_cents": 108000,
    "currency": "USD",
    "card_last4": "4242",
    "created_at": "2026-11-25T10:05:00.000000Z"
}))]
pub struct Payment {
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub amount_cents: i64,
    pub currency: Currency,
    #[schema(pattern = "^[0-9]{4}$")]
    pub card_last4: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A policy's invoices.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"items": [{
    "id": "019a7b4f-0000-7000-8000-000000000001",
    "policy_id": "019a7b4e-8f1c-7d2a-9b3e-4c5d6e7f8a9b",
    "base_rate_cents": 120000,
    "risk_score": 0.9,
    "amount_cents": 108000,
    "currency": "USD",
    "status": "open",
    "created_at": "2026-11-25T10:00:00.000000Z"
}]}))]
pub struct InvoiceList {
    /// Oldest first.
    pub items: Vec<Invoice>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The policy whose invoices to list.
    pub policy_id: Uuid,
}

impl From<domain::Invoice> for Invoice {
    fn from(invoice: domain::Invoice) -> Invoice {
        Invoice {
            id: invoice.id,
            policy_id: invoice.policy_id,
            base_rate_cents: invoice.base_rate.0,
            risk_score: invoice.risk.as_score(),
            amount_cents: invoice.amount.0,
            currency: Currency::USD,
            status: match invoice.status {
                domain::InvoiceStatus::Open => InvoiceStatus::Open,
                domain::InvoiceStatus::Paid => InvoiceStatus::Paid,
                domain::InvoiceStatus::Void => InvoiceStatus::Void,
            },
            created_at: invoice.created_at,
            paid_at: invoice.paid_at,
            voided_at: invoice.voided_at,
        }
    }
}

/// Issue an invoice
///
/// Prices the policy (`amount_cents = base_rate_cents × risk_score`, rounded half up) and
/// stores an open invoice. With an `Idempotency-Key`, a retry of the same request answers the
/// same invoice instead of issuing another.
#[utoipa::path(
    post,
    path = "/api/invoices",
    operation_id = "create_invoice",
    tag = "invoices",
    params(
        IdempotencyKeyHeader,
    ),
    request_body = CreateInvoice,
    responses(
        (status = 201, description = "The invoice was issued (or replayed for a repeated key)",
         body = Invoice,
         links(
             ("get_invoice" = (operation_id = "get_invoice", parameters(("id" = "$response.body#/id")))),
             ("pay_invoice" = (operation_id = "pay_invoice", parameters(("id" = "$response.body#/id")))),
             ("void_invoice" = (operation_id = "void_invoice", parameters(("id" = "$response.body#/id")))),
         ),
         headers(
             ("Location" = String, description = "The invoice's URL"),
             ("Idempotent-Replayed" = String, description = "`true` when this answers an earlier request with the same key"),
         )),
        (status = 422, description = "A field is invalid (e.g. a risk score with more than four decimal places), or the idempotency key was used for another request",
         body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_invoice(
    State(state): State<AppState>,
    idempotency_key: IdempotencyKey,
    Json(request): Json<CreateInvoice>,
) -> Result<Created<Invoice>, ApiError> {
    let risk = RiskBasisPoints::from_score(request.risk_score)
        .map_err(|message| ApiError::Invalid("/risk_score", message))?;
    let invoice = domain::Invoice::issue(
        request.policy_id,
        Cents(request.base_rate_cents),
        risk,
        nfip_kit::db::now(),
    )
    .map_err(|message| ApiError::Invalid("/base_rate_cents", message))?;
    let canonical = serde_json::to_string(&request).expect("a request serializes");
    let key = idempotency_key.0.as_deref();
    let (invoice, replayed) = state
        .billing
        .create_invoice(invoice, key.map(|key| (key, canonical.as_str())))
        .await?
        .into_parts();
    let location = format!("/api/invoices/{}", invoice.id);
    Ok(Created::at(location, Invoice::from(invoice)).replayed(replayed))
}

/// Read an invoice
///
/// The invoice with its amount in cents and its status: `open`, `paid` or `void`.
#[utoipa::path(
    get,
    path = "/api/invoices/{id}",
    operation_id = "get_invoice",
    tag = "invoices",
    params(("id" = Uuid, Path, description = "The invoice id")),
    responses(
        (status = 200, description = "The invoice", body = Invoice),
        BadId,
        NoInvoice,
    )
)]
pub async fn get_invoice(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Json<Invoice>, ApiError> {
    let invoice = state
        .billing
        .invoice(id)
        .await?
        .ok_or(ApiError::from(store::StoreError::NoInvoice(id)))?;
    Ok(Json(invoice.into()))
}

/// List a policy's invoices
///
/// Every invoice issued for the policy, oldest first (the gateway uses it to void what a failed
/// purchase left behind).
#[utoipa::path(
    get,
    path = "/api/invoices",
    operation_id = "list_invoices",
    tag = "invoices",
    params(ListQuery),
    responses(
        (status = 200, description = "The policy's invoices", body = InvoiceList),
        (status = 400, description = "`policy_id` is missing or not a UUID", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn list_invoices(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<InvoiceList>, ApiError> {
    let items = state.billing.invoices_of(query.policy_id).await?;
    Ok(Json(InvoiceList {
        items: items.into_iter().map(Invoice::from).collect(),
    }))
}

/// Pay an invoice
///
/// Charges the card (a simulated processor) for the whole amount and marks the invoice paid.
/// The `Idempotency-Key` is required: a retry with the same key and body answers the first
/// attempt — approved or declined — and charges nothing more.
#[utoipa::path(
    post,
    path = "/api/invoices/{id}/payments",
    operation_id = "pay_invoice",
    tag = "invoices",
    params(
        ("id" = Uuid, Path, description = "The invoice id"),
        RequiredIdempotencyKeyHeader,
    ),
    request_body = PayInvoice,
    responses(
        (status = 201, description = "The payment was approved (or replayed for a repeated key)",
         body = Payment,
         headers(
             ("Location" = String, description = "The invoice's URL"),
             ("Idempotent-Replayed" = String, description = "`true` when this answers an earlier request with the same key"),
         )),
        (status = 400, description = "The id is not a UUID, or the Idempotency-Key is missing or invalid",
         body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "The card was declined; the invoice stays open",
         body = Problem, content_type = "application/problem+json",
         example = json!({"type": "urn:nfip:problem:payment-declined", "title": "The card was declined",
                          "status": 402, "detail": "the card was declined: insufficient_funds"})),
        NoInvoice,
        (status = 409, description = "The invoice is already paid, or void", body = Problem,
         content_type = "application/problem+json"),
        (status = 422, description = "The card number is invalid, or the idempotency key was used for another request",
         body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn pay_invoice(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    idempotency_key: IdempotencyKey,
    Json(request): Json<PayInvoice>,
) -> Result<Created<Payment>, ApiError> {
    let key = idempotency_key.required()?;
    let card = CardNumber::parse(&request.card_number)
        .map_err(|message| ApiError::Invalid("/card_number", message))?;
    // The request a repeat must match: this invoice and this card (hashed; a card number is
    // never stored).
    let canonical = format!("{id}:{}", card.fingerprint());
    let (payment, replayed) = state
        .billing
        .pay(id, &card, &key, &canonical)
        .await?
        .into_parts();
    if let Some(code) = payment.declined {
        return Err(ApiError::Declined(code));
    }
    let paid = Payment {
        id: payment.id,
        invoice_id: payment.invoice_id,
        amount_cents: payment.amount.0,
        currency: Currency::USD,
        card_last4: payment.card_last4,
        created_at: payment.created_at,
    };
    Ok(Created::at(format!("/api/invoices/{id}"), paid).replayed(replayed))
}

/// Void an invoice
///
/// Idempotent: voiding a void invoice answers it unchanged. A paid invoice cannot be voided.
/// The gateway calls this to undo a purchase.
#[utoipa::path(
    post,
    path = "/api/invoices/{id}/void",
    operation_id = "void_invoice",
    tag = "invoices",
    params(("id" = Uuid, Path, description = "The invoice id")),
    responses(
        (status = 200, description = "The invoice, void", body = Invoice),
        BadId,
        NoInvoice,
        (status = 409, description = "The invoice is paid", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn void_invoice(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Json<Invoice>, ApiError> {
    Ok(Json(state.billing.void(id).await?.into()))
}
