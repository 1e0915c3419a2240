//! Readiness: a database that answers and takes writes.

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;
use utoipa_axum::router::OpenApiRouter;

use nfip_kit::auth::Callers;
use nfip_kit::db::{Backend, Db};
use nfip_kit_test::TestDatabase;

async fn readyz(db: Db) -> (u16, serde_json::Value) {
    let api = OpenApiRouter::new().route("/api/ping", axum::routing::get(|| async { "pong" }));
    let app = nfip_kit::service::app(api, (), db, Callers::default());
    let request = Request::get("/readyz").body(Body::empty()).unwrap();
    let response = app.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

/// A database that answers but cannot write (here opened read-only, as a full disk or a
/// read-only volume would leave it) is not ready: every request that writes would fail.
#[tokio::test]
async fn a_database_that_takes_no_writes_is_not_ready() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let writable = Db::connect(&database.url, &[]).await.unwrap();
    let read_only = Db::connect(&format!("{}?mode=ro", database.url), &[])
        .await
        .unwrap();
    assert_eq!(readyz(writable).await.0, 200);
    let (status, problem) = readyz(read_only).await;
    assert_eq!(status, 503);
    assert_eq!(
        problem["detail"],
        "the database answers but does not take writes (a full disk, or read-only)"
    );
}
