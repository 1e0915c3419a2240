pub use nfip_kit_test::problem;
use nfip_kit_test::{TestDatabase, callers};
use nfip_policy::{AppState, PolicyStore};
use serde_json::{Value, json};

pub type TestApp = nfip_kit_test::TestApp<PolicyStore>;

pub async fn spawn_app(db: &TestDatabase) -> TestApp {
    let app = |policies| nfip_policy::app(AppState { policies }, callers());
    TestApp::spawn(db, PolicyStore::connect, app).await
}

pub fn new_policy(holder: &str) -> Value {
    json!({
        "holder": holder,
        "contact": {"email": "ada@example.org", "phone": "+15555550123"},
        "zipcode": "33139",
        "risk_score": 0.9
    })
}

/// What the policy service's tests do through its API, and read beneath it.
pub trait Policies {
    async fn create(&self, holder: &str) -> Value;
    /// How many policies the database holds, read directly.
    async fn stored(&self) -> i64;
}

impl Policies for TestApp {
    async fn create(&self, holder: &str) -> Value {
        let response = self.post("/api/policies", &new_policy(holder)).await;
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    async fn stored(&self) -> i64 {
        nfip_kit_test::count_rows(self.store.db(), "policies").await
    }
}
