//! RFC 9457 problem details: the one error format every nfip service and the gateway answer with.

use std::fmt;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::context;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A kind of problem: its stable `type` URI (`urn:nfip:problem:<slug>`), a short title and the
/// HTTP status it is answered with. Services define their own kinds beside these generic ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemType {
    pub slug: &'static str,
    pub title: &'static str,
    pub status: StatusCode,
}

impl ProblemType {
    pub const fn new(slug: &'static str, title: &'static str, status: StatusCode) -> Self {
        Self {
            slug,
            title,
            status,
        }
    }

    pub const MALFORMED_REQUEST: Self = Self::new(
        "malformed-request",
        "The request could not be read",
        StatusCode::BAD_REQUEST,
    );
    pub const INVALID_PARAMETER: Self = Self::new(
        "invalid-parameter",
        "A path or query parameter is invalid",
        StatusCode::BAD_REQUEST,
    );
    pub const VALIDATION: Self = Self::new(
        "validation",
        "The request body is not valid",
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    pub const NOT_FOUND: Self = Self::new("not-found", "Not found", StatusCode::NOT_FOUND);
    pub const METHOD_NOT_ALLOWED: Self = Self::new(
        "method-not-allowed",
        "Method not allowed",
        StatusCode::METHOD_NOT_ALLOWED,
    );
    pub const CONFLICT: Self = Self::new(
        "conflict",
        "The request conflicts with the resource's state",
        StatusCode::CONFLICT,
    );
    pub const PAYLOAD_TOO_LARGE: Self = Self::new(
        "payload-too-large",
        "The request body is too large",
        StatusCode::PAYLOAD_TOO_LARGE,
    );
    pub const UNSUPPORTED_MEDIA_TYPE: Self = Self::new(
        "unsupported-media-type",
        "The request body must be application/json",
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    );
    pub const IDEMPOTENCY_KEY_REUSED: Self = Self::new(
        "idempotency-key-reused",
        "The idempotency key was already used for a different request",
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    pub const INTERNAL: Self = Self::new(
        "internal",
        "Internal error",
        StatusCode::INTERNAL_SERVER_ERROR,
    );
    pub const UNAVAILABLE: Self = Self::new(
        "unavailable",
        "Service unavailable",
        StatusCode::SERVICE_UNAVAILABLE,
    );
    pub const UNAUTHORIZED: Self = Self::new(
        "unauthorized",
        "Missing or invalid credentials",
        StatusCode::UNAUTHORIZED,
    );
    pub const REQUEST_TIMEOUT: Self = Self::new(
        "request-timeout",
        "The request did not arrive in time",
        StatusCode::REQUEST_TIMEOUT,
    );
    pub const URI_TOO_LONG: Self = Self::new(
        "uri-too-long",
        "The request target is too long",
        StatusCode::URI_TOO_LONG,
    );
    pub const HEADERS_TOO_LARGE: Self = Self::new(
        "headers-too-large",
        "The request headers are too large",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
    );

    /// The `type` member: a URN, stable across releases, that clients may match on.
    pub fn uri(&self) -> String {
        format!("urn:nfip:problem:{}", self.slug)
    }
}

/// An RFC 9457 problem details object (`application/problem+json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:nfip:problem:not-found",
    "title": "Not found",
    "status": 404,
    "detail": "no policy with id 0192f0c1-7d4e-7cc2-9a8e-2f1d2b9a4c11",
    "request_id": "5f0c6c1e-3c59-4a43-9c55-2a8f0f2b7d11"
}))]
pub struct Problem {
    /// A URI identifying the kind of problem (`urn:nfip:problem:<slug>`); stable, match on it.
    #[serde(rename = "type")]
    #[schema(format = "uri")]
    pub type_: String,
    /// A short summary of the kind of problem; the same for every occurrence of a type.
    pub title: String,
    /// The HTTP status code of this response.
    #[schema(minimum = 100, maximum = 599)]
    pub status: u16,
    /// What went wrong this time, for a human.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub detail: Option<String>,
    /// The request id (`x-request-id`) to quote when asking about this error; find it in the logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub request_id: Option<String>,
    /// The upstream service that caused the problem, when the answer comes from the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub upstream: Option<String>,
    /// Each invalid field or parameter, when the request was rejected for its content.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One invalid part of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// JSON pointer (RFC 6901) into the request body, e.g. `/contact/email`; for a path or
    /// query parameter, its name, e.g. `zipcode`.
    pub pointer: String,
    /// What is wrong with it.
    pub detail: String,
}

