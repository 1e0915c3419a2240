//! nfip policy service: creates, stores, reads and cancels flood insurance policies.

pub mod api;
pub mod config;
pub mod domain;
pub mod error;
pub mod store;

use axum::Router;
use nfip_kit::auth::Callers;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

pub use store::PolicyStore;

#[derive(Debug, Clone)]
pub struct AppState {
    pub policies: PolicyStore,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "nfip policy",
        version = "2.2.0",
        contact(name = "nfip maintainers"),
        description = "Flood insurance policies: create (idempotently, with an \
                       `Idempotency-Key`), read, list by holder, cancel. Errors are RFC 9457 \
                       problem details (`application/problem+json`)."
    ),
    servers(
        (url = "/", description = "Where these docs are served"),
        (url = "http://127.0.0.1:8082", description = "The local stack (`just up`)"),
    ),
    tags((name = "policies", description = "Flood insurance policies"))
)]
struct ApiDoc;

fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
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
