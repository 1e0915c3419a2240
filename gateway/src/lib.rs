//! nfip gateway: the public front of the federation. It knows each service only through HTTP
//! and its published spec (see [`upstream`]).

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod followups;
pub mod journal;
pub mod metrics;
pub mod purchase;
pub mod upstream;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::get;
use nfip_kit::Problem;
use tokio::sync::Notify;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::{router::OpenApiRouter, routes};
use utoipa_swagger_ui::Url;

pub use auth::ApiKeys;
pub use journal::Journal;
pub use metrics::Metrics;
use upstream::billing::BillingService;
use upstream::notification::NotificationService;
use upstream::policy::PolicyService;
use upstream::risk::RiskService;
use upstream::{CallPolicy, Upstream};

/// The four services, each behind its own client.
#[derive(Debug)]
pub struct Services {
    pub risk: RiskService,
    pub policy: PolicyService,
    pub billing: BillingService,
    pub notification: NotificationService,
}

/// Where the services are.
#[derive(Debug, Clone)]
pub struct ServiceUrls {
    pub risk: String,
    pub policy: String,
    pub billing: String,
    pub notification: String,
}

impl Services {
    pub fn new(urls: &ServiceUrls, policy: CallPolicy, metrics: &Metrics) -> Services {
        let upstream = |name, url: &str| Upstream::new(name, url, policy, metrics.clone());
        Services {
            risk: RiskService(upstream("risk", &urls.risk)),
            policy: PolicyService(upstream("policy", &urls.policy)),
            billing: BillingService(upstream("billing", &urls.billing)),
            notification: NotificationService(upstream("notification", &urls.notification)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Longest a whole request may take.
    pub request_deadline: Duration,
    /// Longest a purchase may take (its calls and retries).
    pub purchase_deadline: Duration,
    /// First delay before the follow-up worker tries again.
    pub followup_retry: Duration,
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub services: Arc<Services>,
    pub journal: Journal,
    pub config: Arc<Settings>,
    pub metrics: Metrics,
    /// Wakes the follow-up worker.
    pub followups: Arc<Notify>,
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                auth::API_KEY_HEADER,
                "An API key issued to the client",
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The same API key, as `Authorization: Bearer <key>`"))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "nfip gateway",
        version = "1.0.0",
        contact(name = "nfip maintainers"),
        description = "The public API of the nfip flood insurance program: buy a policy in one \
                       call (`POST /purchase`), look up flood risk, read policies and invoices, \
                       pay invoices. Authenticate with an API key (`x-api-key` or \
                       `Authorization: Bearer`). Errors are RFC 9457 problem details \
                       (`application/problem+json`) with a stable `type`; when a service behind \
                       the gateway fails, `upstream` names it."
    ),
    modifiers(&SecuritySchemes),
    servers(
        (url = "/", description = "Where these docs are served"),
        (url = "http://127.0.0.1:8080", description = "The local stack (`just up`)"),
    ),
    tags(
        (name = "purchase", description = "Buying a policy"),
        (name = "risk", description = "Flood risk lookups"),
        (name = "policies", description = "Policies"),
        (name = "invoices", description = "Invoices and payments"),
    )
)]
struct ApiDoc;

/// The authenticated API.
fn public_routes() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(api::purchase))
        .routes(routes!(api::get_risk))
        .routes(routes!(api::get_policy))
        .routes(routes!(api::get_invoice))
        .routes(routes!(api::pay_invoice));
    declare_gateway_problems(router.get_openapi_mut());
    router
}

fn ops_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(api::metrics))
}

/// Every public operation may be refused for credentials (401) and may fail because of a
/// service behind it (502, 503, 504).
fn declare_gateway_problems(openapi: &mut utoipa::openapi::OpenApi) {
    use error::{UNAUTHORIZED, UPSTREAM_BAD_RESPONSE, UPSTREAM_TIMEOUT, UPSTREAM_UNAVAILABLE};
    let problems = [
        (
            "401",
            "Missing or invalid API key",
            Problem::new(UNAUTHORIZED).detail("the API key is not valid"),
        ),
        (
            "502",
            "A service behind the gateway answered outside its contract, or failed",
            Problem::new(UPSTREAM_BAD_RESPONSE)
                .detail("billing answered outside its contract: create_invoice 201: expected value at line 1 column 1")
                .upstream("billing"),
        ),
        (
            "503",
            "A service behind the gateway is unavailable (or failing, and not called for a moment)",
            Problem::new(UPSTREAM_UNAVAILABLE)
                .detail("billing is unreachable: Connection refused (os error 111)")
                .upstream("billing"),
        ),
        (
            "504",
            "A service behind the gateway did not answer in time",
            Problem::new(UPSTREAM_TIMEOUT)
                .detail("billing did not answer in time")
                .upstream("billing"),
        ),
    ];
    for item in openapi.paths.paths.values_mut() {
        for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
            for (status, description, example) in &problems {
                operation
                    .responses
                    .responses
                    .entry((*status).to_owned())
                    .or_insert_with(|| nfip_kit::service::problem_response(description, example));
            }
        }
    }
}

/// The gateway's OpenAPI document, as committed in `openapi/gateway.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    nfip_kit::service::openapi(public_routes().merge(ops_routes()))
}

/// The services' published specs, served for the docs page's selector.
const SERVICE_SPECS: [(&str, &str); 4] = [
    ("risk", include_str!("../../openapi/risk.json")),
    ("policy", include_str!("../../openapi/policy.json")),
    ("billing", include_str!("../../openapi/billing.json")),
    (
        "notification",
        include_str!("../../openapi/notification.json"),
    ),
];

async fn service_spec(Path(file): Path<String>) -> axum::response::Response {
    let spec = SERVICE_SPECS
        .iter()
        .find(|(name, _)| file.strip_suffix(".json") == Some(name));
    match spec {
        Some((_, json)) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            *json,
        )
            .into_response(),
        None => Problem::not_found(format!("no spec named {file}")).into_response(),
    }
}

/// The HTTP app: what `main` serves and what the tests call.
pub fn app(state: AppState, keys: ApiKeys) -> Router {
    let api = public_routes()
        .route_layer(middleware::from_fn_with_state(keys, auth::require_api_key))
        .route_layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .merge(ops_routes())
        .route("/specs/{file}", get(service_spec));
    let specs = SERVICE_SPECS
        .iter()
        .map(|(name, _)| {
            Url::new(
                name,
                Box::leak(format!("/specs/{name}.json").into_boxed_str()),
            )
        })
        .collect();
    let db = state.journal.db().clone();
    nfip_kit::service::app_with_docs(api, state, db, specs)
}
