use nfip_billing::{AppState, BillingStore};
pub use nfip_kit_test::problem;
use nfip_kit_test::{TestClient, TestDatabase};
use serde_json::{Value, json};

pub struct TestApp {
    /// The app, and a client that calls it as the gateway does.
    pub client: TestClient,
    pub billing: BillingStore,
}

pub async fn spawn_app(db: &TestDatabase) -> TestApp {
    let billing = BillingStore::connect(&db.url)
        .await
        .expect("open the billing store");
    let client = TestClient::spawn(nfip_billing::app(
        AppState {
            billing: billing.clone(),
        },
        nfip_kit_test::callers(),
    ))
    .await;
    TestApp { client, billing }
}

pub fn new_invoice(base_rate_cents: i64, risk_score: f64) -> Value {
    json!({
        "policy_id": "019a7b4e-8f1c-7d2a-9b3e-4c5d6e7f8a9b",
        "base_rate_cents": base_rate_cents,
        "risk_score": risk_score
    })
}

impl TestApp {
    /// Issues an invoice and returns its id.
    pub async fn invoice(&self, base_rate_cents: i64, risk_score: f64) -> String {
        let response = self
            .post("/api/invoices", &new_invoice(base_rate_cents, risk_score))
            .await;
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn pay(&self, invoice: &str, key: &str, card: &str) -> reqwest::Response {
        self.http
            .post(
                self.server
                    .url(&format!("/api/invoices/{invoice}/payments")),
            )
            .header("idempotency-key", key)
            .json(&json!({ "card_number": card }))
            .send()
            .await
            .expect("request reaches the app")
    }

    /// Rows in a table, read directly.
    pub async fn count(&self, table: &str) -> i64 {
        nfip_kit_test::count_rows(self.billing.db(), table).await
    }
}

impl std::ops::Deref for TestApp {
    type Target = TestClient;

    fn deref(&self) -> &TestClient {
        &self.client
    }
}
