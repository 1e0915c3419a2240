//! Every process serves Prometheus metrics: RED per route and the database pool.

use nfip_kit::auth::Callers;
use nfip_kit::db::{Backend, Db};
use nfip_kit_test::{Fetch, TestDatabase, TestServer};
use utoipa_axum::router::OpenApiRouter;

#[tokio::test]
async fn every_process_counts_its_requests_by_route_and_shows_its_pool() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let db = Db::connect(&database.url, &[]).await.unwrap();
    let api = OpenApiRouter::new().route("/api/ping", axum::routing::get(|| async { "pong" }));
    let server = TestServer::spawn(nfip_kit::service::app(api, (), db, Callers::default())).await;
    let http = reqwest::Client::new();
    http.get(server.url("/healthz")).fetch().await;
    http.get(server.url("/no/such/route/42")).fetch().await;
    let answer = http.get(server.url("/metrics")).fetch().await;
    assert_eq!(
        answer.headers()["content-type"],
        "text/plain; version=0.0.4"
    );
    let text = answer.text().await.unwrap();
    for series in [
        "# TYPE nfip_requests_total counter",
        "nfip_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\",client=\"none\"} ",
        // An unknown path is counted under one label, never its own.
        "nfip_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\",client=\"none\"} ",
        "nfip_request_duration_seconds_bucket{route=\"/healthz\",method=\"GET\",le=\"0.005\"} ",
        "nfip_db_connections{state=\"idle\"} ",
        "nfip_db_connections{state=\"in_use\"} ",
        "nfip_db_connections_max 1",
    ] {
        assert!(text.contains(series), "{series} in\n{text}");
    }
    assert!(!text.contains("/no/such/route"), "{text}");
}

/// A query that waits for a connection of a full pool is counted as waiting until it has one.
#[tokio::test]
async fn queries_waiting_for_a_connection_are_counted() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let db = Db::connect(&database.url, &[]).await.unwrap();
    let api = OpenApiRouter::new().route("/api/ping", axum::routing::get(|| async { "pong" }));
    let app = nfip_kit::service::app(api, (), db.clone(), Callers::default());
    let server = TestServer::spawn(app).await;
    let waiting = |n: usize| {
        let (http, url) = (reqwest::Client::new(), server.url("/metrics"));
        async move {
            let text = http.get(url).fetch().await.text().await.unwrap();
            text.contains(&format!("nfip_db_connections{{state=\"waiting\"}} {n}\n"))
                .then_some(())
        }
    };
    // SQLite has one connection: a transaction holds it, and a query has to wait.
    let held = db.begin_write().await.unwrap();
    let third = tokio::spawn({
        let db = db.clone();
        async move { nfip_kit::db::query("SELECT 1").execute(&db).await.map(drop) }
    });
    let deadline = std::time::Duration::from_secs(10);
    nfip_kit_test::eventually("one query waiting", deadline, || waiting(1)).await;
    drop(held);
    third.await.unwrap().unwrap();
    nfip_kit_test::eventually("none waiting", deadline, || waiting(0)).await;
}
