use std::path::Path;

use nfip_kit::db::Backend;
use nfip_kit::testing::TestDatabase;

use crate::helpers::spawn_app;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/billing.json");

#[test]
fn committed_spec_is_up_to_date() {
    nfip_kit::spec::assert_committed(&nfip_billing::openapi(), Path::new(COMMITTED));
}

#[tokio::test]
async fn served_spec_is_the_committed_file() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let app = spawn_app(&db).await;
    let served = app.get("/openapi.json").await.text().await.unwrap();
    assert_eq!(served, std::fs::read_to_string(COMMITTED).unwrap());
    db.drop().await;
}
