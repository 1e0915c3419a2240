//! nfip billing service: invoices priced from base rate and risk score, and their payments.

pub mod api;
pub mod config;
pub mod domain;
pub mod error;
pub mod store;

use axum::Router;
use nfip_kit::auth::Callers;
use nfip_kit::spec::About;
use utoipa_axum::{router::OpenApiRouter, routes};

pub use store::BillingStore;

#[derive(Debug, Clone)]
pub struct AppState {
    pub billing: BillingStore,
}

const ABOUT: About = About {
    title: "nfip billing",
    version: "2.2.0",
    description: "Invoices for flood insurance policies — `amount_cents = base_rate_cents × \
                  risk_score`, exact, in integer cents — and their payments through a \
                  simulated card processor. Errors are RFC 9457 problem details \
                  (`application/problem+json`).",
    local_port: 8083,
    tags: &[("invoices", "Invoices and payments")],
};

fn api() -> OpenApiRouter<AppState> {
    ABOUT
        .router()
        .routes(routes!(api::create_invoice, api::list_invoices))
        .routes(routes!(api::get_invoice))
        .routes(routes!(api::pay_invoice))
        .routes(routes!(api::void_invoice))
}

/// The service's OpenAPI document, as committed in `openapi/billing.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    nfip_kit::service::internal_openapi(api())
}

/// The HTTP app: what `main` serves and what the tests call.
pub fn app(state: AppState, callers: Callers) -> Router {
    let db = state.billing.db().clone();
    nfip_kit::service::app(api(), state, db, callers)
}
