//! What a 2xx acknowledged survives the process being killed with SIGKILL.

use nfip_kit_test::{Fetch, ServiceProcess};
use serde_json::{Value, json};

use crate::helpers::new_invoice;

const BINARY: &str = env!("CARGO_BIN_EXE_nfip-billing");

nfip_kit_test::backend_tests! {
    async fn a_payment_survives_kill_9_and_is_not_charged_again(db) {
        let args = ["--listen", "127.0.0.1:0", "--database-url", db.url.as_str()];
        let http = reqwest::Client::builder().default_headers(nfip_kit_test::caller_headers()).build().unwrap();
        let pay = |process: &ServiceProcess, invoice: &str| {
            http.post(process.url(&format!("/api/invoices/{invoice}/payments")))
                .header("idempotency-key", "pay-once")
                .json(&json!({"card_number": "4242424242424242"}))
                .send()
        };
        let process = ServiceProcess::start(BINARY, &args).await;
        let invoice: Value = http
            .post(process.url("/api/invoices"))
            .json(&new_invoice(50_000, 0.25))
            .fetch_json().await;
        let id = invoice["id"].as_str().unwrap();
        let paid: Value = pay(&process, id).await.unwrap().json().await.unwrap();
        process.kill9().await;

        let process = ServiceProcess::start(BINARY, &args).await;
        let read: Value = http.get(process.url(&format!("/api/invoices/{id}"))).fetch_json().await;
        assert_eq!((read["status"].as_str(), read["amount_cents"].as_i64()), (Some("paid"), Some(12_500)));
        let retry = pay(&process, id).await.unwrap();
        assert_eq!(retry.headers()["idempotent-replayed"], "true");
        assert_eq!(retry.json::<Value>().await.unwrap(), paid);
    }
}
