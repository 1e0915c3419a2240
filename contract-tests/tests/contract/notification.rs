//! The gateway against the notification service's published spec.

use nfip_contract_tests::assert_contract;

use crate::helpers::{
    Consumer, assert_answer, fails_once, happy_purchase, notification, order, policy,
};

#[tokio::test]
async fn a_failed_confirmation_does_not_undo_the_sale_and_is_sent_again_later() {
    let consumer = Consumer::start().await;
    fails_once(&consumer.providers.notification, "create_notification").await;
    consumer
        .providers
        .notification
        .on("create_notification")
        .respond(202, notification())
        .await;
    happy_purchase(&consumer.providers, &["create_notification"]).await;
    let answered = consumer.purchase(order(), Some("late-confirmation")).await;
    assert_answer(&answered, 201, "notification", "pending");
    // The follow-up worker sends the same notification, with the same key.
    consumer.wait_for("create_notification", 2).await;
    let sent: Vec<_> = consumer
        .providers
        .exchanges()
        .into_iter()
        .filter(|e| e.operation == "create_notification")
        .collect();
    let (first, retry) = (&sent[0].request, &sent[1].request);
    assert_eq!(first.body, retry.body, "the same notification");
    for header in ["idempotency-key", "x-request-id"] {
        assert_eq!(
            first.headers[header], retry.headers[header],
            "the same {header}"
        );
    }
    assert_eq!(
        first.headers["traceparent"][..35],
        retry.headers["traceparent"][..35],
        "the same trace"
    );
    assert_contract!(consumer.providers, "purchase_confirmation_late", answered);
    consumer.stop().await;
}

#[tokio::test]
async fn without_a_contact_no_confirmation_is_sent() {
    let consumer = Consumer::start().await;
    // A policy created without a contact has none.
    let mut no_contact = policy("active");
    no_contact.as_object_mut().unwrap().remove("contact");
    consumer
        .providers
        .policy
        .on("create_policy")
        .respond(201, no_contact)
        .await;
    happy_purchase(
        &consumer.providers,
        &["create_notification", "create_policy"],
    )
    .await;
    let mut order = order();
    order.as_object_mut().unwrap().remove("contact");
    let answered = consumer.purchase(order, None).await;
    assert_answer(&answered, 201, "notification", "not_requested");
    assert!(consumer.providers.notification.received().await.is_empty());
    assert_contract!(consumer.providers, "purchase_without_contact", answered);
    consumer.stop().await;
}
