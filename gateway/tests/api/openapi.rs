use std::path::Path;

use crate::helpers::spawn_gateway;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/gateway.json");

#[test]
fn committed_spec_is_up_to_date() {
    nfip_kit_test::assert_committed(&nfip_gateway::openapi(), Path::new(COMMITTED));
}

#[tokio::test]
async fn served_specs_are_the_committed_files() {
    let gateway = spawn_gateway().await;
    let get = |path: &str| gateway.http.get(gateway.server.url(path)).send();
    let served = get("/openapi.json").await.unwrap().text().await.unwrap();
    assert_eq!(served, std::fs::read_to_string(COMMITTED).unwrap());
    for service in ["risk", "policy", "billing", "notification"] {
        let served = get(&format!("/specs/{service}.json"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let committed = std::fs::read_to_string(format!(
            "{}/../openapi/{service}.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        assert_eq!(served, committed, "{service}");
    }
    let docs = get("/docs/swagger-initializer.js")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for url in [
        "/openapi.json",
        "/specs/risk.json",
        "/specs/notification.json",
    ] {
        assert!(docs.contains(url), "the docs page lists {url}: {docs}");
    }
}
