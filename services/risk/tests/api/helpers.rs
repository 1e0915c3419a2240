pub use nfip_kit_test::problem;
use nfip_kit_test::{TestClient, TestDatabase};
use nfip_risk::{AppState, RatingStore};

pub struct TestApp {
    /// The app, and a client that calls it as the gateway does.
    pub client: TestClient,
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
    let client = TestClient::spawn(nfip_risk::app(state, nfip_kit_test::callers())).await;
    TestApp { client, ratings }
}

impl std::ops::Deref for TestApp {
    type Target = TestClient;

    fn deref(&self) -> &TestClient {
        &self.client
    }
}
