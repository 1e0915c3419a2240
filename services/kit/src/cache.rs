//! HTTP caching for reads, on every process: each `200` answer to a `GET` carries an `ETag` (a
//! hash of its body) and a `Cache-Control`; a `GET` whose `If-None-Match` names the current
//! `ETag` is answered `304 Not Modified`, without the body. Each `GET` of every spec declares
//! it ([`declare`]).

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{HeaderBuilder, RefOr, Required, ResponseBuilder};

use crate::Problem;

/// The largest body it hashes; a larger one is answered as it is, without an `ETag`.
const LARGEST: usize = 4 << 20;

/// What a copy of an answer may be used for, unless the handler said: a cache (a browser's)
/// may keep it, but must ask again, with `If-None-Match`, before using it; and it is this
/// client's (answers depend on the credential).
const REVALIDATE: &str = "private, no-cache";

/// The middleware.
pub async fn etag(request: Request, next: Next) -> Response {
    let is_get = request.method() == Method::GET;
    let if_none_match = request.headers().get(IF_NONE_MATCH).cloned();
    let response = next.run(request).await;
    if !is_get || response.status() != StatusCode::OK {
        return response;
    }
    // Only a body of known size within bounds: a stream, or a larger one, is answered as is.
    let size = http_body::Body::size_hint(response.body()).upper();
    if size.is_none_or(|size| size > LARGEST as u64) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, LARGEST).await {
        Ok(bytes) => bytes,
        Err(error) => {
            return Problem::internal(format!("reading the answer: {error}")).into_response();
        }
    };
    // A fast hash, portable and stable across versions: a tag names a version, it protects
    // nothing (SHA-256 of the risk answer was a quarter of that service's CPU). Weak: the same
    // answer compressed or not (compression wraps this) is the same version.
    let tag = format!("W/\"{:016x}\"", rapidhash::v3::rapidhash_v3(&bytes));
    let tag = HeaderValue::from_str(&tag).expect("hex is a header value");
    parts.headers.insert(ETAG, tag.clone());
    parts
        .headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static(REVALIDATE));
    if if_none_match.is_some_and(|asked| names(&asked, &tag)) {
        let mut headers = HeaderMap::new();
        for name in [ETAG, CACHE_CONTROL] {
            if let Some(value) = parts.headers.get(&name) {
                headers.insert(name, value.clone());
            }
        }
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Whether an `If-None-Match` names `tag`: `*`, or a list of tags, compared weakly (with or
/// without `W/`), as RFC 9110 says for `If-None-Match`.
fn names(if_none_match: &HeaderValue, tag: &HeaderValue) -> bool {
    let (Ok(asked), Ok(tag)) = (if_none_match.to_str(), tag.to_str()) else {
        return false;
    };
    let opaque = |tag: &str| tag.strip_prefix("W/").unwrap_or(tag).to_owned();
    asked
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || opaque(candidate) == opaque(tag))
}

/// Declares it on a `GET` operation: the `If-None-Match` parameter, the `ETag` and
/// `Cache-Control` of its `200`, and the `304`.
pub fn declare(operation: &mut Operation) {
    let text = || ObjectBuilder::new().schema_type(Type::String).build();
    let parameters = operation.parameters.get_or_insert_with(Vec::new);
    parameters.push(
        ParameterBuilder::new()
            .name("If-None-Match")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "The `ETag` of a copy the client holds: if it is still current, the answer is \
                 304, without a body",
            ))
            .schema(Some(text()))
            .build()
            .into(),
    );
    let responses = &mut operation.responses.responses;
    if let Some(RefOr::T(ok)) = responses.get_mut("200") {
        ok.headers.insert(
            String::from("ETag"),
            HeaderBuilder::new()
                .schema(Some(text()))
                .description(Some(
                    "Names this version of the answer; send it back as `If-None-Match`",
                ))
                .build()
                .into(),
        );
        ok.headers.insert(
            String::from("Cache-Control"),
            HeaderBuilder::new()
                .schema(Some(text()))
                .description(Some(
                    "`private, no-cache`: a copy may be kept, but checked with `If-None-Match` \
                     before it is used",
                ))
                .build()
                .into(),
        );
    }
    responses.entry(String::from("304")).or_insert_with(|| {
        ResponseBuilder::new()
            .description(
                "Not modified: the copy the client holds, named by `If-None-Match`, is current",
            )
            .header("ETag", HeaderBuilder::new().schema(Some(text())).build())
            .build()
            .into()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_names_a_tag_in_a_list_weakly_or_with_a_star() {
        let tag = HeaderValue::from_static("W/\"abc\"");
        for asked in ["\"abc\"", "W/\"abc\"", "\"x\", W/\"abc\"", "*"] {
            assert!(names(&HeaderValue::from_static(asked), &tag), "{asked}");
        }
        for asked in ["\"abd\"", "abc", ""] {
            assert!(!names(&HeaderValue::from_static(asked), &tag), "{asked}");
        }
    }
}
