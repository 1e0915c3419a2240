use std::time::Duration;

use nfip_gateway::{Endpoint, Endpoints, Gateway, Settings};
use nfip_kit::auth::Callers;
use nfip_kit::db::Backend;
use nfip_kit::testing::{TestDatabase, TestServer};

pub const KEY: &str = "test-key";

pub struct TestGateway {
    pub server: TestServer,
    pub http: reqwest::Client,
    pub db: TestDatabase,
    /// The gateway, its follow-up worker running.
    pub built: Gateway,
}

/// The gateway with every service URL pointing at a port nothing listens on, and one client
/// holding [`KEY`].
pub async fn spawn_gateway() -> TestGateway {
    spawn_with(|_| {}).await
}

/// The same, with `adjust` changing the settings first.
pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestGateway {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let nowhere = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        Endpoint::new(format!("http://{}", listener.local_addr().unwrap()), None)
    };
    let endpoints = Endpoints {
        risk: nowhere.clone(),
        policy: nowhere.clone(),
        billing: nowhere.clone(),
        notification: nowhere,
    };
    let mut settings = Settings {
        clients: Callers::single("test-client", KEY),
        deadline: Duration::from_secs(2),
        followup_retry: Duration::from_millis(50),
        ..Settings::new(&db.url, endpoints)
    };
    adjust(&mut settings);
    let gateway = Gateway::build(settings).await.unwrap();
    let server = TestServer::spawn(gateway.router.clone()).await;
    TestGateway {
        server,
        http: reqwest::Client::new(),
        db,
        built: gateway,
    }
}

pub async fn problem(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "status");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status, "{body}");
    body
}
