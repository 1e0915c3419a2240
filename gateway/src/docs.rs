//! The gateway's OpenAPI document, built from its handlers, with the problems and headers every
//! public operation shares; and the services' specs, served for the docs page.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use nfip_kit::auth::API_KEY_HEADER;
use nfip_kit::spec::About;
use nfip_kit::{Problem, ProblemType};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;
use crate::{api, clients, error};

/// The two ways to present the API key: `x-api-key`, or `Authorization: Bearer`.
fn declare_security_schemes(openapi: &mut utoipa::openapi::OpenApi) {
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "api_key",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            API_KEY_HEADER,
            "An API key issued to the client",
        ))),
    );
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("The same API key, as `Authorization: Bearer <key>`"))
                .build(),
        ),
    );
}

const ABOUT: About = About {
    title: "nfip gateway",
    version: "2.2.0",
    description: "The public API of the nfip flood insurance program: buy a policy in one \
                  call (`POST /purchase`), look up flood risk, read policies and invoices, \
                  pay invoices. Authenticate with an API key (`x-api-key` or \
                  `Authorization: Bearer`). Errors are RFC 9457 problem details \
                  (`application/problem+json`) with a stable `type`; when a service behind \
                  the gateway fails, `upstream` names it.",
    local_port: 8080,
    tags: &[
        ("purchase", "Buying a policy"),
        ("risk", "Flood risk lookups"),
        ("policies", "Policies"),
        ("invoices", "Invoices and payments"),
    ],
};

/// The authenticated API.
pub fn public_routes() -> OpenApiRouter<AppState> {
    let mut router = ABOUT
        .router()
        .routes(routes!(api::purchase))
        .routes(routes!(api::get_risk))
        .routes(routes!(api::get_policy))
        .routes(routes!(api::get_invoice))
        .routes(routes!(api::pay_invoice));
    declare_security_schemes(router.get_openapi_mut());
    declare_gateway_problems(router.get_openapi_mut());
    router
}

pub fn ops_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}

/// Every public operation may be refused for credentials (401) or for its client's rate (429),
/// and may fail because of a service behind it (502, 503, 504). Every answer carries the
/// client's rate limit (`RateLimit-Policy`, `RateLimit`).
fn declare_gateway_problems(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
    let problems = gateway_problems();
    for operation in nfip_kit::service::operations_mut(openapi) {
        for (status, description, example) in &problems {
            operation
                .responses
                .responses
                .entry((*status).to_owned())
                .or_insert_with(|| nfip_kit::service::problem_response(description, example));
        }
        for (status, response) in &mut operation.responses.responses {
            if let RefOr::T(response) = response {
                declare_rate_headers(status, response);
            }
        }
    }
}

/// The problems every public operation may answer: status, description, example.
fn gateway_problems() -> [(&'static str, &'static str, Problem); 5] {
    use error::{UPSTREAM_BAD_RESPONSE, UPSTREAM_TIMEOUT, UPSTREAM_UNAVAILABLE};
    [
        (
            "401",
            "Missing or invalid API key",
            Problem::new(ProblemType::UNAUTHORIZED).detail("the API key is not valid"),
        ),
        (
            "429",
            "This client made too many requests; retry after `Retry-After` seconds",
            Problem::new(clients::TOO_MANY_REQUESTS).detail(
                "this client may make 50 requests a second (bursts of 100); retry in 1 s",
            ),
        ),
        (
            "502",
            "A service behind the gateway answered outside its contract, or failed",
            Problem::new(UPSTREAM_BAD_RESPONSE)
                .detail("billing answered outside its contract: create_invoice 201: expected value at line 1 column 1")
                .upstream("billing"),
        ),
        (
            "503",
            "A service behind the gateway is unavailable (or failing, and not called for a moment)",
            Problem::new(UPSTREAM_UNAVAILABLE)
                .detail("billing is unreachable: no connection could be made")
                .upstream("billing"),
        ),
        (
            "504",
            "A service behind the gateway did not answer in time",
            Problem::new(UPSTREAM_TIMEOUT)
                .detail("billing did not answer in time")
                .upstream("billing"),
        ),
    ]
}

/// The rate-limit headers of a success or a 429, and a 429's `Retry-After`.
fn declare_rate_headers(status: &str, response: &mut utoipa::openapi::Response) {
    use utoipa::openapi::{HeaderBuilder, Type, schema::ObjectBuilder};
    if !(status.starts_with('2') || status == "429") {
        return;
    }
    let text = || ObjectBuilder::new().schema_type(Type::String).build();
    let rate_headers = [
        (
            "RateLimit-Policy",
            "The client's quota (IETF RateLimit headers): `\"per-client\";q=<requests>;w=<seconds>`",
        ),
        (
            "RateLimit",
            "What is left of it: `\"per-client\";r=<remaining>;t=<seconds until full>`",
        ),
    ];
    for (name, description) in rate_headers {
        response.headers.insert(
            name.to_owned(),
            HeaderBuilder::new()
                .schema(Some(text()))
                .description(Some(description))
                .build()
                .into(),
        );
    }
    if status == "429" {
        response.headers.insert(
            String::from("Retry-After"),
            HeaderBuilder::new()
                .schema(Some(
                    ObjectBuilder::new().schema_type(Type::Integer).build(),
                ))
                .description(Some("Seconds until a request will be taken again"))
                .build()
                .into(),
        );
    }
}

/// The gateway's OpenAPI document, as committed in `openapi/gateway.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    nfip_kit::service::openapi(public_routes().merge(ops_routes()))
}

/// The services' published specs, served for the docs page's selector.
pub const SERVICE_SPECS: [(&str, &str); 4] = [
    ("risk", include_str!("../../openapi/risk.json")),
    ("policy", include_str!("../../openapi/policy.json")),
    ("billing", include_str!("../../openapi/billing.json")),
    (
        "notification",
        include_str!("../../openapi/notification.json"),
    ),
];

pub async fn service_spec(Path(file): Path<String>) -> axum::response::Response {
    let spec = SERVICE_SPECS
        .iter()
        .find(|(name, _)| file.strip_suffix(".json") == Some(name));
    match spec {
        Some((_, json)) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            *json,
        )
            .into_response(),
        None => Problem::not_found(format!("no spec named {file}")).into_response(),
    }
}
