//! Each class of bad input gets a 4xx problem that names it, and writes nothing.

use nfip_kit::db::Backend;
use nfip_kit_test::{Fetch, TestDatabase};
use nfip_policy::domain::NewPolicy;
use serde_json::{Value, json};

use crate::helpers::{Policies, new_policy, problem, spawn_app};

#[tokio::test]
async fn bad_bodies_are_4xx_problems_naming_the_field_and_write_nothing() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let app = spawn_app(&db).await;
    let json = Some("application/json");

    let body = app
        .post_raw("/api/policies", json, "{\"holder\": ")
        .fetch_problem(400)
        .await;
    assert_eq!(body["type"], "urn:nfip:problem:malformed-request");

    let unlabelled = app.post_raw("/api/policies", None, new_policy("Ada").to_string());
    let body = unlabelled.fetch_problem(415).await;
    assert_eq!(body["type"], "urn:nfip:problem:unsupported-media-type");

    let huge = json!({"holder": "x".repeat(nfip_kit::service::BODY_LIMIT), "zipcode": "33139", "risk_score": 0.5});
    app.post_raw("/api/policies", json, huge.to_string())
        .fetch_problem(413)
        .await;

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
        let answer = app
            .post_raw("/api/policies", json, body.to_string())
            .fetch_problem(422)
            .await;
        assert_eq!(
            answer["errors"][0]["pointer"], pointer,
            "{body} -> {answer}"
        );
    }

    let every_rule = json!({
        "holder": " ", "contact": {"email": "nope", "phone": "555"},
        "zipcode": "3313", "risk_score": 1.5
    });
    let answer = app
        .post_raw("/api/policies", json, every_rule.to_string())
        .fetch_problem(422)
        .await;
    // Every rule the domain finds broken (its own test pins which, in order), each with its
    // pointer and message.
    let broken = NewPolicy::validate(" ", Some((Some("nope"), Some("555"))), "3313", 1.5);
    let expected: Vec<_> = (broken.unwrap_err().into_iter())
        .map(|p| json!({"pointer": p.pointer, "detail": p.message}))
        .collect();
    assert_eq!(expected.len(), 5, "every field broken");
    assert_eq!(answer["errors"], json!(expected));

    app.request(reqwest::Method::POST, "/api/policies")
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
    app.request(reqwest::Method::DELETE, "/api/policies")
        .fetch_problem(405)
        .await;
}
