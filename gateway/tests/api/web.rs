//! The citizen's page: served at `/` with the web client's key written in, its assets cached for
//! good, every answer under a strict content security policy; a misconfiguration stops the start.

use std::path::PathBuf;

use nfip_gateway::web;
use nfip_kit::auth::Callers;
use nfip_kit_test::Fetch;
use reqwest::Method;

use crate::helpers::{KEY, spawn_with};

/// A built page in a folder of its own: what `just web` leaves in web/dist, in miniature.
fn page(index: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nfip-web-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), index).unwrap();
    std::fs::write(dir.join("assets/index-abc123.js"), "console.log('page')").unwrap();
    dir
}

const INDEX: &str = r#"<html><head><meta name="nfip-api-key" content="" /></head></html>"#;

#[tokio::test]
async fn the_page_carries_the_web_clients_key_and_its_assets_are_immutable() {
    let dir = page(INDEX);
    let clients = Callers::single("test-client", KEY);
    let site = web::site(Some(&dir), Some(KEY), &clients).unwrap();
    let gateway = spawn_with(|settings| settings.web = site).await;

    let index = gateway.request(Method::GET, "/").fetch().await;
    assert_eq!(index.status(), 200);
    let headers = index.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-cache");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'self'")
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let body = index.text().await.unwrap();
    assert!(
        body.contains(r#"<meta name="nfip-api-key" content="test-key" />"#),
        "{body}"
    );

    let script = gateway
        .request(Method::GET, "/assets/index-abc123.js")
        .fetch()
        .await;
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        script.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(script.text().await.unwrap(), "console.log('page')");

    let missing = gateway.request(Method::GET, "/assets/nothing.js");
    missing.fetch_problem(404).await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn without_a_page_the_root_is_a_404_problem() {
    let gateway = spawn_with(|_| {}).await;
    let body = gateway.request(Method::GET, "/").fetch_problem(404).await;
    assert_eq!(body["detail"], "no route for /");
}

#[test]
fn a_page_without_its_client_or_its_key_slot_is_refused_at_start() {
    let clients = Callers::single("web", "web-key");
    let dir = page(INDEX);
    let refused = |dir: Option<&PathBuf>, key: Option<&str>| {
        web::site(dir.map(PathBuf::as_path), key, &clients).unwrap_err()
    };
    assert!(refused(Some(&dir), None).starts_with("WEB_DIR is set but WEB_API_KEY is not"));
    assert!(refused(None, Some("web-key")).starts_with("WEB_API_KEY is set but WEB_DIR is not"));
    assert_eq!(
        refused(Some(&dir), Some("someone-elses-key")),
        "WEB_API_KEY is not the key of any client in GATEWAY_API_KEYS"
    );
    let other = page("<html>no slot</html>");
    assert!(refused(Some(&other), Some("web-key")).contains("has no `<meta name=\"nfip-api-key\""));
    let loaded = web::site(Some(&dir), Some("web-key"), &clients)
        .unwrap()
        .unwrap();
    assert_eq!(loaded.len(), 2);
    for dir in [dir, other] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}
