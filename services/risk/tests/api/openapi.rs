//! The committed spec is what the code generates and what the service serves.

use nfip_kit::db::Backend;
use nfip_kit_test::{Fetch, TestDatabase};

use crate::helpers::spawn_app;

nfip_kit_test::spec_tests!("../../openapi/risk.json", nfip_risk::openapi, |db| {
    spawn_app(&db)
});

/// Swagger UI on another origin (the gateway's `/docs`) may call the API only where configured.
#[tokio::test]
async fn browsers_on_allowed_origins_only_may_call_the_api() {
    use nfip_kit::service::CorsArgs;
    let db = TestDatabase::create(Backend::Sqlite).await;
    let ratings = nfip_risk::RatingStore::connect(&db.url).await.unwrap();
    let app = nfip_risk::app(
        nfip_risk::AppState::new(ratings).unwrap(),
        nfip_kit_test::callers(),
    );
    let allowed = CorsArgs {
        cors_allowed_origins: vec!["http://127.0.0.1:8080".into()],
    };
    let server = nfip_kit_test::TestServer::spawn(allowed.apply(app.clone()).unwrap()).await;
    let http = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        http.request(reqwest::Method::OPTIONS, server.url("/api/risk/33139"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let answer = preflight("http://127.0.0.1:8080").await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        "http://127.0.0.1:8080"
    );
    let allowed_headers = answer.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(
        allowed_headers.contains("authorization"),
        "{allowed_headers}"
    );
    let stranger = preflight("http://evil.example").await.unwrap();
    assert!(
        stranger
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    // Unset, as in production: no CORS headers at all.
    let closed = nfip_kit_test::TestServer::spawn(CorsArgs::default().apply(app).unwrap()).await;
    let answer = http
        .get(closed.url("/api/risk/33139"))
        .header("origin", "http://127.0.0.1:8080")
        .fetch()
        .await;
    assert!(
        answer
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    for bad in ["127.0.0.1:8080", "http://127.0.0.1:8080/docs", "*"] {
        let refused = CorsArgs {
            cors_allowed_origins: vec![bad.into()],
        };
        let app = nfip_risk::app(
            nfip_risk::AppState::new(nfip_risk::RatingStore::connect(&db.url).await.unwrap())
                .unwrap(),
            nfip_kit_test::callers(),
        );
        assert!(
            refused.apply(app).unwrap_err().contains("is not an origin"),
            "{bad}"
        );
    }
}
