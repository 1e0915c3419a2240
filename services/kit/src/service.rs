//! Assembling a service: its API routes plus what every service serves — `/healthz`,
//! `/readyz`, `/openapi.json`, Swagger UI at `/docs` — behind the same middleware.

use std::any::Any;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router, middleware};
use tower::{Layer, Service, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::openapi::path::Operation;
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{OpenApi, Ref};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::{Config, SwaggerUi, Url};

use crate::auth::{self, Authenticator, Callers, Presented};
use crate::db::Db;
use crate::problem::{self, PROBLEM_JSON, Problem, ProblemType};
use crate::{context, health, spec};

/// What every service takes besides its own settings: whom it trusts, how it serves, what it
/// logs.
#[derive(Debug, Clone, clap::Args)]
pub struct ServiceArgs {
    #[command(flatten)]
    pub callers: crate::auth::CallerArgs,

    #[command(flatten)]
    pub serve: crate::serve::ServeArgs,

    #[command(flatten)]
    pub db: crate::db::DbArgs,

    #[command(flatten)]
    pub cors: CorsArgs,

    #[command(flatten)]
    pub log: crate::telemetry::LogArgs,
}

impl ServiceArgs {
    /// The service `name`'s process, for its `main`.
    pub fn process(
        &self,
        name: &'static str,
        listen: std::net::SocketAddr,
        print_openapi: bool,
        openapi: fn() -> OpenApi,
    ) -> crate::serve::Process {
        crate::serve::Process {
            name,
            listen,
            print_openapi,
            openapi,
            serve: self.serve.clone(),
            db: self.db.clone(),
            log: self.log.clone(),
        }
    }

    /// Serves `app` as the service `name` on `listen`, with the CORS and connection settings,
    /// until told to stop.
    pub async fn serve(
        &self,
        name: &str,
        listen: std::net::SocketAddr,
        app: Router,
    ) -> Result<(), String> {
        let app = self.cors.apply(app)?;
        crate::serve::run(name, listen, app, self.serve.limits()).await
    }
}

/// A service's `main`: parses its `Cli` (which has `listen`, `print_openapi` and the
/// [`ServiceArgs`] as `service`) and runs `run(cli)` as the [`Process`](crate::serve::Process)
/// `name`, whose spec is `openapi()`.
#[macro_export]
macro_rules! main {
    ($name:literal, $openapi:path, $run:path) => {
        #[global_allocator]
        static ALLOCATOR: $crate::Allocator = $crate::Allocator;

        #[tokio::main]
        async fn main() -> std::process::ExitCode {
            let cli = <Cli as clap::Parser>::parse();
            let process = cli
                .service
                .process($name, cli.listen, cli.print_openapi, $openapi);
            process.main($run(cli)).await
        }
    };
}

/// Request bodies larger than this are refused with 413. Every compactly written body that its
/// schema accepts fits: the largest, a notification of 20,000 characters sent entirely as
/// `\uXXXX\uXXXX` escapes, is about 245,000 bytes.
pub const BODY_LIMIT: usize = 256 * 1024;

/// A service's complete OpenAPI document: its operations plus the health operations.
pub fn openapi<S: Clone + Send + Sync + 'static>(api: OpenApiRouter<S>) -> OpenApi {
    split(api).1
}

fn split<S: Clone + Send + Sync + 'static>(api: OpenApiRouter<S>) -> (Router<S>, OpenApi) {
    let (router, mut openapi) = api
        .merge(health::routes())
        .merge(crate::metrics::routes())
        .split_for_parts();
    declare_standard_problems(&mut openapi);
    (router, openapi)
}

/// Every operation can fail in ways the framework, not the handler, decides: a 500, and for
/// operations that take input, the 4xx answers of the extractors. Declares them where the
/// handler did not, so the spec lists every status a client can see.
fn declare_standard_problems(openapi: &mut OpenApi) {
    let tags = openapi.tags.get_or_insert_with(Vec::new);
    if !tags.iter().any(|tag| tag.name == "ops") {
        tags.push(
            TagBuilder::new()
                .name("ops")
                .description(Some(
                    "Health of the process, for orchestrators and load balancers",
                ))
                .build(),
        );
    }
    for (path, item) in openapi.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            declare_for(path, operation);
        }
        if let Some(read) = item.get.as_mut() {
            crate::cache::declare(read);
        }
    }
}

