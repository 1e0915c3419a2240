use std::collections::BTreeMap;

use serde_json::Value;

use crate::helpers::{Billing, problem, spawn_app};
use nfip_kit_test::Fetch;

nfip_kit_test::backend_tests! {
    async fn a_payment_charges_once_per_key(db) {
        let app = spawn_app(db).await;
        let invoice = app.invoice(120_000, 0.9).await;
        let first = app.pay(&invoice, "pay-1", "4242 4242 4242 4242").await;
        assert_eq!(first.status(), 201);
        let first: Value = first.json().await.unwrap();
        assert_eq!((first["amount_cents"].clone(), first["card_last4"].clone()), (108_000.into(), "4242".into()));
        let replay = app.pay(&invoice, "pay-1", "4242424242424242").await;
        assert_eq!(replay.headers()["idempotent-replayed"], "true");
        assert_eq!(replay.json::<Value>().await.unwrap(), first);
        let body = problem(app.pay(&invoice, "pay-2", "4242424242424242").await, 409).await;
        assert_eq!(body["type"], "urn:nfip:problem:conflict");
        let other_card = problem(app.pay(&invoice, "pay-1", "5555555555554444").await, 422).await;
        assert_eq!(other_card["type"], "urn:nfip:problem:idempotency-key-reused");
        let read: Value = app.get(&format!("/api/invoices/{invoice}")).await.json().await.unwrap();
        assert_eq!(read["status"], "paid");
        assert_eq!(app.count("payments").await, 1);
    }

    async fn a_declined_card_leaves_the_invoice_open(db) {
        let app = spawn_app(db).await;
        let invoice = app.invoice(10_000, 0.5).await;
        let body = problem(app.pay(&invoice, "try-1", "4000000000009995").await, 402).await;
        assert_eq!(body["type"], "urn:nfip:problem:payment-declined");
        assert_eq!(body["detail"], "the card was declined: insufficient_funds");
        let replay = problem(app.pay(&invoice, "try-1", "4000000000009995").await, 402).await;
        assert_eq!(replay["detail"], body["detail"]);
        let read: Value = app.get(&format!("/api/invoices/{invoice}")).await.json().await.unwrap();
        assert_eq!(read["status"], "open");
        assert_eq!(app.pay(&invoice, "try-2", "4242424242424242").await.status(), 201);
    }

    async fn concurrent_payments_charge_exactly_once(db) {
        let app = spawn_app(db).await;
        let invoice = app.invoice(10_000, 0.5).await;
        // Ten clients with their own keys, and ten retries of one key, all at once.
        let keys: Vec<String> = (0..10).map(|i| format!("own-{i}")).chain((0..10).map(|_| "shared".to_owned())).collect();
        let tasks: Vec<_> = keys
            .into_iter()
            .map(|key| {
                let path = format!("/api/invoices/{invoice}/payments");
                let request = app
                    .request(reqwest::Method::POST, &path)
                    .header("idempotency-key", key)
                    .json(&serde_json::json!({"card_number": "4242424242424242"}));
                tokio::spawn(async move { request.fetch().await.status().as_u16() })
            })
            .collect();
        let mut statuses = BTreeMap::new();
        for task in tasks {
            *statuses.entry(task.await.unwrap()).or_insert(0) += 1;
        }
        assert_eq!(app.count("payments").await, 1, "one charge: {statuses:?}");
        assert_eq!(statuses.keys().copied().collect::<Vec<_>>(), [201, 409], "{statuses:?}");
    }
}
