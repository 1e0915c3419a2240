//! When a service fails: the caller gets a problem naming it, within the deadline, and nothing
//! the failed purchase created survives.

use std::time::{Duration, Instant};

use axum::http::Method;
use nfip_kit::db::Backend;
use nfip_kit_test::eventually;
use serde_json::Value;

use crate::helpers::{DEADLINE, HOP_TIMEOUT, Stack, order};
use crate::proxy::Fault;
use nfip_kit_test::problem;

const INVOICES: &str = "/api/invoices";

nfip_kit_test::backend_tests! {
    async fn billing_down_leaves_no_orphan_policy(db) {
        let stack = Stack::start(db.backend).await;
        stack.billing.proxy.fail(Method::POST, INVOICES, Fault::Status(503));
        let body = problem(stack.purchase(&order("33139"), None).await, 503).await;
        assert_eq!((body["type"].as_str(), body["upstream"].as_str()), (Some("urn:nfip:problem:upstream-unavailable"), Some("billing")));
        stack.settles_at(0, 1, 0, 0).await;
        stack.stop().await;
    }

    async fn a_slow_billing_times_out_and_the_invoice_it_made_is_voided(db) {
        let stack = Stack::start(db.backend).await;
        // Billing issues the invoice, but answers too late.
        stack.billing.proxy.fail(Method::POST, INVOICES, Fault::Delay(HOP_TIMEOUT * 2));
        let started = Instant::now();
        let body = problem(stack.purchase(&order("33139"), None).await, 504).await;
        assert!(started.elapsed() < DEADLINE + Duration::from_millis(250), "answered within the deadline: {:?}", started.elapsed());
        assert_eq!((body["type"].as_str(), body["upstream"].as_str()), (Some("urn:nfip:problem:upstream-timeout"), Some("billing")));
        // The policy is cancelled at once; once billing answers in time again, the undoing's
        // replay of the create learns the invoice and voids it.
        stack.settles_at(0, 1, 1, 0).await;
        stack.billing.proxy.heal();
        stack.settles_at(0, 1, 0, 1).await;
        stack.stop().await;
    }

    async fn an_invoice_issued_after_its_purchase_was_undone_is_voided_too(db) {
        let stack = Stack::start(db.backend).await;
        // The invoice request reaches billing only after the gateway gave up on it and began
        // undoing the purchase: billing issues the invoice after the undo looked for it.
        stack.billing.proxy.fail(Method::POST, INVOICES, Fault::Stall(DEADLINE + HOP_TIMEOUT));
        problem(stack.purchase(&order("33139"), None).await, 504).await;
        stack.billing.proxy.heal();
        stack.settles_at(0, 1, 0, 1).await;
        eventually("the stalled requests to reach billing", Duration::from_secs(10), || async {
            (stack.billing.proxy.stalled() == 0).then_some(())
        })
        .await;
        stack.settles_at(0, 1, 0, 1).await;
        stack.stop().await;
    }
}

#[tokio::test]
async fn a_billing_answer_outside_its_contract_is_a_502_and_undone() {
    let stack = Stack::start(Backend::Sqlite).await;
    stack
        .billing
        .proxy
        .fail(Method::POST, INVOICES, Fault::Garbage);
    let body = problem(stack.purchase(&order("33139"), None).await, 502).await;
    assert_eq!(
        (body["type"].as_str(), body["upstream"].as_str()),
        (
            Some("urn:nfip:problem:upstream-bad-response"),
            Some("billing")
        )
    );
    stack.billing.proxy.heal();
    stack.settles_at(0, 1, 0, 1).await;
    stack.stop().await;
}

#[tokio::test]
async fn a_billing_500_is_a_502_not_retried_and_undone() {
    let stack = Stack::start(Backend::Sqlite).await;
    stack
        .billing
        .proxy
        .fail_once(Method::POST, INVOICES, Fault::Status(500));
    // Only the first create fails: a retry would have bought.
    let body = problem(stack.purchase(&order("33139"), None).await, 502).await;
    assert_eq!(body["type"], "urn:nfip:problem:upstream-failed");
    // The undoing replays the create (the 500 may have hidden an invoice) and voids it.
    stack.settles_at(0, 1, 0, 1).await;
    stack.stop().await;
}

#[tokio::test]
async fn a_slow_policy_service_times_out_and_its_policy_is_cancelled() {
    let stack = Stack::start(Backend::Sqlite).await;
    stack
        .policy
        .proxy
        .fail(Method::POST, "/api/policies", Fault::Delay(HOP_TIMEOUT * 2));
    let body = problem(stack.purchase(&order("33139"), None).await, 504).await;
    assert_eq!(body["upstream"], "policy");
    let reached_billing = |stack: &Stack| {
        stack
            .billing
            .proxy
            .seen()
            .iter()
            .any(|r| r.method == Method::POST)
    };
    assert!(
        !reached_billing(&stack),
        "the purchase stopped at the policy"
    );
    stack.policy.proxy.heal();
    // The undoing issues and voids the invoice the attempt never reached.
    stack.settles_at(0, 1, 0, 1).await;
    stack.stop().await;
}

