//! What the gateway answers before it calls any service.

use nfip_kit_test::Fetch;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{KEY, problem, spawn_gateway};

#[tokio::test]
async fn requests_without_a_valid_key_are_401() {
    let gateway = spawn_gateway().await;
    let purchase = json!({"zipcode": "33139", "base_rate": 1200, "user": "Ada"});
    let purchase_with = |key: Option<&str>| {
        let request = gateway.request(Method::POST, "/purchase").json(&purchase);
        match key {
            Some(key) => request.header("x-api-key", key),
            None => request,
        }
    };
    let none = purchase_with(None).fetch().await;
    assert_eq!(none.headers()["www-authenticate"], "Bearer realm=\"nfip\"");
    let body = problem(none, 401).await;
    assert_eq!(body["type"], "urn:nfip:problem:unauthorized");
    purchase_with(Some("nope")).fetch_problem(401).await;
    let wrong_bearer = gateway
        .request(Method::GET, "/risk/33139")
        .bearer_auth("nope");
    wrong_bearer.fetch_problem(401).await;
    // Health, docs and metrics need no key.
    for open in [
        "/healthz",
        "/readyz",
        "/docs/",
        "/openapi.json",
        "/metrics",
        "/specs/risk.json",
    ] {
        let response = gateway.request(Method::GET, open).fetch().await;
        assert_eq!(response.status(), 200, "{open}");
    }
}

#[tokio::test]
async fn bad_purchases_are_refused_before_any_service_is_called() {
    let gateway = spawn_gateway().await;
    let send = |body: String, content_type: &'static str| {
        let request = gateway
            .request(Method::POST, "/purchase")
            .header("x-api-key", KEY)
            .header("content-type", content_type)
            .body(body);
        request.fetch()
    };
    problem(send("{\"zipcode\": ".into(), "application/json").await, 400).await;
    problem(
        send("zipcode=33139".into(), "application/x-www-form-urlencoded").await,
        415,
    )
    .await;
    problem(
        send(
            json!({"user": "x".repeat(nfip_kit::service::BODY_LIMIT)}).to_string(),
            "application/json",
        )
        .await,
        413,
    )
    .await;
    let cases = [
        (json!({"base_rate": 1200, "user": "Ada"}), "/zipcode"),
        (
            json!({"zipcode": 33139, "base_rate": 1200, "user": "Ada"}),
            "/zipcode",
        ),
        (
            json!({"zipcode": "3313", "base_rate": 1200, "user": "Ada"}),
            "/zipcode",
        ),
        (
            json!({"zipcode": "33139", "base_rate": "1200", "user": "Ada"}),
            "/base_rate",
        ),
        (
            json!({"zipcode": "33139", "base_rate": 12.345, "user": "Ada"}),
            "/base_rate",
        ),
        (
            json!({"zipcode": "33139", "base_rate": -5, "user": "Ada"}),
            "/base_rate",
        ),
        (
            json!({"zipcode": "33139", "base_rate": 1200, "user": ""}),
            "/user",
        ),
        (
            json!({"zipcode": "33139", "base_rate": 1200, "user": "Ada", "contact": {}}),
            "/contact",
        ),
        (
            json!({"zipcode": "33139", "base_rate": 1200, "user": "Ada", "contact": {"email": "x"}}),
            "/contact/email",
        ),
        (
            json!({"zipcode": "33139", "base_rate": 1200, "user": "Ada", "coupon": "FREE"}),
            "/coupon",
        ),
    ];
    for (body, pointer) in cases {
        let answer = problem(send(body.to_string(), "application/json").await, 422).await;
        assert_eq!(
            answer["errors"][0]["pointer"], pointer,
            "{body} -> {answer}"
        );
    }
    let empty_key = gateway
        .request(Method::POST, "/purchase")
        .header("x-api-key", KEY)
        .header("idempotency-key", "")
        .json(&json!({"zipcode": "33139", "base_rate": 1200, "user": "Ada"}));
    empty_key.fetch_problem(400).await;
    let pay = gateway
        .request(
            Method::POST,
            "/invoices/0192f0c1-7d4e-7cc2-9a8e-2f1d2b9a4c11/payments",
        )
        .header("x-api-key", KEY)
        .json(&json!({"card_number": "4242424242424242"}));
    let answer = pay.fetch_problem(400).await;
    assert_eq!(answer["errors"][0]["pointer"], "Idempotency-Key");
}

#[tokio::test]
async fn bad_paths_and_unknown_routes_are_problems() {
    let gateway = spawn_gateway().await;
    for (method, path, status) in [
        (Method::GET, "/risk/331", 400),
        (Method::GET, "/policies/not-a-uuid", 400),
        (Method::GET, "/invoices/12", 400),
        (Method::GET, "/nope", 404),
        (Method::GET, "/specs/secrets.json", 404),
        (Method::DELETE, "/purchase", 405),
    ] {
        let request = gateway.request(method, path).header("x-api-key", KEY);
        request.fetch_problem(status).await;
    }
}

#[tokio::test]
async fn an_unreachable_service_is_a_503_naming_it() {
    let gateway = spawn_gateway().await;
    let body = gateway
        .request(Method::GET, "/risk/33139")
        .header("x-api-key", KEY)
        .header("x-request-id", "unreachable-1")
        .fetch_problem(503)
        .await;
    assert_eq!(body["type"], "urn:nfip:problem:upstream-unavailable");
    assert_eq!(body["upstream"], "risk");
    assert_eq!(body["request_id"], "unreachable-1");
    let metrics = gateway.request(Method::GET, "/metrics").fetch_text().await;
    assert!(
        metrics.contains(
            "nfip_requests_total{route=\"/risk/{zipcode}\",method=\"GET\",status=\"503\",client=\"test-client\"} "
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("upstream=\"risk\",operation=\"get_risk\",outcome=\"unreachable\""),
        "{metrics}"
    );
}
