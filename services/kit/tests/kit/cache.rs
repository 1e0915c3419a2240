//! Caching conventions on every process: `ETag` and `304` for reads, compressed and cacheable
//! docs.

use nfip_kit::auth::Callers;
use nfip_kit::db::{Backend, Db};
use nfip_kit_test::{Fetch, TestDatabase, TestServer};
use reqwest::Method;
use utoipa_axum::router::OpenApiRouter;

async fn serve(database: &TestDatabase) -> TestServer {
    let db = Db::connect(&database.url, &[]).await.unwrap();
    let api = OpenApiRouter::new()
        .route("/api/ping", axum::routing::get(|| async { "pong" }))
        .route("/api/ping", axum::routing::post(|| async { "posted" }));
    TestServer::spawn(nfip_kit::service::app(api, (), db, Callers::default())).await
}

#[tokio::test]
async fn a_read_names_its_version_and_a_client_that_holds_it_gets_a_304() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let server = serve(&database).await;
    let http = reqwest::Client::new();
    let first = http.get(server.url("/healthz")).fetch().await;
    assert_eq!(first.status(), 200);
    let tag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(tag.starts_with("W/\"") && tag.len() == 20, "{tag}");
    assert_eq!(first.headers()["cache-control"], "private, no-cache");

    let unless = |method, path, tags: &str| {
        let request = http.request(method, server.url(path));
        request.header("if-none-match", tags).fetch()
    };
    let again = unless(Method::GET, "/healthz", tag.trim_start_matches("W/")).await;
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], tag.as_str());
    assert!(again.bytes().await.unwrap().is_empty());

    let stale = unless(Method::GET, "/healthz", "\"another\"").await;
    assert_eq!(stale.status(), 200);
    assert_eq!(stale.text().await.unwrap(), r#"{"status":"ok"}"#);

    // Only reads: a write is never answered 304, and carries no ETag.
    let written = unless(Method::POST, "/api/ping", "*").await;
    assert_ne!(written.status(), 304);
    assert!(written.headers().get("etag").is_none());
}

#[tokio::test]
async fn the_spec_and_the_docs_are_compressed_and_cacheable() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let server = serve(&database).await;
    let http = reqwest::Client::new();
    for path in ["/openapi.json", "/docs/"] {
        let answer = http
            .get(server.url(path))
            .header("accept-encoding", "gzip")
            .fetch()
            .await;
        assert_eq!(answer.status(), 200, "{path}");
        assert_eq!(answer.headers()["content-encoding"], "gzip", "{path}");
        assert_eq!(
            answer.headers()["cache-control"],
            "public, max-age=3600",
            "{path}"
        );
        assert!(answer.headers().contains_key("etag"), "{path}");
    }
    let plain = http.get(server.url("/openapi.json")).fetch().await;
    assert!(plain.headers().get("content-encoding").is_none());
    let spec: serde_json::Value = plain.json().await.unwrap();
    assert!(spec["paths"]["/healthz"]["get"]["responses"]["304"].is_object());
}