/// The 422 of a body that does not fit its schema.
fn invalid_body() -> Problem {
    Problem::new(ProblemType::VALIDATION)
        .detail("a field is missing, has the wrong type or breaks a rule; `errors` points at each")
}

/// The body's malformed-JSON problem, the example of every 400 an operation with a body declares.
fn malformed_body() -> Problem {
    Problem::new(ProblemType::MALFORMED_REQUEST)
        .detail("the body is not valid JSON: EOF while parsing an object at line 1 column 12")
}

/// A refusal of `operation`'s first parameter, as its extractor words it.
fn invalid_parameter(operation: &Operation) -> Option<Problem> {
    use utoipa::openapi::schema::{KnownFormat, SchemaFormat};
    let utoipa::openapi::RefOr::T(parameter) = operation.parameters.as_ref()?.first()? else {
        return None;
    };
    let name = parameter.name.as_str();
    let is_uuid = matches!(
        &parameter.schema,
        Some(utoipa::openapi::RefOr::T(utoipa::openapi::Schema::Object(object)))
            if object.format == Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))
    );
    Some(
        if name.eq_ignore_ascii_case(crate::extract::IDEMPOTENCY_KEY) {
            Problem::invalid_parameter(
                "Idempotency-Key",
                "the Idempotency-Key header must be 1 to 255 printable ASCII characters",
            )
        } else if is_uuid {
            Problem::invalid_parameter(name, "`42` is not valid: UUID parsing failed")
        } else {
            Problem::invalid_parameter(name, format!("`{name}` is missing or invalid"))
        },
    )
}

/// The example of a problem response its handler declared without one: the problem the kit
/// answers with for that status, worded from the operation.
fn example_for(
    status: &str,
    path: &str,
    parameter: Option<&Problem>,
    description: &str,
) -> Problem {
    let said = {
        let mut text = description.to_owned();
        if let Some(first) = text.get(..1) {
            text.replace_range(..1, &first.to_lowercase());
        }
        text
    };
    match status {
        "400" => parameter.cloned().unwrap_or_else(malformed_body),
        "404" => {
            // `/api/invoices/{id}/payments` → "no invoice with id …": the collection the id is in.
            let segments: Vec<&str> = path.split('/').collect();
            let noun = segments
                .windows(2)
                .find(|pair| pair[1].starts_with('{'))
                .map(|pair| pair[0])
                .map(|plural| match plural.strip_suffix("ies") {
                    Some(stem) => format!("{stem}y"),
                    None => plural.strip_suffix('s').unwrap_or(plural).to_owned(),
                })
                .unwrap_or_default();
            Problem::not_found(format!(
                "no {noun} with id 0192f0c1-7d4e-7cc2-9a8e-2f1d2b9a4c11"
            ))
        }
        "409" => Problem::new(ProblemType::CONFLICT).detail(said),
        "422" => invalid_body(),
        "503" => Problem::new(ProblemType::UNAVAILABLE).detail("the database does not answer"),
        _ => Problem::new(ProblemType::INTERNAL).detail(said),
    }
}

