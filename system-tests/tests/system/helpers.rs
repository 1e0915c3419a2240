use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use nfip_gateway::clients::RateLimit;
use nfip_gateway::upstream::CallPolicy;
use nfip_gateway::{Endpoint, Endpoints, Gateway, Journal, Settings};
use nfip_kit::auth::{Callers, entry};
use nfip_kit::db::Backend;
use nfip_kit::serve::Limits;
use nfip_kit_test::{CALLER_KEY, TestDatabase, TestServer, callers, eventually};
use nfip_notification::delivery::{Outbox, RetryPolicy, Worker};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::proxy::FaultProxy;

/// The key of the client the tests buy as, and of another client.
pub const KEY: &str = "system-test-key";
pub const OTHER_KEY: &str = "another-client-key";
/// One call to a service may take this long before the gateway gives up on it.
pub const HOP_TIMEOUT: Duration = Duration::from_millis(300);
/// A whole purchase may take this long.
pub const DEADLINE: Duration = Duration::from_millis(1_500);

/// One service: its app on 127.0.0.1:0, behind a fault proxy the gateway calls.
pub struct Service {
    pub server: TestServer,
    pub proxy: FaultProxy,
    pub db: nfip_kit::Db,
}

impl Service {
    async fn start(app: axum::Router, db: nfip_kit::Db) -> Service {
        let server = TestServer::spawn(app).await;
        let proxy = FaultProxy::start(server.url("")).await;
        Service { server, proxy, db }
    }

    /// Rows of a table, counted directly in the service's database.
    pub async fn count(&self, table: &str, filter: &str) -> i64 {
        nfip_kit_test::count_rows(&self.db, &format!("{table} WHERE {filter}")).await
    }
}

/// The gateway and the four services, each with a fresh database.
pub struct Stack {
    pub gateway: TestServer,
    pub http: reqwest::Client,
    pub risk: Service,
    pub policy: Service,
    pub billing: Service,
    pub notification: Service,
    pub journal: Journal,
    /// Wakes the gateway's follow-up worker.
    pub followups_wake: Arc<Notify>,
    outbox: PathBuf,
    /// Kept for as long as the stack runs; removed with it.
    _databases: Vec<TestDatabase>,
    worker: Option<Worker>,
    gateway_process: Option<Gateway>,
}

impl Stack {
    pub async fn start(backend: Backend) -> Stack {
        Stack::start_with(backend, Limits::default()).await
    }

    /// The stack, its gateway serving within `limits`.
    pub async fn start_with(backend: Backend, limits: Limits) -> Stack {
        let mut databases = Vec::new();
        for _ in 0..5 {
            databases.push(TestDatabase::create(backend).await);
        }

        let ratings = nfip_risk::RatingStore::connect(&databases[0].url)
            .await
            .unwrap();
        nfip_risk::seed_if_empty(&ratings).await.unwrap();
        let risk_db = ratings.db().clone();
        let risk = Service::start(
            nfip_risk::app(nfip_risk::AppState::new(ratings).unwrap(), callers()),
            risk_db,
        )
        .await;

        let policies = nfip_policy::PolicyStore::connect(&databases[1].url)
            .await
            .unwrap();
        let policy_db = policies.db().clone();
        let policy = Service::start(
            nfip_policy::app(nfip_policy::AppState { policies }, callers()),
            policy_db,
        )
        .await;

        let billing_store = nfip_billing::BillingStore::connect(&databases[2].url)
            .await
            .unwrap();
        let billing_db = billing_store.db().clone();
        let billing = Service::start(
            nfip_billing::app(
                nfip_billing::AppState {
                    billing: billing_store,
                },
                callers(),
            ),
            billing_db,
        )
        .await;

        let notifications = nfip_notification::NotificationStore::connect(&databases[3].url)
            .await
            .unwrap();
        let outbox = std::env::temp_dir()
            .join("nfip-tests")
            .join(format!("outbox-{}", uuid::Uuid::new_v4()));
        let channel = Arc::new(Outbox::new(
            &outbox,
            "NFIP <no-reply@nfip.invalid>".parse().unwrap(),
        ));
        let worker = Worker::spawn(notifications.clone(), channel, RetryPolicy::default());
        let notification_db = notifications.db().clone();
        let notification = Service::start(
            nfip_notification::app(
                nfip_notification::AppState {
                    notifications,
                    handoff: worker.handoff(),
                },
                callers(),
            ),
            notification_db,
        )
        .await;

        let endpoint = |service: &Service| Endpoint::new(service.proxy.url(), Some(CALLER_KEY));
        let endpoints = Endpoints {
            risk: endpoint(&risk),
            policy: endpoint(&policy),
            billing: endpoint(&billing),
            notification: endpoint(&notification),
        };
        let clients = format!(
            "{},{}",
            entry("system-tests", KEY),
            entry("another-client", OTHER_KEY)
        );
        let settings = Settings {
            calls: CallPolicy {
                hop_timeout: HOP_TIMEOUT,
                connect_timeout: Duration::from_millis(200),
                attempts: 3,
                backoff: Duration::from_millis(10),
                breaker_threshold: 20,
                breaker_cooldown: Duration::from_millis(200),
            },
            clients: Callers::parse(&clients, "test clients").unwrap(),
            rate_limit: RateLimit::UNLIMITED,
            deadline: DEADLINE,
            followup_retry: Duration::from_millis(50),
            ..Settings::new(&databases[4].url, endpoints)
        };
        let built = Gateway::build(settings).await.unwrap();
        let journal = built.state.journal.clone();
        let followups_wake = Arc::clone(&built.state.followups);
        let gateway = TestServer::spawn_with(built.router.clone(), limits).await;
        Stack {
            gateway,
            http: reqwest::Client::new(),
            risk,
            policy,
            billing,
            notification,
            journal,
            followups_wake,
            outbox,
            _databases: databases,
            worker: Some(worker),
            gateway_process: Some(built),
        }
    }

