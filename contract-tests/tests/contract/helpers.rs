//! The consumer under test — the gateway — pointed at the four mocked providers.

use std::collections::BTreeMap;
use std::time::Duration;

use nfip_contract_tests::{Answered, MockProvider, Providers, SeenRequest, problem, states};
use nfip_gateway::clients::RateLimit;
use nfip_gateway::upstream::CallPolicy;
use nfip_gateway::{Endpoint, Endpoints, Gateway, Settings};
use nfip_kit::auth::Callers;
use nfip_kit::db::Backend;
use nfip_kit_test::{TestDatabase, TestServer, eventually};
use serde_json::{Value, json};

pub const KEY: &str = "contract-test-key";
/// The credential the gateway presents to every provider.
pub const SERVICE_TOKEN: &str = "contract-test-service-token";
/// The gateway gives up on one call after this long.
pub const HOP_TIMEOUT: Duration = Duration::from_millis(200);

pub const POLICY_ID: &str = "019a7b4e-8f1c-7d2a-9b3e-4c5d6e7f8a9b";
pub const INVOICE_ID: &str = "019a7b4f-0000-7000-8000-000000000001";
pub const NOTIFICATION_ID: &str = "019a7b50-0000-7000-8000-000000000002";
pub const PAYMENT_ID: &str = "019a7b51-0000-7000-8000-000000000003";
pub const UNKNOWN_ID: &str = "0192f0c1-7d4e-7cc2-9a8e-2f1d2b9a4c11";

pub struct Consumer {
    pub providers: Providers,
    gateway: TestServer,
    http: reqwest::Client,
    /// Kept for as long as the gateway runs; removed with it.
    _db: TestDatabase,
    built: Option<Gateway>,
}

impl Consumer {
    /// The gateway (with its follow-up worker) in front of freshly mocked providers.
    pub async fn start() -> Consumer {
        let providers = Providers::start().await;
        let db = TestDatabase::create(Backend::Sqlite).await;
        let endpoint = |uri: String| Endpoint::new(uri, Some(SERVICE_TOKEN));
        let endpoints = Endpoints {
            risk: endpoint(providers.risk.uri()),
            policy: endpoint(providers.policy.uri()),
            billing: endpoint(providers.billing.uri()),
            notification: endpoint(providers.notification.uri()),
        };
        let settings = Settings {
            calls: CallPolicy {
                hop_timeout: HOP_TIMEOUT,
                connect_timeout: Duration::from_millis(200),
                attempts: 2,
                backoff: Duration::from_millis(5),
                breaker_threshold: 100,
                breaker_cooldown: Duration::from_millis(100),
            },
            clients: Callers::single("contract-tests", KEY),
            rate_limit: RateLimit::UNLIMITED,
            deadline: Duration::from_secs(1),
            followup_retry: Duration::from_millis(20),
            ..Settings::new(&db.url, endpoints)
        };
        let built = Gateway::build(settings).await.expect("the gateway builds");
        // The client owns the fixture ids, as if it had bought them, so reads and payments
        // reach the providers (the gateway answers 404 itself for what a client does not own).
        for (policy, invoice) in [(POLICY_ID, INVOICE_ID), (UNKNOWN_ID, UNKNOWN_ID)] {
            nfip_kit::db::query(
                "INSERT INTO ownership (policy_id, invoice_id, client, sold_at) \
                 VALUES ($1, $2, 'contract-tests', '')",
            )
            .bind(policy)
            .bind(invoice)
            .execute(built.state.journal.db())
            .await
            .expect("grant a fixture id");
        }
        let gateway = TestServer::spawn(built.router.clone()).await;
        Consumer {
            providers,
            gateway,
            http: reqwest::Client::new(),
            _db: db,
            built: Some(built),
        }
    }

    /// Calls the gateway as a client would.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Answered {
        let mut request = self
            .http
            .request(method.parse().expect("a method"), self.gateway.url(path))
            .header("x-api-key", KEY);
        let mut headers = BTreeMap::new();
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
            headers.insert("idempotency-key".to_owned(), key.to_owned());
        }
        if let Some(body) = &body {
            request = request.json(body);
            headers.insert("content-type".to_owned(), "application/json".to_owned());
        }
        let response = request.send().await.expect("the gateway answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        Answered {
            request: SeenRequest {
                method: method.to_owned(),
                path: path.to_owned(),
                query: Vec::new(),
                headers,
                body: body.map(|b| b.to_string()),
            },
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    pub async fn purchase(&self, order: Value, key: Option<&str>) -> Answered {
        self.send("POST", "/purchase", key, Some(order)).await
    }

    /// Waits until the providers have answered `operation` `count` times (follow-up work).
    pub async fn wait_for(&self, operation: &str, count: usize) {
        eventually(
            &format!("{count} call(s) to {operation}"),
            Duration::from_secs(10),
            || async {
                let seen = self
                    .providers
                    .exchanges()
                    .iter()
                    .filter(|e| e.operation == operation)
                    .count();
                (seen >= count).then_some(())
            },
        )
        .await;
    }

    pub async fn stop(mut self) {
        if let Some(built) = self.built.take() {
            built.stop().await;
        }
    }
}

