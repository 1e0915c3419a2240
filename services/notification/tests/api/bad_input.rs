//! Each class of bad input gets a 4xx problem that names it, and queues nothing.

use nfip_kit::db::Backend;
use nfip_kit_test::{Fetch, TestDatabase};
use serde_json::{Value, json};

use crate::helpers::{FAST_RETRY, Flaky, problem, spawn_app};

#[tokio::test]
async fn bad_notifications_are_4xx_problems_and_queue_nothing() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let app = spawn_app(&db, Flaky::new(0, true), FAST_RETRY).await;
    let raw = |content_type, body: String| {
        app.post_raw("/api/notifications", Some(content_type), body)
            .fetch()
    };
    problem(
        raw("application/json", "{\"channel\": \"email\",".into()).await,
        400,
    )
    .await;
    problem(raw("text/plain", "hello".into()).await, 415).await;
    let huge = json!({"channel": "email", "to": "a@b.co", "subject": "s", "body": "x".repeat(nfip_kit::service::BODY_LIMIT)});
    problem(raw("application/json", huge.to_string()).await, 413).await;

    let cases: [(Value, &str); 8] = [
        (
            json!({"channel": "fax", "to": "a@b.co", "body": "x"}),
            "/channel",
        ),
        (json!({"to": "a@b.co", "body": "x"}), "/channel"),
        (
            json!({"channel": "email", "to": "a@b.co", "subject": "s"}),
            "/body",
        ),
        (
            json!({"channel": "email", "to": "a@b.co", "subject": "s", "body": 5}),
            "/body",
        ),
        (
            json!({"channel": "email", "to": "a@b.co", "body": "x"}),
            "/subject",
        ),
        (
            json!({"channel": "sms", "to": "a@b.co", "body": "x"}),
            "/to",
        ),
        (
            json!({"channel": "sms", "to": "+15555550123", "subject": "s", "body": "x"}),
            "/subject",
        ),
        (
            json!({"channel": "sms", "to": "+15555550123", "body": "x", "policy_id": "p-1"}),
            "/policy_id",
        ),
    ];
    for (body, pointer) in cases {
        let answer = problem(raw("application/json", body.to_string()).await, 422).await;
        assert_eq!(
            answer["errors"][0]["pointer"], pointer,
            "{body} -> {answer}"
        );
    }
    assert_eq!(app.stored().await, 0);

    problem(app.get("/api/notifications/42").await, 400).await;
    problem(
        app.get("/api/notifications/0192f0c1-7d4e-7cc2-9a8e-2f1d2b9a4c11")
            .await,
        404,
    )
    .await;
    problem(app.get("/api/notification").await, 404).await;
    let delete = app.request(reqwest::Method::DELETE, "/api/notifications");
    delete.fetch_problem(405).await;
}

/// Found by Schemathesis: a body its schema accepts must not be refused as too large, however
/// it is written. The longest email, 20,000 characters outside the BMP each sent as a pair of
/// `\uXXXX` escapes, is 240,000 bytes of body text alone; the longest address is 254
/// characters, 64 of them before the `@`.
#[tokio::test]
async fn the_largest_valid_notification_fits_under_the_body_limit() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let app = spawn_app(&db, Flaky::new(0, true), FAST_RETRY).await;
    let wave = "\\ud83c\\udf0a";
    let body = format!(
        r#"{{"channel": "email", "to": "{}@{}.{}.{}.org", "subject": "{}", "body": "{}"}}"#,
        "a".repeat(64),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(57),
        wave.repeat(200),
        wave.repeat(20_000),
    );
    let response = app
        .post_raw("/api/notifications", Some("application/json"), body)
        .fetch()
        .await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    assert_eq!(app.stored().await, 1);
}
