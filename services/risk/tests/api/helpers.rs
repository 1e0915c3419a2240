use nfip_kit::testing::{TestDatabase, TestServer};
use nfip_risk::{AppState, RatingStore};

pub struct TestApp {
    pub server: TestServer,
    pub http: reqwest::Client,
    pub ratings: RatingStore,
}

/// The app on a fresh database seeded with the bundled sample.
pub async fn spawn_app(db: &TestDatabase) -> TestApp {
    let ratings = RatingStore::connect(&db.url)
        .await
        .expect("open the rating store");
    nfip_risk::seed_if_empty(&ratings)
        .await
        .expect("seed the sample");
    let state = AppState::new(ratings.clone()).expect("the bundled ZIP list reads");
    let server = TestServer::spawn(nfip_risk::app(state, nfip_kit::testing::callers())).await;
    TestApp {
        server,
        http: reqwest::Client::builder()
            .default_headers(nfip_kit::testing::caller_headers())
            .build()
            .unwrap(),
        ratings,
    }
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.server.url(path))
            .send()
            .await
            .expect("request reaches the app")
    }
}

/// Reads a problem+json answer, checking its media type and that its status matches.
pub async fn problem(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "status");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "an error is a problem"
    );
    let body: serde_json::Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status, "{body}");
    body
}