    pub async fn stop(mut self) {
        if let Some(gateway) = self.gateway_process.take() {
            gateway.stop().await;
        }
        if let Some(worker) = self.worker.take() {
            worker.stop().await;
        }
        let _ = std::fs::remove_dir_all(&self.outbox);
        // The databases go with `self`.
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(self.gateway.url(path))
            .header("x-api-key", KEY)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(self.gateway.url(path))
            .header("x-api-key", KEY)
    }

    /// POST /purchase as the client holding `api_key`, optionally with an Idempotency-Key.
    pub async fn purchase_as(
        &self,
        api_key: &str,
        body: &Value,
        key: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(self.gateway.url("/purchase"))
            .header("x-api-key", api_key)
            .json(body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        request.send().await.expect("the gateway answers")
    }

    /// POST /purchase, optionally with an Idempotency-Key.
    pub async fn purchase(&self, body: &Value, key: Option<&str>) -> reqwest::Response {
        let mut request = self.post("/purchase").json(body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        request.send().await.expect("the gateway answers")
    }

    /// Policies the policy service holds in this status.
    pub async fn policies(&self, status: &str) -> i64 {
        self.policy
            .count("policies", &format!("status = '{status}'"))
            .await
    }

    /// The state of a purchase in the gateway's journal.
    pub async fn journal_state(&self, key: &str) -> Option<String> {
        nfip_kit::db::query("SELECT state FROM purchase_journal WHERE purchase_key = $1")
            .bind(key)
            .fetch_optional(self.journal.db())
            .await
            .unwrap()
            .map(|row| row.get("state"))
    }

    /// Waits until the policy and billing services hold exactly these counts, as the follow-up
    /// worker finishes undoing.
    pub async fn settles_at(&self, active: i64, cancelled: i64, open: i64, void: i64) {
        let wanted = (active, cancelled, open, void);
        eventually(
            "the purchase to be undone",
            Duration::from_secs(10),
            || async {
                let now = (
                    self.policies("active").await,
                    self.policies("cancelled").await,
                    self.invoices("open").await,
                    self.invoices("void").await,
                );
                (now == wanted).then_some(())
            },
        )
        .await;
    }

    /// Invoices the billing service holds in this status.
    pub async fn invoices(&self, status: &str) -> i64 {
        self.billing
            .count("invoices", &format!("status = '{status}'"))
            .await
    }
}

pub fn order(zipcode: &str) -> Value {
    json!({
        "zipcode": zipcode,
        "base_rate": 1200.00,
        "user": "Ada Lovelace",
        "contact": {"email": "ada@example.org"}
    })
}
