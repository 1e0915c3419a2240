//! nfip policy service: creates, stores, reads and cancels flood insurance policies.

pub mod api;
pub mod config;
pub mod domain;
pub mod error;
pub mod store;

use axum::Router;
use nfip_kit::auth::Callers;
use nfip_kit::spec::About;
use utoipa_axum::{router::OpenApiRouter, routes};

pub use store::PolicyStore;

#[derive(Debug, Clone)]
pub struct AppState {
    pub policies: PolicyStore,
}

const ABOUT: About = About {
    title: "nfip policy",
    version: "2.2.0",
    description: "Flood insurance policies: create (idempotently, with an \
                  `Idempotency-Key`), read, list by holder, cancel. Errors are RFC 9457 \
                  problem details (`application/problem+json`).",
    local_port: 8082,
    tags: &[("policies", "Flood insurance policies")],
};

fn api() -> OpenApiRouter<AppState> {
    ABOUT
        .router()
        .routes(routes!(api::create_policy, api::list_policies))
        .routes(routes!(api::get_policy))
        .routes(routes!(api::cancel_policy))
}

/// The service's OpenAPI document, as committed in `openapi/policy.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    nfip_kit::service::internal_openapi(api())
}

/// The HTTP app: what `main` serves and what the tests call.
pub fn app(state: AppState, callers: Callers) -> Router {
    let db = state.policies.db().clone();
    nfip_kit::service::app(api(), state, db, callers)
}