impl Problem {
    pub fn new(kind: ProblemType) -> Self {
        Self {
            type_: kind.uri(),
            title: kind.title.to_owned(),
            status: kind.status.as_u16(),
            detail: None,
            request_id: None,
            upstream: None,
            errors: Vec::new(),
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn upstream(mut self, upstream: impl Into<String>) -> Self {
        self.upstream = Some(upstream.into());
        self
    }

    pub fn error(mut self, pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        self.errors.push(FieldError {
            pointer: pointer.into(),
            detail: detail.into(),
        });
        self
    }

    /// A 422 naming one invalid field of the body.
    pub fn invalid_field(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::invalid_fields([(pointer, detail)])
    }

    /// A 422 naming every invalid field of the body: `(pointer, what is wrong)` pairs.
    pub fn invalid_fields<P: Into<String>, M: Into<String>>(
        errors: impl IntoIterator<Item = (P, M)>,
    ) -> Self {
        let errors: Vec<FieldError> = errors
            .into_iter()
            .map(|(pointer, detail)| FieldError {
                pointer: pointer.into(),
                detail: detail.into(),
            })
            .collect();
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.pointer, e.detail))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            errors,
            ..Self::new(ProblemType::VALIDATION).detail(detail)
        }
    }

    /// A 400 naming one invalid path or query parameter.
    pub fn invalid_parameter(name: impl Into<String>, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        Self::new(ProblemType::INVALID_PARAMETER)
            .detail(detail.clone())
            .error(name, detail)
    }

    /// `422`: the `Idempotency-Key` was used for another request.
    pub fn key_reused(detail: impl Into<String>) -> Problem {
        Problem::new(ProblemType::IDEMPOTENCY_KEY_REUSED).detail(detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ProblemType::NOT_FOUND).detail(detail)
    }

    /// A 500 whose cause is logged (with the request id) and never sent to the client.
    pub fn internal(cause: impl fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ProblemType::INTERNAL)
            .detail("an internal error occurred; quote the request id when reporting it")
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// Whether this problem is of the given kind.
    pub fn is(&self, kind: ProblemType) -> bool {
        self.type_ == kind.uri()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.title, self.status)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

impl IntoResponse for Problem {
    fn into_response(mut self) -> Response {
        if self.request_id.is_none() {
            self.request_id = context::current_request_id();
        }
        let status = self.status();
        let body = serde_json::to_vec(&self).expect("a problem always serializes");
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status.is_server_error() {
            // For the access log, which says each 5xx once, with what went wrong.
            let detail = self.detail.unwrap_or_else(|| self.title.clone());
            response.extensions_mut().insert(ServerProblem(detail));
        }
        response
    }
}

/// What a 5xx answer said went wrong, for the access log.
#[derive(Debug, Clone)]
pub struct ServerProblem(pub String);

/// Fallback for unknown routes: 404 problem.
pub async fn route_not_found(uri: axum::http::Uri) -> Problem {
    Problem::not_found(format!("no route for {}", uri.path()))
}

/// Fallback for a known route called with a method it does not serve: 405 problem.
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Problem {
    Problem::new(ProblemType::METHOD_NOT_ALLOWED)
        .detail(format!("{} does not accept {method}", uri.path()))
}

/// Declares a problem response for `#[utoipa::path(responses(...))]`: a type that stands for
/// `(status = ..., description = ..., body = Problem, content_type = "application/problem+json")`,
/// for a response several operations declare.
///
/// ```ignore
/// nfip_kit::problem_response!(
///     /// `404`: no invoice has the id.
///     NoInvoice, 404, "No invoice has this id"
/// );
/// #[utoipa::path(get, path = "/api/invoices/{id}", responses((status = 200, body = Invoice), BadId, NoInvoice))]
/// ```
#[macro_export]
macro_rules! problem_response {
    ($(#[$meta:meta])* $name:ident, $status:literal, $description:literal) => {
        $(#[$meta])*
        #[derive(utoipa::IntoResponses)]
        #[response(status = $status, description = $description, content_type = "application/problem+json")]
        pub struct $name(#[allow(dead_code)] pub $crate::Problem);
    };
}

problem_response!(
    /// `400`: the id in the path is not a UUID.
    BadId,
    400,
    "The id is not a UUID"
);

problem_response!(
    /// `400`: the ZIP code is not five digits.
    BadZip,
    400,
    "The ZIP code is not five digits"
);
