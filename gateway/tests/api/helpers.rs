use std::time::Duration;

use nfip_gateway::{Endpoint, Endpoints, Gateway, Settings};
use nfip_kit::auth::Callers;
use nfip_kit::db::Backend;
pub use nfip_kit_test::problem;
use nfip_kit_test::{TestDatabase, TestServer};
use reqwest::{Method, RequestBuilder};

pub const KEY: &str = "test-key";

pub struct TestGateway {
    pub server: TestServer,
    pub http: reqwest::Client,
    /// Kept for as long as the gateway runs; removed with it.
    _db: TestDatabase,
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
        _db: db,
        built: gateway,
    }
}

impl TestGateway {
    /// A request to `path`, not sent yet.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.server.url(path))
    }
}
