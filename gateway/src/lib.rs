//! nfip gateway: the public front of the federation. It knows each service only through HTTP
//! and its published spec (see [`upstream`]).

pub mod api;
pub mod clients;
pub mod config;
pub mod docs;
pub mod error;
pub mod followups;
pub mod journal;
pub mod metrics;
pub mod purchase;
pub mod state;
pub mod upstream;
pub mod web;

use std::sync::Arc;

use axum::middleware;
use axum::routing::get;
use axum::{Extension, Router};
use nfip_kit::auth::{self, Authenticator, Presented};
use tokio::sync::Notify;
use tower::ServiceBuilder;
use utoipa_swagger_ui::Url;

use docs::{SERVICE_SPECS, ops_routes, public_routes, service_spec};
use followups::Followups;

pub use docs::openapi;
pub use journal::Journal;
pub use state::{AppState, Endpoint, Endpoints, Services, Settings};

/// The HTTP app: authentication and rate limiting before the public routes; health, metrics,
/// docs and specs open.
pub fn app(state: AppState) -> Router {
    let authenticator = Authenticator {
        callers: state.settings.clients.clone(),
        how: Presented::ApiKeyOrBearer,
    };
    let limiter = clients::Limiter::new(state.settings.rate_limit);
    // As one layer, so one box around each route (see `nfip_kit::service::app_with_docs`).
    let guarded = ServiceBuilder::new()
        .layer(middleware::from_fn_with_state(authenticator, auth::require))
        .layer(middleware::from_fn_with_state(limiter, clients::rate_limit));
    let api = public_routes()
        .route_layer(guarded)
        .merge(ops_routes())
        .route("/specs/{file}", get(service_spec))
        .route("/", get(web::page))
        .route("/assets/{file}", get(web::asset));
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
    let app = nfip_kit::service::app_with_docs(api, state, db, specs);
    nfip_kit::service::around(app, Extension(metrics::purchases()))
}

/// The gateway: its HTTP app, and the follow-up worker running beside it.
pub struct Gateway {
    pub router: Router,
    pub state: AppState,
    followups: Followups,
}

impl Gateway {
    /// Connects the journal, builds the upstream clients and the app, starts the worker.
    pub async fn build(settings: Settings) -> Result<Gateway, String> {
        if settings.clients.is_empty() {
            tracing::warn!(
                "no client is configured (GATEWAY_API_KEYS): every request will be refused"
            );
        }
        let journal = Journal::connect(&settings.database_url)
            .await
            .map_err(|e| e.to_string())?;
        let services = Services::new(&settings)?;
        let state = AppState {
            services: Arc::new(services),
            journal,
            settings: Arc::new(settings),
            followups: Arc::new(Notify::new()),
        };
        let followups = Followups::spawn(state.clone());
        let router = app(state.clone());
        Ok(Gateway {
            router,
            state,
            followups,
        })
    }

    /// Finishes the follow-up in progress, then stops the worker.
    pub async fn stop(self) {
        self.followups.stop().await;
    }
}
