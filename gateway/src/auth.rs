//! Client authentication: an API key, sent as `x-api-key: <key>` or
//! `Authorization: Bearer <key>`. Keys come from configuration; a request without a valid one
//! is answered 401 before it reaches a handler, so it changes nothing.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use nfip_kit::Problem;

use crate::error::UNAUTHORIZED;

pub const API_KEY_HEADER: &str = "x-api-key";

/// The accepted keys.
#[derive(Clone)]
pub struct ApiKeys(Arc<[String]>);

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({} keys, redacted)", self.0.len())
    }
}

impl ApiKeys {
    pub fn new(keys: impl IntoIterator<Item = String>) -> ApiKeys {
        ApiKeys(
            keys.into_iter()
                .map(|key| key.trim().to_owned())
                .filter(|key| !key.is_empty())
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn accepts(&self, presented: &str) -> bool {
        // Compare every key in full, so timing does not tell how much of a guess was right.
        self.0.iter().fold(false, |found, key| {
            found | constant_time_eq(key.as_bytes(), presented.as_bytes())
        })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

fn presented(headers: &HeaderMap) -> Option<&str> {
    if let Some(key) = headers.get(API_KEY_HEADER) {
        return key.to_str().ok();
    }
    let authorization = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = authorization.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Middleware: lets a request with a valid key through; answers 401 otherwise.
pub async fn require_api_key(
    State(keys): State<ApiKeys>,
    request: Request,
    next: Next,
) -> Response {
    let detail = match presented(request.headers()) {
        Some(key) if keys.accepts(key) => return next.run(request).await,
        Some(_) => "the API key is not valid",
        None => "send an API key as `x-api-key: <key>` or `Authorization: Bearer <key>`",
    };
    let mut response = Problem::new(UNAUTHORIZED).detail(detail).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"nfip\""),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_either_header_and_only_known_keys() {
        let keys = ApiKeys::new(["k1".to_owned(), " k2 ".to_owned(), String::new()]);
        assert!(keys.accepts("k1") && keys.accepts("k2"));
        assert!(!keys.accepts("k3") && !keys.accepts("k") && !keys.accepts(""));
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer k2"));
        assert_eq!(presented(&headers), Some("k2"));
        headers.insert(API_KEY_HEADER, HeaderValue::from_static("k1"));
        assert_eq!(presented(&headers), Some("k1"));
        let mut basic = HeaderMap::new();
        basic.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic azE6"),
        );
        assert_eq!(presented(&basic), None);
    }
}
