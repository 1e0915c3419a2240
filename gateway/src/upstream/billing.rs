//! The gateway's view of the billing service (`openapi/billing.json`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Call, Deadline, Upstream, UpstreamError};

/// `CreateInvoice` in the billing spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewInvoice {
    pub policy_id: Uuid,
    pub base_rate_cents: i64,
    pub risk_score: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Open,
    Paid,
    Void,
}

/// An invoice: the premium for a policy.
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
    /// The annual base rate in cents, before the risk score is applied.
    pub base_rate_cents: i64,
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub risk_score: f64,
    /// What is due, in cents.
    pub amount_cents: i64,
    /// Always `USD`.
    #[schema(example = "USD")]
    pub currency: String,
    pub status: InvoiceStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(
        with = "time::serde::rfc3339::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(nullable = false)]
    pub paid_at: Option<OffsetDateTime>,
    #[serde(
        with = "time::serde::rfc3339::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(nullable = false)]
    pub voided_at: Option<OffsetDateTime>,
}

/// A card payment for the whole amount of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"card_number": "4242424242424242"}))]
pub struct PayInvoice {
    /// 12–19 digits. Test cards: 4000000000000002 (declined), 4000000000009995 (insufficient
    /// funds), 4000000000000069 (expired); others with a valid check digit are approved.
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
    #[schema(example = "USD")]
    pub currency: String,
    #[schema(pattern = "^[0-9]{4}$")]
    pub card_last4: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug)]
pub struct BillingService(pub Upstream);

impl BillingService {
    /// `create_invoice`: POST /api/invoices, keyed so a retry issues nothing new.
    pub async fn create_invoice(
        &self,
        invoice: &NewInvoice,
        idempotency_key: &str,
        deadline: Deadline,
    ) -> Result<Invoice, UpstreamError> {
        let call = Call::keyed("create_invoice", "/api/invoices", invoice, idempotency_key);
        self.0.call(call, deadline).await
    }

    /// `get_invoice`: GET /api/invoices/{id}.
    pub async fn get_invoice(
        &self,
        id: Uuid,
        deadline: Deadline,
    ) -> Result<Invoice, UpstreamError> {
        let call = Call::read("get_invoice", format!("/api/invoices/{id}"));
        self.0.call(call, deadline).await
    }

    /// `void_invoice`: POST /api/invoices/{id}/void (idempotent).
    pub async fn void(&self, id: Uuid, deadline: Deadline) -> Result<Invoice, UpstreamError> {
        let call = Call::action("void_invoice", format!("/api/invoices/{id}/void"));
        self.0.call(call, deadline).await
    }

    /// `pay_invoice`: POST /api/invoices/{id}/payments with the caller's idempotency key.
    pub async fn pay(
        &self,
        id: Uuid,
        payment: &PayInvoice,
        idempotency_key: &str,
        deadline: Deadline,
    ) -> Result<Payment, UpstreamError> {
        let path = format!("/api/invoices/{id}/payments");
        let call = Call::keyed("pay_invoice", path, payment, idempotency_key);
        self.0.call(call, deadline).await
    }
}
