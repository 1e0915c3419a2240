use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub use nfip_kit_test::problem;
use nfip_kit_test::{TestClient, TestDatabase, eventually};
use nfip_notification::delivery::{BoxFuture, Deliver, DeliveryError, Outbox, RetryPolicy, Worker};
use nfip_notification::domain::Notification;
use nfip_notification::{AppState, NotificationStore};
use serde_json::{Value, json};

pub struct TestApp {
    /// The app, and a client that calls it as the gateway does.
    pub client: TestClient,
    pub store: NotificationStore,
    pub worker: Option<Worker>,
}

/// Fast retries, so tests see backoff without waiting seconds.
pub const FAST_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    base: Duration::from_millis(5),
    cap: Duration::from_millis(50),
    lease: Duration::from_secs(60),
};

pub fn outbox_dir() -> PathBuf {
    std::env::temp_dir()
        .join("nfip-tests")
        .join(format!("outbox-{}", uuid::Uuid::new_v4()))
}

pub fn outbox(dir: &PathBuf) -> Outbox {
    Outbox::new(dir, "NFIP <no-reply@nfip.invalid>".parse().unwrap())
}

pub async fn spawn_app(
    db: &TestDatabase,
    channel: Arc<dyn Deliver>,
    retry: RetryPolicy,
) -> TestApp {
    let store = NotificationStore::connect(&db.url)
        .await
        .expect("open the store");
    let worker = Worker::spawn(store.clone(), channel, retry);
    let client = TestClient::spawn(nfip_notification::app(
        AppState {
            notifications: store.clone(),
            handoff: worker.handoff(),
        },
        nfip_kit_test::callers(),
    ))
    .await;
    TestApp {
        client,
        store,
        worker: Some(worker),
    }
}

pub fn email(to: &str) -> Value {
    json!({"channel": "email", "to": to, "subject": "Your policy", "body": "It is active."})
}

impl TestApp {
    /// Queues a notification, returning its URL.
    pub async fn send(&self, body: &Value) -> String {
        let response = self.post("/api/notifications", body).await;
        assert_eq!(response.status(), 202);
        response.headers()["location"].to_str().unwrap().to_owned()
    }

    /// Polls the notification until its status is final (`sent` or `failed`).
    pub async fn settled(&self, location: &str) -> Value {
        eventually(
            "the notification to settle",
            Duration::from_secs(10),
            || async {
                let body: Value = self.get(location).await.json().await.unwrap();
                (body["status"] != "queued").then_some(body)
            },
        )
        .await
    }

    pub async fn stored(&self) -> i64 {
        nfip_kit_test::count_rows(self.store.db(), "notifications").await
    }
}

/// A channel that fails `failures` times (transiently, or for good), then delivers; each attempt
/// taking `delay`, as a slow relay's does.
pub struct Flaky {
    pub failures: u32,
    pub transient: bool,
    pub delay: Duration,
    pub attempts: AtomicU32,
}

impl Flaky {
    pub fn new(failures: u32, transient: bool) -> Arc<Flaky> {
        Arc::new(Flaky {
            failures,
            transient,
            delay: Duration::ZERO,
            attempts: AtomicU32::new(0),
        })
    }

    /// A channel that delivers every message, each in `delay`.
    pub fn slow(delay: Duration) -> Arc<Flaky> {
        Arc::new(Flaky {
            failures: 0,
            transient: true,
            delay,
            attempts: AtomicU32::new(0),
        })
    }
}

impl Deliver for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }

    fn deliver<'a>(&'a self, _: &'a Notification) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(async move {
            let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
            if !self.delay.is_zero() {
                // A slow relay's attempt, not a wait for something to happen.
                tokio::time::sleep(self.delay).await;
            }
            if attempt > self.failures {
                Ok(())
            } else if self.transient {
                Err(DeliveryError::transient(format!(
                    "relay busy (attempt {attempt})"
                )))
            } else {
                Err(DeliveryError::permanent("mailbox does not exist"))
            }
        })
    }
}

impl std::ops::Deref for TestApp {
    type Target = TestClient;

    fn deref(&self) -> &TestClient {
        &self.client
    }
}
