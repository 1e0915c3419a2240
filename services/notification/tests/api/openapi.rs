use std::path::Path;

use nfip_kit::db::Backend;
use nfip_kit::testing::TestDatabase;

use crate::helpers::{FAST_RETRY, Flaky, spawn_app};

const COMMITTED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../openapi/notification.json"
);

#[test]
fn committed_spec_is_up_to_date() {
    nfip_kit::spec::assert_committed(&nfip_notification::openapi(), Path::new(COMMITTED));
}

#[tokio::test]
async fn served_spec_is_the_committed_file() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let app = spawn_app(&db, Flaky::new(0, true), FAST_RETRY).await;
    let served = app.get("/openapi.json").await.text().await.unwrap();
    assert_eq!(served, std::fs::read_to_string(COMMITTED).unwrap());
    db.drop().await;
}
