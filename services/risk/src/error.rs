use axum::response::{IntoResponse, Response};
use nfip_kit::Problem;

use crate::domain::ZipCode;

/// Everything a risk request can fail with, and the problem each one is answered with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    MalformedZip(String),
    #[error("{0} is not a U.S. ZIP code in use")]
    UnknownZip(ZipCode),
    #[error("rating store: {0}")]
    Store(#[from] sqlx::Error),
}

impl From<ApiError> for Problem {
    fn from(error: ApiError) -> Problem {
        match error {
            ApiError::MalformedZip(detail) => Problem::invalid_parameter("zipcode", detail),
            ApiError::UnknownZip(_) => Problem::not_found(error.to_string()),
            ApiError::Store(_) => Problem::internal(error),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}
