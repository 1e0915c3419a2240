//! The public API: handlers and the wire types of the gateway's own contract.

use crate::error::NoClientInvoice;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use nfip_kit::auth::Caller;
use nfip_kit::{BadId, BadZip};
use nfip_kit::{
    IdempotencyKey, IdempotencyKeyHeader, Json, Path, Problem, RequiredIdempotencyKeyHeader,
    context,
};
use uuid::Uuid;

use crate::journal::Resource;
use crate::purchase::{self, PurchaseRequest, Reply};
use crate::state::AppState;
use crate::upstream::Deadline;
use crate::upstream::billing::{Invoice, PayInvoice, Payment};
use crate::upstream::policy::Policy;
use crate::upstream::risk::RiskAssessment;

/// Buy a flood insurance policy
///
/// Looks up the ZIP code's flood risk, creates the policy, issues its invoice (base rate ×
/// risk score, in cents) and sends a confirmation to the contact. If the invoice cannot be
/// issued, the policy is cancelled: a failed purchase leaves nothing behind. A confirmation that
/// cannot be sent at once is delivered later (`notification: pending`).
///
/// Send an `Idempotency-Key` to retry safely: a retry with the same key and body answers the
/// first answer (with `Idempotent-Replayed: true`) and creates nothing, also while the first
/// is still running; the same key with another body is refused. Keys are the client's own:
/// the same key from another client is another purchase. Make one per purchase (a UUID).
#[utoipa::path(
    post,
    path = "/purchase",
    operation_id = "purchase",
    tag = "purchase",
    security(("api_key" = []), ("bearer" = [])),
    params(
        IdempotencyKeyHeader,
    ),
    request_body = PurchaseRequest,
    responses(
        (status = 201, description = "The policy is bought (or this answers an earlier request with the same key)",
         body = purchase::Receipt,
         links(
             ("get_policy" = (operation_id = "get_policy", parameters(("id" = "$response.body#/policy_id")))),
             ("get_invoice" = (operation_id = "get_invoice", parameters(("id" = "$response.body#/invoice_id")))),
             ("pay_invoice" = (operation_id = "pay_invoice", parameters(("id" = "$response.body#/invoice_id")))),
         ),
         headers(
             ("Location" = String, description = "The policy's URL on the gateway"),
             ("Idempotent-Replayed" = String, description = "`true` when this answers an earlier request with the same key"),
         )),
        (status = 409, description = "A request with this Idempotency-Key is still running; retry shortly",
         body = Problem, content_type = "application/problem+json",
         example = json!({"type": "urn:nfip:problem:purchase-in-progress",
                          "title": "A purchase with this Idempotency-Key is still in progress",
                          "status": 409,
                          "detail": "another request with this Idempotency-Key is running the purchase; retry shortly"})),
        (status = 422, description = "A field is invalid, the ZIP code is not one in use, or the Idempotency-Key was used for another purchase",
         body = Problem, content_type = "application/problem+json",
         example = json!({"type": "urn:nfip:problem:validation", "title": "The request body is not valid",
                          "status": 422, "detail": "/zipcode: 00000 is not a U.S. ZIP code in use",
                          "errors": [{"pointer": "/zipcode", "detail": "00000 is not a U.S. ZIP code in use"}]})),
    )
)]
pub async fn purchase(
    State(state): State<AppState>,
    Extension(client): Extension<Caller>,
    idempotency_key: IdempotencyKey,
    Json(request): Json<PurchaseRequest>,
) -> Result<Reply, Problem> {
    let order = request.validate()?;
    let work =
        async move { purchase::purchase(&state, client.name(), order, idempotency_key.0).await };
    // Its own task, so a caller that hangs up does not stop the purchase halfway.
    context::spawn(work)
        .await
        .map_err(|error| Problem::internal(format!("the purchase task failed: {error}")))
}

fn deadline(state: &AppState) -> Deadline {
    Deadline::after(state.settings.deadline)
}

/// Passes when `client` bought the resource through the gateway; otherwise the 404 its service
/// gives for an id it does not have, so an answer never tells another client's from none.
async fn owned(
    state: &AppState,
    client: &Caller,
    resource: Resource,
    id: Uuid,
) -> Result<(), Problem> {
    let (service, noun) = match resource {
        Resource::Policy => ("policy", "policy"),
        Resource::Invoice => ("billing", "invoice"),
    };
    match state.journal.owns(client.name(), resource, id).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(Problem::not_found(format!("no {noun} with id {id}")).upstream(service)),
        Err(error) => Err(Problem::internal(format!("ownership: {error}"))),
    }
}

