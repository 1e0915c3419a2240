//! The answer to a create: `201 Created` (or `202 Accepted`) with the JSON body, its
//! `Location`, and `Idempotent-Replayed: true` when it answers an earlier request with the same
//! idempotency key. Every service and the gateway answer creates with it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::Json;

#[derive(Debug, Clone)]
pub struct Created<T> {
    status: StatusCode,
    location: String,
    replayed: bool,
    body: T,
}

impl<T> Created<T> {
    /// `201 Created`, at `location`.
    pub fn at(location: impl Into<String>, body: T) -> Created<T> {
        Created {
            status: StatusCode::CREATED,
            location: location.into(),
            replayed: false,
            body,
        }
    }

    /// `202 Accepted` instead: taken, to be done later.
    pub fn accepted(self) -> Created<T> {
        Created {
            status: StatusCode::ACCEPTED,
            ..self
        }
    }

    /// Whether it answers an earlier request with the same idempotency key.
    pub fn replayed(self, replayed: bool) -> Created<T> {
        Created { replayed, ..self }
    }
}

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        let headers = response.headers_mut();
        if let Ok(location) = HeaderValue::from_str(&self.location) {
            headers.insert(header::LOCATION, location);
        }
        if self.replayed {
            headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        response
    }
}

/// What an idempotent insert did: made the row, or found the one an earlier request with the
/// same key made.
#[derive(Debug, Clone, PartialEq)]
pub enum Inserted<T> {
    New(T),
    Replayed(T),
}

impl<T> Inserted<T> {
    /// The row, and whether it was replayed.
    pub fn into_parts(self) -> (T, bool) {
        match self {
            Inserted::New(row) => (row, false),
            Inserted::Replayed(row) => (row, true),
        }
    }

    pub fn is_new(&self) -> bool {
        matches!(self, Inserted::New(_))
    }
}
