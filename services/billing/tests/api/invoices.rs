use serde_json::Value;

use crate::helpers::{Billing, new_invoice, problem, spawn_app};

nfip_kit_test::backend_tests! {
    async fn prices_an_invoice_exactly_in_cents(db) {
        let app = spawn_app(db).await;
        let response = app.post("/api/invoices", &new_invoice(120_000, 0.9)).await;
        assert_eq!(response.status(), 201);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let invoice: Value = response.json().await.unwrap();
        assert_eq!(invoice["amount_cents"], 108_000);
        assert_eq!(invoice["currency"], "USD");
        assert_eq!(invoice["status"], "open");
        assert_eq!(app.get(&location).await.json::<Value>().await.unwrap(), invoice);

        let half_cent: Value = app.post("/api/invoices", &new_invoice(333, 0.5)).await.json().await.unwrap();
        assert_eq!(half_cent["amount_cents"], 167, "166.5 rounds half up");
        let body = problem(app.post("/api/invoices", &new_invoice(100, 0.12345)).await, 422).await;
        assert_eq!(body["errors"][0]["pointer"], "/risk_score");
        let body = problem(app.post("/api/invoices", &new_invoice(0, 0.5)).await, 422).await;
        assert_eq!(body["errors"][0]["pointer"], "/base_rate_cents");
    }

    async fn an_idempotency_key_issues_once(db) {
        let app = spawn_app(db).await;
        let (invoice, other) = (new_invoice(1_000, 0.5), new_invoice(2_000, 0.5));
        let (first, again) = app.made_once("/api/invoices", &invoice, &other).await;
        assert_eq!(again, first);
        assert_eq!(app.count("invoices").await, 1);
    }

    async fn lists_a_policys_invoices(db) {
        let app = spawn_app(db).await;
        let first = app.invoice(1_000, 0.5).await;
        let second = app.invoice(2_000, 0.5).await;
        let mut other = new_invoice(1_000, 0.5);
        other["policy_id"] = "0192f0c1-7d4e-7cc2-9a8e-2f1d2b9a4c11".into();
        assert_eq!(app.post("/api/invoices", &other).await.status(), 201);
        let list: Value = app
            .get("/api/invoices?policy_id=019a7b4e-8f1c-7d2a-9b3e-4c5d6e7f8a9b")
            .await
            .json()
            .await
            .unwrap();
        let ids: Vec<_> = list["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(ids, [first, second]);
        problem(app.get("/api/invoices?policy_id=nope").await, 400).await;
        problem(app.get("/api/invoices").await, 400).await;
    }

    async fn voiding_is_idempotent_and_refused_once_paid(db) {
        let app = spawn_app(db).await;
        let open = app.invoice(1_000, 0.5).await;
        let void = app.undone_twice(&format!("/api/invoices/{open}/void")).await;
        assert_eq!(void["status"], "void");
        assert!(void["voided_at"].is_string());
        problem(app.pay(&open, "k1", "4242424242424242").await, 409).await;

        let paid = app.invoice(1_000, 0.5).await;
        assert_eq!(app.pay(&paid, "k2", "4242424242424242").await.status(), 201);
        let body = problem(app.post(&format!("/api/invoices/{paid}/void"), &Value::Null).await, 409).await;
        assert_eq!(body["detail"], format!("invoice {paid} is paid"));
        problem(app.post("/api/invoices/0192f0c1-7d4e-7cc2-9a8e-2f1d2b9a4c11/void", &Value::Null).await, 404).await;
    }
}
