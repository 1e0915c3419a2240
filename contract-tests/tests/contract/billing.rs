//! The gateway against the billing service's published spec.

use nfip_contract_tests::{assert_contract, problem, states};
use serde_json::json;

use crate::helpers::{
    Consumer, HOP_TIMEOUT, INVOICE_ID, UNKNOWN_ID, assert_answer, compensation_answers,
    happy_purchase, invoice, order, payment,
};

#[tokio::test]
async fn a_refused_invoice_is_passed_through_and_the_policy_cancelled() {
    let consumer = Consumer::start().await;
    let refused = json!({
        "type": "urn:nfip:problem:validation", "title": "The request body is not valid", "status": 422, "request_id": "5f0c6c1e-3c59-4a43-9c55-2a8f0f2b7d11",
        "detail": "/base_rate_cents: 0 is not between 1 and 1000000000000 cents",
        "errors": [{"pointer": "/base_rate_cents", "detail": "0 is not between 1 and 1000000000000 cents"}]
    });
    consumer
        .providers
        .billing
        .on("create_invoice")
        .given(states::INVOICE_KEY_USED)
        .respond(422, refused)
        .await;
    happy_purchase(&consumer.providers, &["create_invoice"]).await;
    compensation_answers(&consumer.providers).await;
    let answered = consumer.purchase(order(), Some("refused-invoice")).await;
    assert_answer(&answered, 422, "upstream", "billing");
    // Undoing cancels the policy and replays the refused create: refused again, nothing to void.
    consumer.wait_for("create_invoice", 2).await;
    assert_contract!(consumer.providers, "purchase_invoice_refused", answered);
    consumer.stop().await;
}

#[tokio::test]
async fn a_slow_invoice_is_a_504_and_the_invoice_it_made_is_voided() {
    let consumer = Consumer::start().await;
    // Billing issues the invoice but answers too late, to both of the gateway's tries; the
    // undoing replays the create, learns the invoice and voids it.
    consumer
        .providers
        .billing
        .on("create_invoice")
        .times(2)
        .delay(HOP_TIMEOUT * 2)
        .respond(201, invoice("open"))
        .await;
    happy_purchase(&consumer.providers, &[]).await;
    compensation_answers(&consumer.providers).await;
    let answered = consumer.purchase(order(), Some("slow-invoice")).await;
    assert_answer(&answered, 504, "upstream", "billing");
    consumer.wait_for("void_invoice", 1).await;
    assert_contract!(consumer.providers, "purchase_invoice_slow_voided", answered);
    consumer.stop().await;
}

#[tokio::test]
async fn reading_an_invoice_passes_it_or_its_404_through() {
    let consumer = Consumer::start().await;
    let billing = &consumer.providers.billing;
    billing
        .on("get_invoice")
        .path(&format!("/api/invoices/{INVOICE_ID}"))
        .given(states::OPEN_INVOICE)
        .respond(200, invoice("open"))
        .await;
    let missing = problem(
        "not-found",
        "Not found",
        404,
        &format!("no invoice with id {UNKNOWN_ID}"),
    );
    billing
        .on("get_invoice")
        .path(&format!("/api/invoices/{UNKNOWN_ID}"))
        .respond(404, missing)
        .await;
    let found = consumer
        .send("GET", &format!("/invoices/{INVOICE_ID}"), None, None)
        .await;
    assert_eq!(
        (found.status, found.body["amount_cents"].as_i64()),
        (200, Some(108_000))
    );
    let answered = consumer
        .send("GET", &format!("/invoices/{UNKNOWN_ID}"), None, None)
        .await;
    assert_eq!(answered.status, 404);
    assert_contract!(consumer.providers, "invoice_read", answered);
    consumer.stop().await;
}

/// Pays through the gateway with `card`, the provider answering `status` with `body` in the
/// state `given`.
async fn pay(name: &str, given: Option<&str>, card: &str, status: u16, body: serde_json::Value) {
    let consumer = Consumer::start().await;
    let invoice_id = if given.is_some() {
        INVOICE_ID
    } else {
        UNKNOWN_ID
    };
    let mock = consumer
        .providers
        .billing
        .on("pay_invoice")
        .path(&format!("/api/invoices/{invoice_id}/payments"));
    match given {
        Some(state) => mock.given(state),
        None => mock,
    }
    .respond(status, body)
    .await;
    let answered = consumer
        .send(
            "POST",
            &format!("/invoices/{invoice_id}/payments"),
            Some(&format!("{name}-key")),
            Some(json!({"card_number": card})),
        )
        .await;
    assert_eq!(answered.status, status, "{}", answered.body);
    assert_contract!(consumer.providers, name, answered);
    consumer.stop().await;
}

#[tokio::test]
async fn a_payment_is_passed_through() {
    pay(
        "pay_approved",
        Some(states::OPEN_INVOICE),
        "4242424242424242",
        201,
        payment(),
    )
    .await;
}

#[tokio::test]
async fn a_declined_card_is_a_402() {
    let declined = problem(
        "payment-declined",
        "The card was declined",
        402,
        "the card was declined: card_declined",
    );
    pay(
        "pay_declined",
        Some(states::OPEN_INVOICE),
        "4000000000000002",
        402,
        declined,
    )
    .await;
}

#[tokio::test]
async fn paying_an_unknown_invoice_is_a_404() {
    let missing = problem(
        "not-found",
        "Not found",
        404,
        &format!("no invoice with id {UNKNOWN_ID}"),
    );
    pay(
        "pay_unknown_invoice",
        None,
        "4242424242424242",
        404,
        missing,
    )
    .await;
}

#[tokio::test]
async fn paying_a_paid_invoice_is_a_409() {
    let paid = problem(
        "conflict",
        "The request conflicts with the resource's state",
        409,
        &format!("invoice {INVOICE_ID} is paid"),
    );
    pay(
        "pay_paid_invoice",
        Some(states::PAID_INVOICE),
        "4242424242424242",
        409,
        paid,
    )
    .await;
}

#[tokio::test]
async fn an_invalid_card_is_a_422() {
    let invalid = json!({
        "type": "urn:nfip:problem:validation", "title": "The request body is not valid", "status": 422, "request_id": "5f0c6c1e-3c59-4a43-9c55-2a8f0f2b7d11",
        "detail": "/card_number: the card number fails its check digit (Luhn)",
        "errors": [{"pointer": "/card_number", "detail": "the card number fails its check digit (Luhn)"}]
    });
    pay(
        "pay_invalid_card",
        Some(states::OPEN_INVOICE),
        "4242424242424241",
        422,
        invalid,
    )
    .await;
}
