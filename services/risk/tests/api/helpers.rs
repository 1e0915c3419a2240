pub use nfip_kit_test::problem;
use nfip_kit_test::{TestDatabase, callers};
use nfip_risk::{AppState, RatingStore};

pub type TestApp = nfip_kit_test::TestApp<RatingStore>;

/// The app on a fresh database seeded with the bundled sample.
pub async fn spawn_app(db: &TestDatabase) -> TestApp {
    let seeded = async |url: &str| {
        let ratings = RatingStore::connect(url).await?;
        nfip_risk::seed_if_empty(&ratings).await?;
        Ok::<_, Box<dyn std::error::Error>>(ratings)
    };
    let app = |ratings| {
        let state = AppState::new(ratings).expect("the bundled ZIP list reads");
        nfip_risk::app(state, callers())
    };
    TestApp::spawn(db, seeded, app).await
}
