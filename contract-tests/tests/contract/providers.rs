//! Provider verification: every interaction the snapshots recorded is replayed against the real
//! service — its `app()` on 127.0.0.1:0 with a fresh database — and the real answer must have
//! the recorded status, keep to the published spec, and (for a success) have the recorded
//! shape. So the mocks above cannot drift from what the services really do.
//!
//! A recorded request refers to things that must exist (a policy to read, an invoice already
//! paid): `prepare` sets up that provider state through the service's own API first. Answers
//! that the tests injected as faults (5xx, or marked off-contract) are not replayed: a healthy
//! service does not give them.

use std::path::Path;

use nfip_contract_tests::replay::{self, Interaction};
use nfip_contract_tests::{SeenRequest, Spec};
use nfip_kit::db::Backend;
use nfip_kit::testing::{TestDatabase, TestServer, caller_headers, callers};
use serde_json::{Value, json};
use uuid::Uuid;

const SNAPSHOTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/contract/snapshots");

/// A real service, started for the replay.
struct Real {
    spec: Spec,
    server: TestServer,
    http: reqwest::Client,
    db: TestDatabase,
}

impl Real {
    async fn start(name: &str) -> Real {
        let db = TestDatabase::create(Backend::Sqlite).await;
        let app = match name {
            "risk" => {
                let ratings = nfip_risk::RatingStore::connect(&db.url).await.unwrap();
                nfip_risk::seed_if_empty(&ratings).await.unwrap();
                nfip_risk::app(nfip_risk::AppState::new(ratings).unwrap(), callers())
            }
            "policy" => nfip_policy::app(
                nfip_policy::AppState {
                    policies: nfip_policy::PolicyStore::connect(&db.url).await.unwrap(),
                },
                callers(),
            ),
            "billing" => nfip_billing::app(
                nfip_billing::AppState {
                    billing: nfip_billing::BillingStore::connect(&db.url).await.unwrap(),
                },
                callers(),
            ),
            "notification" => nfip_notification::app(
                nfip_notification::AppState {
                    notifications: nfip_notification::NotificationStore::connect(&db.url)
                        .await
                        .unwrap(),
                    wake: Default::default(),
                },
                callers(),
            ),
            other => panic!("no service {other}"),
        };
        Real {
            spec: Spec::published(name),
            server: TestServer::spawn(app).await,
            // As the gateway calls them: with the credential they trust.
            http: reqwest::Client::builder()
                .default_headers(caller_headers())
                .build()
                .unwrap(),
            db,
        }
    }

    async fn send(&self, request: &SeenRequest) -> (u16, String, Vec<u8>) {
        let mut url = self.server.url(&request.path);
        if !request.query.is_empty() {
            let query: Vec<String> = request
                .query
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            url = format!("{url}?{}", query.join("&"));
        }
        let mut outgoing = self.http.request(request.method.parse().unwrap(), url);
        for (name, value) in &request.headers {
            outgoing = outgoing.header(name, value);
        }
        if let Some(body) = &request.body {
            outgoing = outgoing.body(body.clone());
        }
        let response = outgoing.send().await.expect("the real service answers");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (
            status,
            content_type,
            response.bytes().await.unwrap().to_vec(),
        )
    }

    /// POSTs JSON and returns the answer's `id`.
    async fn create(&self, path: &str, key: &str, body: Value) -> String {
        let response = self
            .http
            .post(self.server.url(path))
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "state setup: POST {path} answered {}",
            response.status()
        );
        response.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn policy(&self) -> String {
        let body = json!({"holder": "Ada Lovelace", "contact": {"email": "ada@example.org"}, "zipcode": "33139", "risk_score": 0.9});
        self.create("/api/policies", &Uuid::new_v4().to_string(), body)
            .await
    }

    async fn invoice(&self, policy_id: &str) -> String {
        let body = json!({"policy_id": policy_id, "base_rate_cents": 120000, "risk_score": 0.9});
        self.create("/api/invoices", &Uuid::new_v4().to_string(), body)
            .await
    }
}

