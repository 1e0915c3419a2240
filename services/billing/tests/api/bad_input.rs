//! Each class of bad input gets a 4xx problem that names it, and writes nothing.

use nfip_kit::db::Backend;
use nfip_kit_test::{Fetch, TestDatabase};
use serde_json::{Value, json};

use crate::helpers::{Billing, problem, spawn_app};

#[tokio::test]
async fn bad_invoice_bodies_are_4xx_problems_and_write_nothing() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let app = spawn_app(&db).await;
    let json = Some("application/json");
    let path = "/api/invoices";
    app.post_raw(path, json, "[1, 2").fetch_problem(400).await;
    app.post_raw(path, Some("text/plain"), "{}")
        .fetch_problem(415)
        .await;
    let huge = json!({"policy_id": "x".repeat(nfip_kit::service::BODY_LIMIT)});
    app.post_raw(path, json, huge.to_string())
        .fetch_problem(413)
        .await;
    let policy = "019a7b4e-8f1c-7d2a-9b3e-4c5d6e7f8a9b";
    let cases: [(Value, &str); 5] = [
        (
            json!({"base_rate_cents": 100, "risk_score": 0.5}),
            "/policy_id",
        ),
        (
            json!({"policy_id": "nope", "base_rate_cents": 100, "risk_score": 0.5}),
            "/policy_id",
        ),
        (
            json!({"policy_id": policy, "base_rate_cents": 100.5, "risk_score": 0.5}),
            "/base_rate_cents",
        ),
        (
            json!({"policy_id": policy, "base_rate_cents": 100, "risk_score": 2}),
            "/risk_score",
        ),
        (
            json!({"policy_id": policy, "base_rate_cents": 100, "risk_score": 0.5, "amount_cents": 1}),
            "/amount_cents",
        ),
    ];
    for (body, pointer) in cases {
        let answer = app
            .post_raw(path, json, body.to_string())
            .fetch_problem(422)
            .await;
        assert_eq!(
            answer["errors"][0]["pointer"], pointer,
            "{body} -> {answer}"
        );
    }
    assert_eq!(app.count("invoices").await, 0);
}

#[tokio::test]
async fn bad_payments_paths_and_methods_are_problems_and_charge_nothing() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let app = spawn_app(&db).await;
    let invoice = app.invoice(1_000, 0.5).await;
    let pay = format!("/api/invoices/{invoice}/payments");
    let body = json!({"card_number": "4242424242424242"});

    let answer = problem(app.post(&pay, &body).await, 400).await;
    assert_eq!(answer["errors"][0]["pointer"], "Idempotency-Key");
    for card in ["4242424242424241", "4242", "abcd efgh ijkl mnop"] {
        let answer = problem(app.pay(&invoice, "k", card).await, 422).await;
        assert_eq!(answer["errors"][0]["pointer"], "/card_number", "{card}");
    }
    let misnamed = app.post_raw(
        &pay,
        Some("application/json"),
        r#"{"card": "4242424242424242"}"#,
    );
    let answer = misnamed
        .header("idempotency-key", "k")
        .fetch_problem(422)
        .await;
    assert_eq!(answer["errors"][0]["pointer"], "/card");
    problem(app.pay("not-a-uuid", "k", "4242424242424242").await, 400).await;
    problem(
        app.pay(
            "0192f0c1-7d4e-7cc2-9a8e-2f1d2b9a4c11",
            "k",
            "4242424242424242",
        )
        .await,
        404,
    )
    .await;
    problem(app.get("/api/invoices/12").await, 400).await;
    problem(app.get("/api/invoice").await, 404).await;
    app.request(reqwest::Method::PUT, &pay)
        .fetch_problem(405)
        .await;
    assert_eq!(app.count("payments").await, 0);
}
