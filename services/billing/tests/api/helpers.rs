use nfip_billing::{AppState, BillingStore};
use nfip_kit::testing::{TestDatabase, TestServer};
use serde_json::{Value, json};

pub struct TestApp {
    pub server: TestServer,
    pub http: reqwest::Client,
    pub billing: BillingStore,
}

pub async fn spawn_app(db: &TestDatabase) -> TestApp {
    let billing = BillingStore::connect(&db.url)
        .await
        .expect("open the billing store");
    let server = TestServer::spawn(nfip_billing::app(
        AppState {
            billing: billing.clone(),
        },
        nfip_kit::testing::callers(),
    ))
    .await;
    TestApp {
        server,
        http: reqwest::Client::builder()
            .default_headers(nfip_kit::testing::caller_headers())
            .build()
            .unwrap(),
        billing,
    }
}

pub fn new_invoice(base_rate_cents: i64, risk_score: f64) -> Value {
    json!({
        "policy_id": "019a7b4e-8f1c-7d2a-9b3e-4c5d6e7f8a9b",
        "base_rate_cents": base_rate_cents,
        "risk_score": risk_score
    })
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.server.url(path))
            .send()
            .await
            .expect("request reaches the app")
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.server.url(path))
            .json(body)
            .send()
            .await
            .expect("request reaches the app")
    }

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
        use sqlx::Row;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM {table}"
        )))
        .fetch_one(self.billing.db().pool())
        .await
        .unwrap()
        .get("n")
    }
}

pub async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status, "{body}");
    body
}