/// Sets up the state the recorded request needs, and fills the ids the snapshot redacted.
async fn prepare(
    real: &Real,
    interaction: &Interaction,
    request: &mut SeenRequest,
) -> Result<(), String> {
    let exchange = &interaction.exchange;
    let fresh = Uuid::new_v4().to_string();
    // Each interaction is a purchase (or payment) of its own: its own derived key stem.
    let derived = Uuid::new_v4().simple().to_string();
    let mut path_id = fresh.clone();
    match (
        real.spec.name.as_str(),
        exchange.operation.as_str(),
        exchange.status,
    ) {
        ("risk", "get_risk", 200 | 404) => {}
        ("policy", "create_policy" | "get_policy", 201 | 404) => {}
        ("billing", "create_invoice", 201) | ("billing", "get_invoice" | "pay_invoice", 404) => {}
        ("billing", "pay_invoice", 422) | ("notification", "create_notification", 202) => {}
        ("policy", "get_policy" | "cancel_policy", 200) => path_id = real.policy().await,
        ("billing", "get_invoice" | "void_invoice" | "pay_invoice", 200 | 201 | 402) => {
            path_id = real.invoice(&fresh).await;
        }
        ("billing", "pay_invoice", 409) => {
            path_id = real.invoice(&fresh).await;
            real.create(
                &format!("/api/invoices/{path_id}/payments"),
                "paid-before",
                json!({"card_number": "4242424242424242"}),
            )
            .await;
        }
        // A refusal of a well-formed create: the idempotency key was already used for another.
        ("policy", "create_policy", 422) | ("billing", "create_invoice", 422) => {
            let key = request
                .headers
                .get("idempotency-key")
                .cloned()
                .unwrap_or_default()
                .replace("[uuid]", &fresh)
                .replace("[derived]", &derived);
            let (path, other) = if real.spec.name == "policy" {
                (
                    "/api/policies",
                    json!({"holder": "Someone Else", "zipcode": "10001", "risk_score": 0.1}),
                )
            } else {
                (
                    "/api/invoices",
                    json!({"policy_id": fresh, "base_rate_cents": 1, "risk_score": 0.1}),
                )
            };
            real.create(path, &key, other).await;
        }
        (provider, operation, status) => {
            return Err(format!(
                "{}: no provider state for {provider} {operation} {status}; add one to prepare()",
                interaction.source
            ));
        }
    }
    request.path = request.path.replace("[uuid]", &path_id);
    for (_, value) in request.query.iter_mut() {
        *value = value.replace("[uuid]", &fresh);
    }
    for value in request.headers.values_mut() {
        *value = value
            .replace("[uuid]", &fresh)
            .replace("[derived]", &derived);
    }
    if let Some(body) = request.body.as_mut() {
        *body = body.replace("[uuid]", &fresh);
    }
    Ok(())
}

async fn verify(name: &str) {
    let real = Real::start(name).await;
    let interactions = replay::recorded(Path::new(SNAPSHOTS), name);
    assert!(
        !interactions.is_empty(),
        "no recorded interactions with {name} under {SNAPSHOTS}"
    );
    let mut failures = Vec::new();
    let mut replayed = 0;
    for interaction in &interactions {
        let exchange = &interaction.exchange;
        if exchange.status >= 500 {
            continue;
        }
        let mut request = exchange.request.clone();
        if let Err(error) = prepare(&real, interaction, &mut request).await {
            failures.push(error);
            continue;
        }
        let (status, content_type, body) = real.send(&request).await;
        replayed += 1;
        let what = format!(
            "{} {} {} (from {})",
            name, exchange.operation, exchange.status, interaction.source
        );
        if status != exchange.status {
            failures.push(format!(
                "{what}: the real service answered {status}: {}",
                String::from_utf8_lossy(&body)
            ));
            continue;
        }
        let operation = real
            .spec
            .find(&request.method, &request.path)
            .expect("a recorded request has an operation");
        for violation in operation.check_response(status, &content_type, &body) {
            failures.push(format!(
                "{what}: the real answer breaks the spec: {violation}"
            ));
        }
        if (200..300).contains(&status) {
            let real_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            for difference in replay::shape_differences(&exchange.response, &real_body, "") {
                failures.push(format!(
                    "{what}: the mock's answer differs from the real one at {difference}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "the mocks drifted from the real {name} service:\n{}",
        failures.join("\n")
    );
    assert!(replayed > 0, "nothing of {name} was replayed");
    real.db.drop().await;
}

#[tokio::test]
async fn the_real_risk_service_answers_as_the_mocks_did() {
    verify("risk").await;
}

#[tokio::test]
async fn the_real_policy_service_answers_as_the_mocks_did() {
    verify("policy").await;
}

#[tokio::test]
async fn the_real_billing_service_answers_as_the_mocks_did() {
    verify("billing").await;
}

#[tokio::test]
async fn the_real_notification_service_answers_as_the_mocks_did() {
    verify("notification").await;
}
