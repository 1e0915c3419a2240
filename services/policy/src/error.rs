use axum::response::{IntoResponse, Response};
use nfip_kit::Problem;
use uuid::Uuid;

use crate::domain::Invalid;
use nfip_kit::db::InsertError;

nfip_kit::problem_response!(
    /// `404`: no policy has the id.
    NoPolicy,
    404,
    "No policy has this id"
);

/// Everything a policy request can fail with, and the problem each one is answered with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the policy is invalid")]
    Invalid(Vec<Invalid>),
    #[error("{1}")]
    BadParameter(&'static str, String),
    #[error("no policy with id {0}")]
    NotFound(Uuid),
    #[error("the Idempotency-Key was already used to create a different policy")]
    KeyReused,
    #[error("policy store: {0}")]
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
            ApiError::BadParameter(name, detail) => Problem::invalid_parameter(name, detail),
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
