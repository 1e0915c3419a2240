//! Idempotency-Key on POST /purchase: one purchase per key, however many retries, concurrent or
//! after a crash.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::http::Method;
use nfip_gateway::journal::{NewEntry, PurchaseKey};
use nfip_gateway::purchase::keys::{Keys, Step};
use nfip_gateway::purchase::{Order, new_stem};
use nfip_gateway::upstream::policy::{Contact, NewPolicy};
use nfip_kit::db::Backend;
use serde_json::Value;

use crate::helpers::{Stack, order};
use crate::proxy::Fault;
use nfip_kit_test::{Fetch, problem};

nfip_kit_test::backend_tests! {
    async fn fifty_concurrent_retries_make_one_purchase(db) {
        let stack = Stack::start(db.backend).await;
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let request = stack.post("/purchase").header("idempotency-key", "buy-once").json(&order("33139"));
                tokio::spawn(async move {
                    let response = request.fetch().await;
                    let replayed = response.headers().contains_key("idempotent-replayed");
                    (response.status().as_u16(), replayed, response.text().await.unwrap())
                })
            })
            .collect();
        let mut bodies = BTreeSet::new();
        let mut first_answers = 0;
        for task in tasks {
            let (status, replayed, body) = task.await.unwrap();
            assert_eq!(status, 201, "{body}");
            bodies.insert(body);
            first_answers += usize::from(!replayed);
        }
        assert_eq!(bodies.len(), 1, "every retry gets the first answer");
        assert_eq!(first_answers, 1, "one request ran the purchase");
        assert_eq!((stack.policies("active").await, stack.invoices("open").await), (1, 1));
        assert_eq!(stack.notification.count("notifications", "1 = 1").await, 1);
        stack.stop().await;
    }
}

#[tokio::test]
async fn a_key_used_for_another_purchase_is_refused() {
    let stack = Stack::start(Backend::Sqlite).await;
    assert_eq!(
        stack.purchase(&order("33139"), Some("k-1")).await.status(),
        201
    );
    let body = problem(stack.purchase(&order("70112"), Some("k-1")).await, 422).await;
    assert_eq!(body["type"], "urn:nfip:problem:idempotency-key-reused");
    assert_eq!(stack.policies("active").await, 1);
    stack.stop().await;
}

#[tokio::test]
async fn a_retry_after_an_undone_failure_buys_afresh() {
    let stack = Stack::start(Backend::Sqlite).await;
    stack
        .billing
        .proxy
        .fail(Method::POST, "/api/invoices", Fault::Status(503));
    problem(stack.purchase(&order("33139"), Some("k-2")).await, 503).await;
    stack.billing.proxy.heal();
    // The retry waits for the undoing, then runs a new attempt with new upstream keys.
    let response = stack.purchase(&order("33139"), Some("k-2")).await;
    assert_eq!(response.status(), 201);
    let receipt: Value = response.json().await.unwrap();
    let policy: Value = stack
        .get(&format!(
            "/policies/{}",
            receipt["policy_id"].as_str().unwrap()
        ))
        .fetch_json()
        .await;
    assert_eq!(policy["status"], "active");
    assert_eq!(
        (
            stack.policies("active").await,
            stack.policies("cancelled").await,
            stack.invoices("open").await
        ),
        (1, 1, 1)
    );
    let keys: BTreeSet<_> = stack
        .policy
        .proxy
        .seen()
        .into_iter()
        .filter_map(|r| r.idempotency_key)
        .collect();
    // Both attempts under the stem the purchase was first claimed with.
    let first = keys.first().expect("the policy was created with a key");
    let stem = first.strip_suffix("#1/policy").expect("attempt 1's key");
    assert_eq!(
        keys,
        BTreeSet::from([format!("{stem}#1/policy"), format!("{stem}#2/policy")])
    );
    let replay = stack.purchase(&order("33139"), Some("k-2")).await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    stack.stop().await;
}

#[tokio::test]
async fn a_purchase_abandoned_by_a_crashed_gateway_is_undone() {
    let stack = Stack::start(Backend::Sqlite).await;
    // What a gateway that died right after creating the policy leaves behind: a journal entry
    // whose lease ran out, and an active policy made with the attempt's key.
    let new_policy = NewPolicy {
        holder: "Ada Lovelace".into(),
        contact: Some(Contact {
            email: Some("ada@example.org".into()),
            phone: None,
        }),
        zipcode: "33139".into(),
        risk_score: 0.9,
    };
    let abandoned = Order {
        zipcode: "33139".into(),
        base_rate_cents: 120_000,
        user: "Ada Lovelace".into(),
        contact: new_policy.contact.clone(),
    };
    let request = serde_json::to_string(&new_policy).unwrap();
    let stem = new_stem();
    let entry = NewEntry {
        fingerprint: &abandoned.fingerprint(),
        order: &serde_json::to_string(&abandoned).unwrap(),
        upstream_key: &stem,
        policy_request: &request,
        lease_until: nfip_kit::db::now() - Duration::from_secs(1),
        request_id: "req-1",
        traceparent: "",
    };
    let purchase = PurchaseKey {
        client: "system-tests".into(),
        key: "crashed".into(),
    };
    stack.journal.claim(&purchase, &entry).await.unwrap();
    let created = stack
        .http
        .post(stack.policy.server.url("/api/policies"))
        .headers(nfip_kit_test::caller_headers())
        .header(
            "idempotency-key",
            Keys {
                stem: &stem,
                attempt: 1,
            }
            .of(Step::Policy),
        )
        .header("content-type", "application/json")
        .body(request)
        .fetch()
        .await;
    assert_eq!(created.status(), 201);

    stack.followups_wake.notify_one();
    // The policy is cancelled, and the invoice the attempt never reached is issued and voided.
    stack.settles_at(0, 1, 0, 1).await;
    // The client's retry now buys afresh.
    let receipt = stack.purchase(&order("33139"), Some("crashed")).await;
    assert_eq!(receipt.status(), 201);
    assert_eq!(
        (
            stack.policies("active").await,
            stack.policies("cancelled").await
        ),
        (1, 1)
    );
    stack.stop().await;
}
