//! Prometheus metrics on every process, through the `metrics` facade and its Prometheus
//! exporter, served at `/metrics`:
//!
//! - RED per route: `nfip_requests_total{route, method, status, client}` and
//!   `nfip_request_duration_seconds{route, method}` (the [`track`] middleware, on every app);
//! - the database pool: `nfip_db_connections{state="in_use"|"idle"}` and
//!   `nfip_db_connections_max`;
//! - what a process adds with [`Gauges`], read when Prometheus scrapes (the gateway's journal
//!   by state, the notification queue), and its own counters (the gateway's upstream calls, the
//!   notification deliveries).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Extension;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::db::Db;

/// Histogram bucket bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The process's recorder, installed once.
fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .expect("bucket bounds")
            .install_recorder()
            .expect("the one metrics recorder of the process");
        describe();
        handle
    })
}

fn describe() {
    ::metrics::describe_counter!(
        "nfip_requests_total",
        "Requests answered, by route, method, status and client"
    );
    ::metrics::describe_histogram!(
        "nfip_request_duration_seconds",
        ::metrics::Unit::Seconds,
        "Time to answer, by route and method"
    );
    ::metrics::describe_gauge!(
        "nfip_db_connections",
        "Database connections of the pool, in use or idle"
    );
    ::metrics::describe_gauge!(
        "nfip_db_connections_max",
        "The most connections the pool opens"
    );
}

/// Installs the recorder (at start, so the first scrape has every metric's help).
pub fn install() {
    recorder();
}

/// Middleware: counts and times every request, by its route (never by its raw path).
pub async fn track(request: Request, next: Next) -> Response {
    recorder();
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || String::from("unmatched"),
        |path| path.as_str().to_owned(),
    );
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let client = response
        .extensions()
        .get::<Caller>()
        .map_or_else(|| String::from("none"), |caller| caller.name().to_owned());
    let status = response.status().as_u16().to_string();
    ::metrics::counter!(
        "nfip_requests_total",
        "route" => route.clone(),
        "method" => method.clone(),
        "status" => status,
        "client" => client,
    )
    .increment(1);
    ::metrics::histogram!("nfip_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

type Reading = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What a process measures when Prometheus scrapes (gauges read from its database), added to
/// its app as an extension.
#[derive(Clone)]
pub struct Gauges(Arc<dyn Fn(Db) -> Reading + Send + Sync>);

impl Gauges {
    pub fn new<F, Fut>(read: F) -> Gauges
    where
        F: Fn(Db) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Gauges(Arc::new(move |db| Box::pin(read(db))))
    }
}

/// The `/metrics` route, for any router state; it needs the `Db` as an extension.
pub fn routes<S: Clone + Send + Sync + 'static>() -> OpenApiRouter<S> {
    OpenApiRouter::new().routes(routes!(prometheus))
}

/// Prometheus metrics
///
/// Requests and latency per route, the database pool, and what this process measures besides
/// (see the README's Operating section).
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "ops",
    responses((status = 200, description = "Prometheus text format", body = String,
               content_type = "text/plain; version=0.0.4")),
)]
async fn prometheus(Extension(db): Extension<Db>, gauges: Option<Extension<Gauges>>) -> Response {
    let handle = recorder();
    let (open, idle, max) = db.connections();
    ::metrics::gauge!("nfip_db_connections", "state" => "idle").set(f64::from(idle));
    ::metrics::gauge!("nfip_db_connections", "state" => "in_use").set(f64::from(open - idle));
    ::metrics::gauge!("nfip_db_connections", "state" => "waiting").set(db.waiting() as f64);
    ::metrics::gauge!("nfip_db_connections_max").set(f64::from(max));
    if let Some(Extension(Gauges(read))) = gauges {
        read(db.clone()).await;
    }
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        handle.render(),
    )
        .into_response()
}
