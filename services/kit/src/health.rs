//! `/healthz` (liveness) and `/readyz` (readiness: the database answers), in every service's spec.

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
/// Answers 200 when the service can serve requests (its database answers), 503 otherwise.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "ops",
    responses(
        (status = 200, description = "Ready to serve", body = Health,
         example = json!({"status": "ready"})),
        (status = 503, description = "Not ready: the database does not answer", body = Problem,
         content_type = "application/problem+json"),
    )
)]
async fn readyz(Extension(db): Extension<Db>) -> Result<Json<Health>, Problem> {
    match db.ping().await {
        Ok(()) => Ok(Json(Health {
            status: String::from("ready"),
        })),
        Err(error) => {
            tracing::warn!(%error, "not ready: database does not answer");
            Err(Problem::new(ProblemType::UNAVAILABLE).detail("the database does not answer"))
        }
    }
}
