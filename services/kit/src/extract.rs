//! Extractors whose rejections are problems: a bad request is answered with a 4xx
//! `application/problem+json` that names what is wrong, never with axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::problem::{Problem, ProblemType};

/// JSON body extractor and response. Rejections:
/// 415 when the content type is not JSON, 413 over the body limit, 400 when the bytes are not
/// JSON, 422 when the JSON does not fit the type (wrong type, missing or unknown field, unknown
/// enum value) with a JSON pointer to the field.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_json_content_type(&req) {
            return Err(Problem::new(ProblemType::UNSUPPORTED_MEDIA_TYPE)
                .detail("send the body as JSON with `content-type: application/json`"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(ProblemType::PAYLOAD_TOO_LARGE).detail(rejection.body_text())
            } else if crate::serve::is_body_timeout(&rejection) {
                Problem::new(ProblemType::REQUEST_TIMEOUT)
                    .detail("the body did not arrive in full in time")
            } else {
                Problem::new(ProblemType::MALFORMED_REQUEST).detail(rejection.body_text())
            }
        })?;
        from_json_slice(&bytes).map(Json)
    }
}

/// Deserializes a JSON document, turning each failure into the problem a client should see.
pub fn from_json_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    // A body that fits is read once; only a refused one is read again, to say why.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    // Syntax first, so a broken document is a 400 even where its start already mistypes a field.
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(|error| {
        Problem::new(ProblemType::MALFORMED_REQUEST)
            .detail(format!("the body is not valid JSON: {error}"))
    })?;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| body_problem(error.path(), error.inner()))?;
    Ok(value)
}

fn body_problem(path: &serde_path_to_error::Path, error: &serde_json::Error) -> Problem {
    use serde_json::error::Category;
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            Problem::new(ProblemType::MALFORMED_REQUEST)
                .detail(format!("the body is not valid JSON: {error}"))
        }
        Category::Data => {
            let mut pointer = json_pointer(path);
            let message = strip_position(&error.to_string());
            // serde reports a missing field at its parent: point at the field itself.
            if let Some(field) = backticked_after(&message, "missing field ") {
                push_token(&mut pointer, field);
            }
            let detail = if pointer.is_empty() {
                message.clone()
            } else {
                format!("{pointer}: {message}")
            };
            Problem::new(ProblemType::VALIDATION)
                .detail(detail)
                .error(pointer, message)
        }
    }
}

/// Appends `/` and `token`, escaped as a JSON-pointer reference token (`~` as `~0`, `/` as `~1`).
fn push_token(pointer: &mut String, token: &str) {
    pointer.push('/');
    pointer.push_str(&token.replace('~', "~0").replace('/', "~1"));
}

fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
            Segment::Map { key } | Segment::Enum { variant: key } => push_token(&mut pointer, key),
            Segment::Unknown => {}
        }
    }
    pointer
}

/// `serde_json` ends data errors with " at line 1 column 20"; the pointer says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

fn backticked_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?.strip_prefix('`')?;
    rest.split('`').next()
}

fn has_json_content_type(req: &Request) -> bool {
    let Some(content_type) = req.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(content_type) = content_type.to_str() else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters; a value that does not parse is a 400 naming the parameter.
#[derive(Debug, Clone, Copy)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(error)) => {
                use axum::extract::path::ErrorKind;
                let (name, detail) = match error.kind() {
                    ErrorKind::ParseErrorAtKey {
                        key,
                        value,
                        expected_type,
                    } => (
                        key.clone(),
                        format!("`{value}` is not a valid {}", friendly(expected_type)),
                    ),
                    ErrorKind::ParseError {
                        value,
                        expected_type,
                    } => (
                        String::from("path"),
                        format!("`{value}` is not a valid {}", friendly(expected_type)),
                    ),
                    ErrorKind::DeserializeError {
                        key,
                        value,
                        message,
                    } => (key.clone(), format!("`{value}` is not valid: {message}")),
                    ErrorKind::InvalidUtf8InPathParam { key } => {
                        (key.clone(), String::from("the value is not valid UTF-8"))
                    }
                    _ => (String::from("path"), error.body_text()),
                };
                Err(Problem::invalid_parameter(name, detail))
            }
            Err(other) => Err(Problem::internal(other.body_text())),
        }
    }
}

fn friendly(type_name: &str) -> &str {
    match type_name.rsplit("::").next().unwrap_or(type_name) {
        "Uuid" => "UUID",
        "u32" | "u64" | "i32" | "i64" | "usize" => "integer",
        other => other,
    }
}

