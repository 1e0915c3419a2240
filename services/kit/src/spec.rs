//! The OpenAPI document as a committed file: how it is written (the drift check is
//! `nfip_kit_test::assert_committed`).

use utoipa::openapi::OpenApi;

/// The document as committed under `openapi/` and served at `/openapi.json`: pretty JSON,
/// ending in a newline.
pub fn to_json(openapi: &OpenApi) -> String {
    let mut json = serde_json::to_string_pretty(openapi).expect("an OpenAPI document serializes");
    json.push('\n');
    json
}
