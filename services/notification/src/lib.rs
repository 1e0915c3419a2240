//! nfip notification service: emails and texts to policy holders, queued durably and delivered
//! with retries.

pub mod api;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod store;

use axum::{Extension, Router};
use delivery::Handoff;
use nfip_kit::auth::Callers;
use nfip_kit::metrics::Gauges;
use nfip_kit::spec::About;
use utoipa_axum::{router::OpenApiRouter, routes};

pub use store::NotificationStore;

#[derive(Debug, Clone)]
pub struct AppState {
    pub notifications: NotificationStore,
    /// Gives the delivery worker what is queued.
    pub handoff: Handoff,
}

const ABOUT: About = About {
    title: "nfip notification",
    version: "2.2.0",
    description: "Emails and texts to policy holders. A notification is stored, answered \
                  with 202, and delivered in the background — to an outbox folder by \
                  default, or through SMTP — with retries and backoff; its status moves \
                  from `queued` to `sent` or `failed`. Errors are RFC 9457 problem \
                  details (`application/problem+json`).",
    local_port: 8084,
    tags: &[("notifications", "Notifications and their delivery")],
};

fn api() -> OpenApiRouter<AppState> {
    ABOUT
        .router()
        .routes(routes!(api::create_notification))
        .routes(routes!(api::get_notification))
}

/// The service's OpenAPI document, as committed in `openapi/notification.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    nfip_kit::service::internal_openapi(api())
}

/// The HTTP app: what `main` serves and what the tests call. Delivery is the
/// [`delivery::Worker`]'s job, started beside it.
pub fn app(state: AppState, callers: Callers) -> Router {
    let db = state.notifications.db().clone();
    let app = nfip_kit::service::app(api(), state, db, callers);
    nfip_kit::service::around(app, Extension(queue_gauge()))
}

/// `nfip_notifications_queued`: notifications waiting for delivery, when Prometheus scrapes;
/// with `nfip_notification_deliveries_total{channel, outcome}` from the worker.
fn queue_gauge() -> Gauges {
    metrics::describe_gauge!(
        "nfip_notifications_queued",
        "Notifications waiting to be delivered"
    );
    metrics::describe_counter!(
        "nfip_notification_deliveries_total",
        "Delivery attempts, by channel and outcome: sent, retry or failed"
    );
    Gauges::new(|db| async move {
        let queued =
            nfip_kit::db::query("SELECT COUNT(*) AS n FROM notifications WHERE status = 'queued'")
                .fetch_one(&db)
                .await
                .and_then(|row| row.try_get::<i64, _>("n"));
        if let Ok(n) = queued {
            metrics::gauge!("nfip_notifications_queued").set(n as f64);
        }
    })
}
