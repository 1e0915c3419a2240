pub use nfip_kit_test::problem;
use nfip_kit_test::{TestClient, TestDatabase};
use nfip_policy::{AppState, PolicyStore};
use serde_json::{Value, json};

pub struct TestApp {
    /// The app, and a client that calls it as the gateway does.
    pub client: TestClient,
    pub policies: PolicyStore,
}

pub async fn spawn_app(db: &TestDatabase) -> TestApp {
    let policies = PolicyStore::connect(&db.url)
        .await
        .expect("open the policy store");
    let client = TestClient::spawn(nfip_policy::app(
        AppState {
            policies: policies.clone(),
        },
        nfip_kit_test::callers(),
    ))
    .await;
    TestApp { client, policies }
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
    pub async fn create(&self, holder: &str) -> Value {
        let response = self.post("/api/policies", &new_policy(holder)).await;
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    /// How many policies the database holds, read directly.
    pub async fn stored(&self) -> i64 {
        nfip_kit_test::count_rows(self.policies.db(), "policies").await
    }
}

impl std::ops::Deref for TestApp {
    type Target = TestClient;

    fn deref(&self) -> &TestClient {
        &self.client
    }
}