fn declare_for(path: &str, operation: &mut Operation) {
    let has_body = operation.request_body.is_some();
    let parameter = invalid_parameter(operation);
    {
        let responses = &mut operation.responses.responses;
        let mut declare = |status: &str, description: &str, example: Problem| {
            responses
                .entry(status.to_owned())
                .or_insert_with(|| problem_response(description, &example));
        };
        match (has_body, parameter.clone()) {
            (true, Some(_)) => declare(
                "400",
                "The body is not valid JSON, or a parameter is invalid (`errors` names it)",
                malformed_body(),
            ),
            (true, None) => declare("400", "The body is not valid JSON", malformed_body()),
            (false, Some(parameter)) => declare("400", "A parameter is invalid", parameter),
            (false, None) => {}
        }
        if has_body {
            declare(
                "413",
                "The body is larger than 256 KiB",
                Problem::new(ProblemType::PAYLOAD_TOO_LARGE).detail("length limit exceeded"),
            );
            declare(
                "415",
                "The body is not sent as `application/json`",
                Problem::new(ProblemType::UNSUPPORTED_MEDIA_TYPE)
                    .detail("send the body as JSON with `content-type: application/json`"),
            );
            declare(
                "422",
                "The body does not fit the schema, or a value in it is invalid",
                invalid_body(),
            );
        }
        declare(
            "500",
            "Internal error; the cause is logged under the request id",
            Problem {
                request_id: Some(String::from("5f0c6c1e-3c59-4a43-9c55-2a8f0f2b7d11")),
                ..Problem::new(ProblemType::INTERNAL)
                    .detail("an internal error occurred; quote the request id when reporting it")
            },
        );
    }
    for (status, response) in &mut operation.responses.responses {
        let utoipa::openapi::RefOr::T(response) = response else {
            continue;
        };
        let description = response.description.clone();
        if let Some(utoipa::openapi::RefOr::T(content)) = response.content.get_mut(PROBLEM_JSON)
            && content.example.is_none()
            && content.examples.is_empty()
        {
            let example = example_for(status, path, parameter.as_ref(), &description);
            content.example = Some(serde_json::to_value(example).expect("a problem serializes"));
        }
    }
}

/// A service's API: every operation needs a trusted caller's credential,
/// `Authorization: Bearer <key>` (a 401 problem otherwise), and the spec says so.
pub fn internal<S: Clone + Send + Sync + 'static>(mut api: OpenApiRouter<S>) -> OpenApiRouter<S> {
    use utoipa::openapi::security::{
        HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
    };
    let openapi = api.get_openapi_mut();
    openapi
        .components
        .get_or_insert_with(Default::default)
        .add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "A key this service trusts (its `API_CALLERS`): the gateway's, in a deployment",
                ))
                .build(),
        ),
    );
    let unauthorized = Problem::new(ProblemType::UNAUTHORIZED)
        .detail("send a credential as `Authorization: Bearer <key>`");
    for operation in operations_mut(openapi) {
        operation.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
        operation
            .responses
            .responses
            .entry(String::from("401"))
            .or_insert_with(|| problem_response("Missing or untrusted credential", &unauthorized));
    }
    api
}

/// A service's complete OpenAPI document: its [`internal`] operations plus the health ones.
pub fn internal_openapi<S: Clone + Send + Sync + 'static>(api: OpenApiRouter<S>) -> OpenApi {
    openapi(internal(api))
}

/// A service's HTTP app: its [`internal`] API, which only `callers` may call, with its own
/// spec in Swagger UI.
pub fn app<S: Clone + Send + Sync + 'static>(
    api: OpenApiRouter<S>,
    state: S,
    db: Db,
    callers: Callers,
) -> Router {
    if callers.is_empty() {
        tracing::warn!("no caller is configured (API_CALLERS): every /api call will be refused");
    }
    let authenticator = Authenticator {
        callers,
        how: Presented::Bearer,
    };
    let api =
        internal(api).route_layer(middleware::from_fn_with_state(authenticator, auth::require));
    app_with_docs(api, state, db, Vec::new())
}