/// `provider` failing `operation` with a 500, every time.
pub async fn fails(provider: &MockProvider, operation: &str) {
    provider.on(operation).respond(500, internal_error()).await;
}

/// `provider` failing `operation` with a 500 once, then answering as other mocks say.
pub async fn fails_once(provider: &MockProvider, operation: &str) {
    provider
        .on(operation)
        .times(1)
        .respond(500, internal_error())
        .await;
}

/// The gateway's answer has `status`, and `value` in its body's `field`.
pub fn assert_answer(answered: &Answered, status: u16, field: &str, value: &str) {
    assert_eq!(
        (answered.status, answered.body[field].as_str()),
        (status, Some(value)),
        "{}",
        answered.body
    );
}

/// A service's 500 answer, as every service words it.
pub fn internal_error() -> Value {
    problem(
        "internal",
        "Internal error",
        500,
        "an internal error occurred",
    )
}

pub fn order() -> Value {
    json!({
        "zipcode": "33139",
        "base_rate": 1200.00,
        "user": "Ada Lovelace",
        "contact": {"email": "ada@example.org"}
    })
}

pub fn risk(zipcode: &str) -> Value {
    json!({
        "zipcode": zipcode,
        "risk_score": 0.9,
        "flood_zone": "AE",
        "state": "FL",
        "source": "table",
        "data_version": "nfip sample table of 2026-11-25",
        "elevation_ft": 4.0,
        "distance_to_water_mi": 0.1,
        "flood_claims_10y": 214,
        "factors": [
            {"factor": "flood_zone", "contribution": 0.4, "explanation": "flood zone AE: special flood hazard area (1% annual chance)"},
            {"factor": "elevation", "contribution": 0.2, "explanation": "4 ft above sea level"},
            {"factor": "distance_to_water", "contribution": 0.15, "explanation": "0.1 mi from the nearest water"},
            {"factor": "claims_history", "contribution": 0.15, "explanation": "214 flood claims in the last 10 years"}
        ]
    })
}

pub fn policy(status: &str) -> Value {
    let mut policy = json!({
        "id": POLICY_ID,
        "holder": "Ada Lovelace",
        "contact": {"email": "ada@example.org"},
        "zipcode": "33139",
        "risk_score": 0.9,
        "status": status,
        "created_at": "2026-11-25T10:00:00.000000Z"
    });
    if status == "cancelled" {
        policy["cancelled_at"] = json!("2026-11-25T10:00:01.000000Z");
    }
    policy
}

pub fn invoice(status: &str) -> Value {
    let mut invoice = json!({
        "id": INVOICE_ID,
        "policy_id": POLICY_ID,
        "base_rate_cents": 120000,
        "risk_score": 0.9,
        "amount_cents": 108000,
        "currency": "USD",
        "status": status,
        "created_at": "2026-11-25T10:00:00.000000Z"
    });
    match status {
        "paid" => invoice["paid_at"] = json!("2026-11-25T10:05:00.000000Z"),
        "void" => invoice["voided_at"] = json!("2026-11-25T10:05:00.000000Z"),
        _ => {}
    }
    invoice
}

pub fn notification() -> Value {
    json!({
        "id": NOTIFICATION_ID,
        "channel": "email",
        "to": "ada@example.org",
        "subject": "Your flood insurance policy",
        "body": "Your policy is active.",
        "policy_id": POLICY_ID,
        "status": "queued",
        "attempts": 0,
        "created_at": "2026-11-25T10:00:00.000000Z"
    })
}

pub fn payment() -> Value {
    json!({
        "id": PAYMENT_ID,
        "invoice_id": INVOICE_ID,
        "amount_cents": 108000,
        "currency": "USD",
        "card_last4": "4242",
        "created_at": "2026-11-25T10:05:00.000000Z"
    })
}

/// Every provider answering a purchase as it should, except the operations in `except`,
/// which the test sets up itself (before calling this, so its answers win).
pub async fn happy_purchase(providers: &Providers, except: &[&str]) {
    let answers = [
        (&providers.risk, "get_risk", 200, risk("33139")),
        (&providers.policy, "create_policy", 201, policy("active")),
        (&providers.billing, "create_invoice", 201, invoice("open")),
        (
            &providers.notification,
            "create_notification",
            202,
            notification(),
        ),
    ];
    for (provider, operation, status, body) in answers {
        if except.contains(&operation) {
            continue;
        }
        let on = provider.on(operation);
        let on = match operation {
            "get_risk" => on.given(states::RATED_33139),
            _ => on,
        };
        on.respond(status, body).await;
    }
}

/// What compensation calls, besides replaying the creates, on the policy and billing services,
/// all answering well.
pub async fn compensation_answers(providers: &Providers) {
    let cancel = providers
        .policy
        .on("cancel_policy")
        .given(states::POLICY_EXISTS);
    cancel.respond(200, policy("cancelled")).await;
    let void = providers
        .billing
        .on("void_invoice")
        .given(states::OPEN_INVOICE);
    void.respond(200, invoice("void")).await;
}
