//! The gateway against the policy service's published spec.

use nfip_contract_tests::{assert_contract, problem, states};
use serde_json::json;

use crate::helpers::{
    Consumer, POLICY_ID, UNKNOWN_ID, assert_answer, compensation_answers, fails_once,
    happy_purchase, order, policy,
};

#[tokio::test]
async fn a_refused_policy_is_passed_through_and_nothing_else_is_created() {
    let consumer = Consumer::start().await;
    let refused = json!({
        "type": "urn:nfip:problem:validation", "title": "The request body is not valid", "status": 422, "request_id": "5f0c6c1e-3c59-4a43-9c55-2a8f0f2b7d11",
        "detail": "/contact/email: `ada@example` is not an email address",
        "errors": [{"pointer": "/contact/email", "detail": "`ada@example` is not an email address"}]
    });
    consumer
        .providers
        .policy
        .on("create_policy")
        .given(states::POLICY_KEY_USED)
        .respond(422, refused)
        .await;
    happy_purchase(&consumer.providers, &["create_policy"]).await;
    let answered = consumer.purchase(order(), Some("refused-policy")).await;
    assert_answer(&answered, 422, "upstream", "policy");
    assert_eq!(answered.body["errors"][0]["pointer"], "/contact/email");
    assert_contract!(consumer.providers, "purchase_policy_refused", answered);
    consumer.stop().await;
}

#[tokio::test]
async fn a_failing_policy_service_is_a_502_and_whatever_it_made_is_cancelled() {
    let consumer = Consumer::start().await;
    // The create fails once; undoing replays it (same key) to learn the policy, and cancels it.
    fails_once(&consumer.providers.policy, "create_policy").await;
    happy_purchase(&consumer.providers, &[]).await;
    compensation_answers(&consumer.providers).await;
    let answered = consumer.purchase(order(), Some("failing-policy")).await;
    assert_answer(&answered, 502, "type", "urn:nfip:problem:upstream-failed");
    consumer.wait_for("void_invoice", 1).await;
    assert_contract!(consumer.providers, "purchase_policy_failing", answered);
    consumer.stop().await;
}

#[tokio::test]
async fn a_failed_invoice_cancels_the_policy() {
    let consumer = Consumer::start().await;
    // The create fails once; undoing replays it (same key), voids the invoice and cancels.
    fails_once(&consumer.providers.billing, "create_invoice").await;
    happy_purchase(&consumer.providers, &[]).await;
    compensation_answers(&consumer.providers).await;
    let answered = consumer.purchase(order(), Some("failing-invoice")).await;
    assert_answer(&answered, 502, "upstream", "billing");
    consumer.wait_for("void_invoice", 1).await;
    let cancels = consumer
        .providers
        .exchanges()
        .iter()
        .filter(|e| e.operation == "cancel_policy")
        .count();
    assert_eq!(cancels, 1);
    assert_contract!(
        consumer.providers,
        "purchase_invoice_failing_cancels_policy",
        answered
    );
    consumer.stop().await;
}

#[tokio::test]
async fn reading_a_policy_passes_it_or_its_404_through() {
    let consumer = Consumer::start().await;
    let providers = &consumer.providers;
    providers
        .policy
        .on("get_policy")
        .path(&format!("/api/policies/{POLICY_ID}"))
        .given(states::POLICY_EXISTS)
        .respond(200, policy("active"))
        .await;
    let missing = problem(
        "not-found",
        "Not found",
        404,
        &format!("no policy with id {UNKNOWN_ID}"),
    );
    providers
        .policy
        .on("get_policy")
        .path(&format!("/api/policies/{UNKNOWN_ID}"))
        .respond(404, missing)
        .await;
    let found = consumer
        .send("GET", &format!("/policies/{POLICY_ID}"), None, None)
        .await;
    assert_eq!(
        (found.status, found.body["status"].as_str()),
        (200, Some("active"))
    );
    let answered = consumer
        .send("GET", &format!("/policies/{UNKNOWN_ID}"), None, None)
        .await;
    assert_answer(&answered, 404, "upstream", "policy");
    assert_contract!(consumer.providers, "policy_read", answered);
    consumer.stop().await;
}
