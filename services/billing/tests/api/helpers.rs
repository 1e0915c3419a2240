use nfip_billing::{AppState, BillingStore};
pub use nfip_kit_test::problem;
use nfip_kit_test::{Fetch, TestDatabase, callers};
use serde_json::{Value, json};

pub type TestApp = nfip_kit_test::TestApp<BillingStore>;

pub async fn spawn_app(db: &TestDatabase) -> TestApp {
    let app = |billing| nfip_billing::app(AppState { billing }, callers());
    TestApp::spawn(db, BillingStore::connect, app).await
}

pub fn new_invoice(base_rate_cents: i64, risk_score: f64) -> Value {
    json!({
        "policy_id": "019a7b4e-8f1c-7d2a-9b3e-4c5d6e7f8a9b",
        "base_rate_cents": base_rate_cents,
        "risk_score": risk_score
    })
}

/// What billing's tests do through its API, and read beneath it.
pub trait Billing {
    /// Issues an invoice and returns its id.
    async fn invoice(&self, base_rate_cents: i64, risk_score: f64) -> String;
    async fn pay(&self, invoice: &str, key: &str, card: &str) -> reqwest::Response;
    /// Rows in a table, read directly.
    async fn count(&self, table: &str) -> i64;
}

impl Billing for TestApp {
    async fn invoice(&self, base_rate_cents: i64, risk_score: f64) -> String {
        let invoice = new_invoice(base_rate_cents, risk_score);
        let response = self.post("/api/invoices", &invoice).await;
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn pay(&self, invoice: &str, key: &str, card: &str) -> reqwest::Response {
        let path = format!("/api/invoices/{invoice}/payments");
        let request = self.request(reqwest::Method::POST, &path);
        let payment = json!({ "card_number": card });
        request
            .header("idempotency-key", key)
            .json(&payment)
            .fetch()
            .await
    }

    async fn count(&self, table: &str) -> i64 {
        nfip_kit_test::count_rows(self.store.db(), table).await
    }
}