/// Query parameters; a missing or invalid one is a 400 naming it.
#[derive(Debug, Clone, Copy)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection: QueryRejection| {
                let text = rejection.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text)
                    .to_owned();
                let name = detail
                    .split_once(": ")
                    .map(|(name, _)| name.to_owned())
                    .or_else(|| backticked_after(&detail, "missing field ").map(str::to_owned))
                    .unwrap_or_else(|| String::from("query"));
                Problem::invalid_parameter(name, detail)
            })
    }
}

/// The `Idempotency-Key` request header, when present: 1 to 255 printable ASCII characters.
/// A request repeated with the same key acts once; an invalid key is a 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(IDEMPOTENCY_KEY) else {
            return Ok(IdempotencyKey(None));
        };
        let valid = value.to_str().ok().filter(|key| {
            (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
        });
        match valid {
            Some(key) => Ok(IdempotencyKey(Some(key.to_owned()))),
            None => Err(Problem::invalid_parameter(
                "Idempotency-Key",
                "the Idempotency-Key header must be 1 to 255 printable ASCII characters",
            )),
        }
    }
}

/// The `Idempotency-Key` header in a spec, optional: `params(nfip_kit::IdempotencyKeyHeader)`.
pub struct IdempotencyKeyHeader;

/// The `Idempotency-Key` header in a spec, required: `params(nfip_kit::RequiredIdempotencyKeyHeader)`.
pub struct RequiredIdempotencyKeyHeader;

fn idempotency_parameter(required: bool) -> utoipa::openapi::path::Parameter {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::{ObjectBuilder, Required, Type};
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(
            "Makes retries safe: a repeat with the same key and body answers the first answer \
             and acts no more; the same key with another body is refused (422 \
             `idempotency-key-reused`). 1 to 255 printable ASCII characters; make a new one \
             for each operation, e.g. a UUID.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(255))
                .pattern(Some("^[!-~]{1,255}$")),
        ))
        .build()
}

impl utoipa::IntoParams for IdempotencyKeyHeader {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        vec![idempotency_parameter(false)]
    }
}

impl utoipa::IntoParams for RequiredIdempotencyKeyHeader {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        vec![idempotency_parameter(true)]
    }
}

impl IdempotencyKey {
    /// The key, or a 400 saying the operation needs one.
    pub fn required(self) -> Result<String, Problem> {
        self.0.ok_or_else(|| {
            Problem::invalid_parameter(
                "Idempotency-Key",
                "this operation needs an Idempotency-Key header, so a retry cannot act twice",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        contact: Contact,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Contact {
        email: Option<String>,
        kind: Kind,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Home,
    }

    fn problem(json: &str) -> Problem {
        from_json_slice::<Body>(json.as_bytes()).unwrap_err()
    }

    #[test]
    fn syntax_errors_are_400() {
        let p = problem("{\"name\": ");
        assert_eq!(p.status, 400);
        assert!(p.is(ProblemType::MALFORMED_REQUEST));
    }

    #[test]
    fn missing_field_points_at_the_field() {
        assert!(from_json_slice::<Body>(br#"{"name": "a", "contact": {"kind": "home"}}"#).is_ok());
        let p = problem(r#"{"name": "a", "contact": {"email": "x@y"}}"#);
        assert_eq!(p.status, 422);
        assert_eq!(p.errors[0].pointer, "/contact/kind");
        assert_eq!(p.errors[0].detail, "missing field `kind`");
    }

    #[test]
    fn wrong_type_unknown_field_and_unknown_variant_are_422_with_pointers() {
        let p = problem(r#"{"name": 5, "contact": {"kind": "home"}}"#);
        assert_eq!((p.status, p.errors[0].pointer.as_str()), (422, "/name"));
        let p = problem(r#"{"name": "a", "contact": {"kind": "home", "fax": 1}}"#);
        assert_eq!(p.errors[0].pointer, "/contact/fax");
        let p = problem(r#"{"name": "a", "contact": {"kind": "boat"}}"#);
        assert_eq!(p.errors[0].pointer, "/contact/kind");
        assert!(
            p.errors[0].detail.contains("unknown variant `boat`"),
            "{p:?}"
        );
    }

    #[test]
    fn trailing_garbage_and_truncation_are_400() {
        let p = problem(r#"{"name": "a", "contact": {"kind": "home"}} x"#);
        assert_eq!(p.status, 400);
        let p = problem("[1, 2");
        assert_eq!(p.status, 400, "not 422, though a list is not a Body");
    }
}
