//! Each class of bad input gets a 4xx problem that names it; never a 5xx.

use nfip_kit::db::Backend;
use nfip_kit_test::{Fetch, TestDatabase};

use crate::helpers::{problem, spawn_app};

#[tokio::test]
async fn malformed_zip_codes_are_400_naming_the_parameter() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let app = spawn_app(&db).await;
    for bad in ["331", "abcde", "331390", "3313%20", "%F0%9F%8C%8A"] {
        let body = problem(app.get(&format!("/api/risk/{bad}")).await, 400).await;
        assert_eq!(body["type"], "urn:nfip:problem:invalid-parameter", "{bad}");
        assert_eq!(body["errors"][0]["pointer"], "zipcode", "{bad}");
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let app = spawn_app(&db).await;
    let body = problem(app.get("/api/risks/33139").await, 404).await;
    assert_eq!(body["detail"], "no route for /api/risks/33139");
    let response = app
        .request(reqwest::Method::POST, "/api/risk/33139")
        .json(&serde_json::json!({}))
        .fetch()
        .await;
    let body = problem(response, 405).await;
    assert_eq!(body["type"], "urn:nfip:problem:method-not-allowed");
}

#[tokio::test]
async fn health_docs_and_request_ids() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let app = spawn_app(&db).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let ready: serde_json::Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger-ui"));
    let generated = app.get("/healthz").await.headers()["x-request-id"].clone();
    assert_eq!(
        generated.len(),
        36,
        "a UUID is generated when the caller sends none"
    );
    app.store.db().close().await;
    let body = problem(app.get("/readyz").await, 503).await;
    assert_eq!(body["type"], "urn:nfip:problem:unavailable");
}