/// Like [`app`], with more specs listed in Swagger UI's selector (`(name, url)` pairs).
pub fn app_with_docs<S: Clone + Send + Sync + 'static>(
    api: OpenApiRouter<S>,
    state: S,
    db: Db,
    more_specs: Vec<Url<'static>>,
) -> Router {
    let (router, openapi) = split(api);
    let json: Arc<str> = spec::to_json(&openapi).into();
    let title = openapi.info.title.clone();
    let mut urls = vec![Url::with_primary(
        Box::leak(title.into_boxed_str()),
        "/openapi.json",
        true,
    )];
    urls.extend(more_specs);
    // The spec and the docs: cached an hour.
    let docs = Router::new()
        .route(
            "/openapi.json",
            get(move || {
                let json = Arc::clone(&json);
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        )],
                        json.to_string(),
                    )
                }
            }),
        )
        .merge(SwaggerUi::new("/docs").config(Config::new(urls)))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        ));
    // The shared middleware as one layer, so each route gets one box around it.
    // `Router::layer` boxes every route anew at each call, and a request clones the boxes
    // beneath each middleware it passes: called once per middleware, that was about 75 boxes
    // cloned per request, a fifth of a service's CPU.
    let shared = ServiceBuilder::new()
        .layer(middleware::from_fn(context::middleware))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(panic_problem))
        .layer(Extension(db))
        .layer(middleware::from_fn(crate::metrics::track))
        // Outside the ETag (a version is the same compressed or not), for whoever asks: gzip, br.
        .layer(CompressionLayer::new())
        .layer(middleware::from_fn(crate::cache::etag));
    router
        .with_state(state)
        .merge(docs)
        .fallback(problem::route_not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(shared)
}

/// `app` behind `layer`, once around the whole app: before routing, so the layer sees no
/// `MatchedPath`. For layers that need no route; each `Router::layer` call boxes every route
/// once more (see [`app_with_docs`]).
pub fn around<L>(app: Router, layer: L) -> Router
where
    L: Layer<Router>,
    L::Service: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
    <L::Service as Service<Request>>::Response: IntoResponse,
    <L::Service as Service<Request>>::Future: Send + 'static,
{
    Router::new().fallback_service(layer.layer(app))
}

/// Every operation of the document.
pub fn operations_mut(openapi: &mut OpenApi) -> impl Iterator<Item = &mut Operation> {
    openapi.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
    })
}

/// A response that is a problem, with `example` as its example.
pub fn problem_response(
    description: &str,
    example: &Problem,
) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    utoipa::openapi::ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            utoipa::openapi::content::ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .example(Some(
                    serde_json::to_value(example).expect("a problem serializes"),
                ))
                .build(),
        )
        .build()
        .into()
}

fn panic_problem(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    Problem::internal(format!("handler panicked: {message}")).into_response()
}

/// Which browser origins may call a service's API directly: none unless configured. Swagger UI
/// on the gateway's `/docs` can then "Try it out" against each service, in development.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CorsArgs {
    /// Origins (`scheme://host[:port]`, comma-separated) whose pages may call this service's API
    /// from a browser, e.g. the gateway's Swagger UI in development. Unset: no CORS headers, so
    /// browsers on other origins are refused, as a production service should.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Vec<String>,
}

impl CorsArgs {
    /// `app` answering CORS preflights and marking its answers for the allowed origins, if any.
    pub fn apply(&self, app: Router) -> Result<Router, String> {
        use axum::http::{Method, header};
        use tower_http::cors::{AllowOrigin, CorsLayer};
        let origins = self
            .cors_allowed_origins
            .iter()
            .map(|origin| origin.trim())
            .filter(|origin| !origin.is_empty())
            .map(|origin| {
                let valid = (origin.starts_with("http://") || origin.starts_with("https://"))
                    && !origin.trim_end_matches('/').contains(['?', '#'])
                    && origin.matches('/').count() == 2;
                match HeaderValue::from_str(origin) {
                    Ok(value) if valid => Ok(value),
                    _ => Err(format!(
                        "CORS_ALLOWED_ORIGINS: `{origin}` is not an origin (scheme://host[:port])"
                    )),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if origins.is_empty() {
            return Ok(app);
        }
        tracing::info!(
            "CORS: browsers may call this API from {}",
            self.cors_allowed_origins.join(", ")
        );
        let cors = CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::HeaderName::from_static(crate::extract::IDEMPOTENCY_KEY),
                header::HeaderName::from_static("x-request-id"),
                header::HeaderName::from_static("traceparent"),
            ])
            .expose_headers([
                header::LOCATION,
                header::HeaderName::from_static("x-request-id"),
            ])
            .max_age(std::time::Duration::from_secs(600));
        Ok(around(app, cors))
    }
}
