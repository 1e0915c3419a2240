use nfip_kit::testing::{TestDatabase, TestServer};
use nfip_policy::{AppState, PolicyStore};
use serde_json::{Value, json};

pub struct TestApp {
    pub server: TestServer,
    pub http: reqwest::Client,
    pub policies: PolicyStore,
}

pub async fn spawn_app(db: &TestDatabase) -> TestApp {
    let policies = PolicyStore::connect(&db.url)
        .await
        .expect("open the policy store");
    let server = TestServer::spawn(nfip_policy::app(
        AppState {
            policies: policies.clone(),
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
        policies,
    }
}

pub fn new_policy(holder: &str) -> Value {
    json!({
        "holder": holder,
        "contact": {"email": "ada@example.org", "phone": "+15555550123"},
        "zipcode": "33139",
        "risk_score": 0.9
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

    pub async fn create(&self, holder: &str) -> Value {
        let response = self.post("/api/policies", &new_policy(holder)).await;
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    /// How many policies the database holds, read directly.
    pub async fn stored(&self) -> i64 {
        use sqlx::Row;
        sqlx::query("SELECT COUNT(*) AS n FROM policies")
            .fetch_one(self.policies.db().pool())
            .await
            .unwrap()
            .get("n")
    }
}

/// Reads a problem+json answer, checking its media type and that its status matches.
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