/// Flood risk for a ZIP code
///
/// The risk service's assessment: score (0–1), flood zone and the factors behind the score, for
/// every U.S. ZIP code in use, and where the rating comes from (`source`, `data_version`).
#[utoipa::path(
    get,
    path = "/risk/{zipcode}",
    operation_id = "get_risk",
    tag = "risk",
    security(("api_key" = []), ("bearer" = [])),
    params(("zipcode" = String, Path, description = "Five-digit US ZIP code",
            pattern = "^[0-9]{5}$", example = "20740")),
    responses(
        (status = 200, description = "The flood risk of the ZIP code", body = RiskAssessment),
        BadZip,
        (status = 404, description = "Five digits, but not a U.S. ZIP code in use", body = Problem,
         content_type = "application/problem+json",
         example = json!({"type": "urn:nfip:problem:not-found", "title": "Not found", "status": 404,
                          "detail": "00000 is not a U.S. ZIP code in use", "upstream": "risk"})),
    )
)]
pub async fn get_risk(
    State(state): State<AppState>,
    Path(zipcode): Path<String>,
) -> Result<Json<RiskAssessment>, Problem> {
    nfip_kit::validate::ZipCode::parse(&zipcode)
        .map_err(|message| Problem::invalid_parameter("zipcode", message))?;
    let risk = state.services.risk.assess(&zipcode, deadline(&state)).await;
    risk.map(Json).map_err(|error| Problem::from(&error))
}

/// Read a policy
///
/// The policy service's policy: holder, contact, ZIP code, risk score and status.
#[utoipa::path(
    get,
    path = "/policies/{id}",
    operation_id = "get_policy",
    tag = "policies",
    security(("api_key" = []), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "The policy id")),
    responses(
        (status = 200, description = "The policy", body = Policy),
        BadId,
        (status = 404, description = "This client has no policy with this id", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn get_policy(
    State(state): State<AppState>,
    Extension(client): Extension<Caller>,
    Path(id): Path<Uuid>,
) -> Result<Json<Policy>, Problem> {
    owned(&state, &client, Resource::Policy, id).await?;
    let policy = state.services.policy.get(id, deadline(&state)).await;
    policy.map(Json).map_err(|error| Problem::from(&error))
}

/// Read an invoice
///
/// The billing service's invoice: amount in cents and status (`open`, `paid` or `void`).
#[utoipa::path(
    get,
    path = "/invoices/{id}",
    operation_id = "get_invoice",
    tag = "invoices",
    security(("api_key" = []), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "The invoice id")),
    responses(
        (status = 200, description = "The invoice", body = Invoice),
        BadId,
        NoClientInvoice,
    )
)]
pub async fn get_invoice(
    State(state): State<AppState>,
    Extension(client): Extension<Caller>,
    Path(id): Path<Uuid>,
) -> Result<Json<Invoice>, Problem> {
    owned(&state, &client, Resource::Invoice, id).await?;
    let invoice = state
        .services
        .billing
        .get_invoice(id, deadline(&state))
        .await;
    invoice.map(Json).map_err(|error| Problem::from(&error))
}

/// Pay an invoice
///
/// Charges the card for the whole amount. The `Idempotency-Key` is required: a retry with the
/// same key and body answers the first attempt and charges nothing more. A client pays only
/// invoices of its own purchases.
#[utoipa::path(
    post,
    path = "/invoices/{id}/payments",
    operation_id = "pay_invoice",
    tag = "invoices",
    security(("api_key" = []), ("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The invoice id"),
        RequiredIdempotencyKeyHeader,
    ),
    request_body = PayInvoice,
    responses(
        (status = 201, description = "The payment was approved (or replayed for a repeated key)",
         body = Payment),
        (status = 400, description = "The id is not a UUID, or the Idempotency-Key is missing or invalid",
         body = Problem, content_type = "application/problem+json"),
        (status = 402, description = "The card was declined; the invoice stays open",
         body = Problem, content_type = "application/problem+json",
         example = json!({"type": "urn:nfip:problem:payment-declined", "title": "The card was declined",
                          "status": 402, "detail": "the card was declined: insufficient_funds",
                          "upstream": "billing"})),
        NoClientInvoice,
        (status = 409, description = "The invoice is already paid, or void", body = Problem,
         content_type = "application/problem+json"),
        (status = 422, description = "The card number is invalid, or the key was used for another payment",
         body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn pay_invoice(
    State(state): State<AppState>,
    Extension(client): Extension<Caller>,
    Path(id): Path<Uuid>,
    idempotency_key: IdempotencyKey,
    Json(payment): Json<PayInvoice>,
) -> Result<(StatusCode, Json<Payment>), Problem> {
    let key = idempotency_key.required()?;
    owned(&state, &client, Resource::Invoice, id).await?;
    // The client's key, scoped to the client: billing never sees a key a client chose.
    let key = purchase::payment_key(client.name(), &key);
    let paid = state
        .services
        .billing
        .pay(id, &payment, &key, deadline(&state))
        .await;
    paid.map(|payment| (StatusCode::CREATED, Json(payment)))
        .map_err(|error| Problem::from(&error))
}
