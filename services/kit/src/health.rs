//! `/healthz` (liveness) and `/readyz` (readiness: the database answers and takes writes), in
//! every service's spec.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Extension;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::db::Db;
use crate::extract::Json;
use crate::problem::{Problem, ProblemType};

/// Health of the process.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` for liveness, `ready` for readiness.
    #[schema(example = "ok")]
    pub status: String,
}

/// Set when the process has been told to stop: `/readyz` answers 503 from then on, so load
/// balancers send new requests elsewhere while the ones in flight finish. `serve` owns it.
#[derive(Debug, Clone, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    pub fn start(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_on(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The health operations, for any router state; `/readyz` needs the `Db` as an extension.
pub fn routes<S: Clone + Send + Sync + 'static>() -> OpenApiRouter<S> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// Liveness
///
/// Answers 200 while the process is up and serving HTTP.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "ops",
    responses((status = 200, description = "The process is alive", body = Health,
               example = json!({"status": "ok"})))
)]
async fn healthz() -> Json<Health> {
    Json(Health {
        status: String::from("ok"),
    })
}

/// Readiness
///
/// Answers 200 when the process can serve requests (its database answers and takes writes), 503
/// when it cannot or when it is shutting down.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "ops",
    responses(
        (status = 200, description = "Ready to serve", body = Health,
         example = json!({"status": "ready"})),
        (status = 503, description = "Not ready: the database does not answer or does not take \
                                      writes, or the process is shutting down", body = Problem,
         content_type = "application/problem+json"),
    )
)]
async fn readyz(
    Extension(db): Extension<Db>,
    draining: Option<Extension<Draining>>,
) -> Result<Json<Health>, Problem> {
    if draining.is_some_and(|Extension(draining)| draining.is_on()) {
        return Err(Problem::new(ProblemType::UNAVAILABLE)
            .detail("shutting down: finishing the requests in flight"));
    }
    let Err(error) = db.check_writable().await else {
        return Ok(Json(Health {
            status: String::from("ready"),
        }));
    };
    let detail = if db.ping().await.is_ok() {
        "the database answers but does not take writes (a full disk, or read-only)"
    } else {
        "the database does not answer"
    };
    tracing::warn!(%error, "not ready: {detail}");
    Err(Problem::new(ProblemType::UNAVAILABLE).detail(detail))
}
