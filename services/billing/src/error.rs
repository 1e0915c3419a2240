use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use nfip_kit::{Problem, ProblemType};
use uuid::Uuid;

use crate::domain::DeclineCode;
use crate::store::StoreError;

pub const PAYMENT_DECLINED: ProblemType = ProblemType::new(
    "payment-declined",
    "The card was declined",
    StatusCode::PAYMENT_REQUIRED,
);

nfip_kit::problem_response!(
    /// `404`: no invoice has the id.
    NoInvoice,
    404,
    "No invoice has this id"
);

/// Everything a billing request can fail with, and the problem each one is answered with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
    #[error("{0}")]
    Rejected(Problem),
    #[error("no invoice with id {0}")]
    NotFound(Uuid),
    #[error("invoice {0} is {1}")]
    Conflict(Uuid, &'static str),
    #[error("the card was declined: {}", .0.as_str())]
    Declined(DeclineCode),
    #[error("the Idempotency-Key was already used for a different request")]
    KeyReused,
    #[error("billing store: {0}")]
    Store(#[from] sqlx::Error),
}

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> ApiError {
        ApiError::Rejected(problem)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::KeyReused => ApiError::KeyReused,
            StoreError::NoInvoice(id) => ApiError::NotFound(id),
            StoreError::WrongState(id, state) => ApiError::Conflict(id, state),
            StoreError::Database(error) => ApiError::Store(error),
        }
    }
}

impl From<ApiError> for Problem {
    fn from(error: ApiError) -> Problem {
        match error {
            ApiError::Invalid(pointer, ref message) => Problem::invalid_field(pointer, message),
            ApiError::Rejected(problem) => problem,
            ApiError::NotFound(_) => Problem::not_found(error.to_string()),
            ApiError::Conflict(..) => Problem::new(ProblemType::CONFLICT).detail(error.to_string()),
            ApiError::Declined(_) => Problem::new(PAYMENT_DECLINED).detail(error.to_string()),
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
