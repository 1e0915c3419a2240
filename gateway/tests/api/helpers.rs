use std::sync::Arc;
use std::time::Duration;

use nfip_gateway::upstream::CallPolicy;
use nfip_gateway::{ApiKeys, AppState, Journal, Metrics, ServiceUrls, Services, Settings};
use nfip_kit::db::Backend;
use nfip_kit::testing::{TestDatabase, TestServer};
use tokio::sync::Notify;

pub const KEY: &str = "test-key";

pub struct TestGateway {
    pub server: TestServer,
    pub http: reqwest::Client,
    pub db: TestDatabase,
}

/// The gateway with every service URL pointing at a port nothing listens on.
pub async fn spawn_gateway() -> TestGateway {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let nowhere = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let urls = ServiceUrls {
        risk: nowhere.clone(),
        policy: nowhere.clone(),
        billing: nowhere.clone(),
        notification: nowhere,
    };
    let metrics = Metrics::default();
    let state = AppState {
        services: Arc::new(Services::new(&urls, CallPolicy::default(), &metrics)),
        journal: Journal::connect(&db.url).await.unwrap(),
        config: Arc::new(Settings {
            request_deadline: Duration::from_secs(2),
            purchase_deadline: Duration::from_secs(2),
            followup_retry: Duration::from_millis(50),
        }),
        metrics,
        followups: Arc::new(Notify::new()),
    };
    let server = TestServer::spawn(nfip_gateway::app(state, ApiKeys::new([KEY.to_owned()]))).await;
    TestGateway {
        server,
        http: reqwest::Client::new(),
        db,
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
