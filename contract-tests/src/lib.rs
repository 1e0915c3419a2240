//! The contract harness: does a consumer, as built, speak each provider's published spec?
//!
//! 1. [`Spec`] loads an OpenAPI 3.1 document (the committed `openapi/<name>.json`, never a
//!    service's crate), resolves `#/components/...` references and finds the operation for a
//!    method and a concrete path.
//! 2. [`MockProvider`] mocks a provider with wiremock. Every canned response is validated
//!    against the spec when it is set up: a mock that lies about its provider fails the test at
//!    once, naming the operation, the status and the JSON pointer.
//! 3. After the consumer ran, [`Providers::verify`] validates every request it sent: an
//!    operation exists for method and path, its credential, parameters and body are valid, and
//!    it sends no header, query parameter or cookie the operation does not declare.
//! 4. The exchange — what the consumer sent each provider, what it was answered, and what the
//!    consumer answered its caller — is returned normalised (ids, times, request ids redacted)
//!    for an insta snapshot; [`assert_contract!`] does both.
//! 5. Each verified exchange is recorded for the coverage report (`contract-coverage`).
//! 6. The snapshots are the recorded interactions, each naming the provider state it assumes
//!    ([`states`]); [`verify`] replays them over HTTP against a real provider in any language,
//!    so mocks cannot drift from reality.
//! 7. [`mock_server`] serves a provider from its spec for a consumer in any language, checking
//!    every request it receives as strictly.
//!
//! Any consumer of these specs can use it: start a [`Providers`], point the consumer at the
//! providers' URIs, set up answers with `provider.on(operation_id)`, run the consumer, then
//! `assert_contract!`.

pub mod coverage;
pub mod mock_server;
pub mod normalize;
pub mod provider;
pub mod replay;
pub mod spec;
pub mod states;
pub mod verify;

use std::sync::{Arc, Mutex};

pub use insta;
pub use provider::{Exchange, Log, MockProvider};
use serde_json::{Value, json};
pub use spec::{SeenRequest, Spec};

/// What the consumer was asked, and what it answered.
#[derive(Debug, Clone)]
pub struct Answered {
    pub request: SeenRequest,
    pub status: u16,
    pub body: Value,
}

/// The four nfip providers, mocked from their published specs, sharing one log.
pub struct Providers {
    pub risk: MockProvider,
    pub policy: MockProvider,
    pub billing: MockProvider,
    pub notification: MockProvider,
    log: Log,
}

impl Providers {
    pub async fn start() -> Providers {
        let log: Log = Arc::new(Mutex::new(Vec::new()));
        let provider = |name: &str| MockProvider::start(Spec::published(name), Arc::clone(&log));
        Providers {
            risk: provider("risk").await,
            policy: provider("policy").await,
            billing: provider("billing").await,
            notification: provider("notification").await,
            log,
        }
    }

    pub fn all(&self) -> [&MockProvider; 4] {
        [&self.risk, &self.policy, &self.billing, &self.notification]
    }

    /// Everything the providers answered so far, in order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log.lock().expect("log lock").clone()
    }

    /// Checks every request the consumer sent against its provider's spec; records coverage;
    /// returns the normalised exchange to snapshot. Panics with every violation found.
    pub async fn verify(&self, answered: &Answered) -> Value {
        let violations = self.violations().await;
        assert!(
            violations.is_empty(),
            "the consumer broke the published specs:\n{}",
            violations.join("\n")
        );
        let exchanges = self.exchanges();
        coverage::record(&exchanges);
        normalize::exchange(answered, &exchanges)
    }

    /// What [`verify`](Self::verify) would panic with.
    pub async fn violations(&self) -> Vec<String> {
        let mut violations = Vec::new();
        for provider in self.all() {
            violations.extend(provider.check_requests().await);
        }
        violations
    }
}

/// Verifies the exchange against the specs and compares it with its insta snapshot.
#[macro_export]
macro_rules! assert_contract {
    ($providers:expr, $name:expr, $answered:expr) => {{
        let exchange = $providers.verify(&$answered).await;
        $crate::insta::assert_json_snapshot!($name, exchange);
    }};
}

/// A problem body as the providers give it (with the request id they echo).
pub fn problem(kind: &str, title: &str, status: u16, detail: &str) -> Value {
    json!({
        "type": format!("urn:nfip:problem:{kind}"),
        "title": title,
        "status": status,
        "detail": detail,
        "request_id": "5f0c6c1e-3c59-4a43-9c55-2a8f0f2b7d11"
    })
}
