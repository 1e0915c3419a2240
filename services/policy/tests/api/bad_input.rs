//! Each class of bad input gets a 4xx problem that names it, and writes nothing.

use nfip_kit::db::Backend;
use nfip_kit_test::{Fetch, TestDatabase};
use serde_json::{Value, json};

use crate::helpers::{new_policy, problem, spawn_app};

async fn raw(
    app: &crate::helpers::TestApp,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut request = app.http.post(app.server.url("/api/policies")).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.fetch().await
}

#[tokio::test]
async fn bad_bodies_are_4xx_problems_naming_the_field_and_write_nothing() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let app = spawn_app(&db).await;
    let json = Some("application/json");

    let body = problem(raw(&app, json, "{\"holder\": ").await, 400).await;
    assert_eq!(body["type"], "urn:nfip:problem:malformed-request");

    let body = problem(raw(&app, None, new_policy("Ada").to_string()).await, 415).await;
    assert_eq!(body["type"], "urn:nfip:problem:unsupported-media-type");

    let huge = json!({"holder": "x".repeat(nfip_kit::service::BODY_LIMIT), "zipcode": "33139", "risk_score": 0.5});
    problem(raw(&app, json, huge.to_string()).await, 413).await;

    let cases: [(Value, &str); 6] = [
        (json!({"zipcode": "33139", "risk_score": 0.5}), "/holder"),
        (
            json!({"holder": 7, "zipcode": "33139", "risk_score": 0.5}),
            "/holder",
        ),
        (
            json!({"holder": "Ada", "zipcode": "33139", "risk_score": "high"}),
            "/risk_score",
        ),
        (
            json!({"holder": "Ada", "zipcode": "33139", "risk_score": 0.5, "premium": 1}),
            "/premium",
        ),
        (
            json!({"holder": "Ada", "zipcode": "33139", "risk_score": 0.5, "contact": {"fax": "1"}}),
            "/contact/fax",
        ),
        (
            json!({"holder": "Ada", "zipcode": "33139", "risk_score": 0.5, "contact": {}}),
            "/contact",
        ),
    ];
    for (body, pointer) in cases {
        let answer = problem(raw(&app, json, body.to_string()).await, 422).await;
        assert_eq!(
            answer["errors"][0]["pointer"], pointer,
            "{body} -> {answer}"
        );
    }

    let every_rule = json!({
        "holder": " ", "contact": {"email": "nope", "phone": "555"},
        "zipcode": "3313", "risk_score": 1.5
    });
    let answer = problem(raw(&app, json, every_rule.to_string()).await, 422).await;
    let pointers: Vec<_> = answer["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].clone())
        .collect();
    assert_eq!(
        pointers,
        [
            "/holder",
            "/contact/email",
            "/contact/phone",
            "/zipcode",
            "/risk_score"
        ]
    );

    app.http
        .post(app.server.url("/api/policies"))
        .header("idempotency-key", "")
        .json(&new_policy("Ada"))
        .fetch_problem(400)
        .await;

    assert_eq!(app.stored().await, 0, "no bad request wrote anything");
}

#[tokio::test]
async fn bad_paths_queries_routes_and_methods_are_problems() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let app = spawn_app(&db).await;
    let body = problem(app.get("/api/policies/not-a-uuid").await, 400).await;
    assert_eq!(body["errors"][0]["pointer"], "id");
    assert_eq!(
        body["detail"],
        "`not-a-uuid` is not valid: UUID parsing failed: invalid character: found `n` at 0"
    );
    let body = problem(
        app.get("/api/policies/0192f0c1-7d4e-7cc2-9a8e-2f1d2b9a4c11")
            .await,
        404,
    )
    .await;
    assert_eq!(body["type"], "urn:nfip:problem:not-found");
    problem(app.get("/api/policies").await, 400).await;
    for query in [
        "holder=Ada&limit=0",
        "holder=Ada&limit=abc",
        "holder=Ada&cursor=zzz",
        "holder=Ada&page=2",
    ] {
        problem(app.get(&format!("/api/policies?{query}")).await, 400).await;
    }
    problem(app.get("/api/nope").await, 404).await;
    app.http
        .delete(app.server.url("/api/policies"))
        .fetch_problem(405)
        .await;
}
