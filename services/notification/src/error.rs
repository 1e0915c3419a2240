use axum::response::{IntoResponse, Response};
use nfip_kit::Problem;
use uuid::Uuid;

use crate::domain::Invalid;
use nfip_kit::db::InsertError;

nfip_kit::problem_response!(
    /// `404`: no notification has the id.
    NoNotification,
    404,
    "No notification has this id"
);

/// Everything a notification request can fail with, and the problem each one is answered with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the notification is invalid")]
    Invalid(Vec<Invalid>),
    #[error("no notification with id {0}")]
    NotFound(Uuid),
    #[error("the Idempotency-Key was already used for a different notification")]
    KeyReused,
    #[error("notification store: {0}")]
    Store(#[from] sqlx::Error),
}

impl From<InsertError> for ApiError {
    fn from(error: InsertError) -> ApiError {
        error.or(ApiError::KeyReused)
    }
}

impl From<ApiError> for Problem {
    fn from(error: ApiError) -> Problem {
        match error {
            ApiError::Invalid(problems) => Invalid::problem(problems),
            ApiError::NotFound(_) => Problem::not_found(error.to_string()),
            ApiError::KeyReused => Problem::key_reused(error.to_string()),
            ApiError::Store(_) => Problem::internal(error),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}