#[tokio::test]
async fn an_undo_that_cannot_finish_now_is_finished_by_the_follow_up_worker() {
    let stack = Stack::start(Backend::Sqlite).await;
    stack
        .billing
        .proxy
        .fail(Method::POST, INVOICES, Fault::Status(503));
    stack
        .policy
        .proxy
        .fail(Method::POST, "/api/policies/", Fault::Status(503));
    problem(
        stack.purchase(&order("33139"), Some("undo-later")).await,
        503,
    )
    .await;
    assert_eq!(
        stack.journal_state("undo-later").await.as_deref(),
        Some("compensating")
    );
    assert_eq!(
        stack.policies("active").await,
        1,
        "cancel keeps failing for now"
    );
    stack.policy.proxy.heal();
    stack.followups_wake.notify_one();
    // The policy is cancelled; the invoice waits for billing.
    stack.settles_at(0, 1, 0, 0).await;
    assert_eq!(
        stack.journal_state("undo-later").await.as_deref(),
        Some("compensating")
    );
    stack.billing.proxy.heal();
    stack.settles_at(0, 1, 0, 1).await;
    nfip_kit_test::eventually(
        "the purchase to be open to a retry",
        Duration::from_secs(10),
        || async {
            (stack.journal_state("undo-later").await.as_deref() == Some("retry")).then_some(())
        },
    )
    .await;
    stack.stop().await;
}

#[tokio::test]
async fn a_slow_or_garbled_risk_service_fails_the_purchase_before_anything_is_created() {
    let stack = Stack::start(Backend::Sqlite).await;
    stack
        .risk
        .proxy
        .fail(Method::GET, "/api/risk/", Fault::Delay(HOP_TIMEOUT * 2));
    let started = Instant::now();
    let body = problem(stack.purchase(&order("33139"), None).await, 504).await;
    assert!(started.elapsed() < DEADLINE, "{:?}", started.elapsed());
    assert_eq!(body["upstream"], "risk");
    stack.risk.proxy.heal();
    stack
        .risk
        .proxy
        .fail(Method::GET, "/api/risk/", Fault::Garbage);
    let body = problem(stack.purchase(&order("33139"), None).await, 502).await;
    assert_eq!(
        (body["type"].as_str(), body["upstream"].as_str()),
        (Some("urn:nfip:problem:upstream-bad-response"), Some("risk"))
    );
    assert!(stack.policy.proxy.seen().is_empty());
    stack.stop().await;
}

#[tokio::test]
async fn a_notification_failure_does_not_undo_the_sale_and_is_delivered_later() {
    let stack = Stack::start(Backend::Sqlite).await;
    stack
        .notification
        .proxy
        .fail(Method::POST, "/api/notifications", Fault::Status(503));
    let response = stack.purchase(&order("33139"), None).await;
    assert_eq!(response.status(), 201);
    let receipt: Value = response.json().await.unwrap();
    assert_eq!(receipt["notification"], "pending");
    assert!(receipt.get("notification_id").is_none());
    assert_eq!(
        (stack.policies("active").await, stack.invoices("open").await),
        (1, 1)
    );
    assert_eq!(stack.notification.count("notifications", "1 = 1").await, 0);

    stack.notification.proxy.heal();
    stack.followups_wake.notify_one();
    let policy = receipt["policy_id"].as_str().unwrap().to_owned();
    nfip_kit_test::eventually("the late confirmation", Duration::from_secs(10), || async {
        let queued = stack
            .notification
            .count("notifications", &format!("policy_id = '{policy}'"))
            .await;
        (queued == 1).then_some(())
    })
    .await;
    stack.stop().await;
}

#[tokio::test]
async fn a_failing_service_is_not_called_while_its_circuit_is_open() {
    let stack = Stack::start(Backend::Sqlite).await;
    stack
        .risk
        .proxy
        .fail(Method::GET, "/api/risk/", Fault::Status(503));
    // 3 attempts a purchase; the circuit opens at the 20th consecutive failure.
    for _ in 0..7 {
        problem(stack.purchase(&order("33139"), None).await, 503).await;
    }
    let calls = stack.risk.proxy.seen().len();
    assert_eq!(calls, 20);
    let started = Instant::now();
    let body = problem(stack.purchase(&order("33139"), None).await, 503).await;
    assert_eq!(
        body["detail"],
        "risk is failing; not calling it for a moment"
    );
    assert!(started.elapsed() < HOP_TIMEOUT, "fails fast");
    assert_eq!(stack.risk.proxy.seen().len(), calls, "no call reached risk");
    stack.stop().await;
}
