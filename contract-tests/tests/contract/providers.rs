//! Provider verification: every interaction the snapshots recorded is replayed, over HTTP,
//! against the real service — its `app()` on 127.0.0.1:0 with a fresh database — by the same
//! verifier `contract-tests verify` runs against a service at any URL. The real answer must
//! have the recorded status, keep to the published spec, and (for a success) have the recorded
//! shape. So the mocks above cannot drift from what the services really do.
//!
//! The states the interactions name (an invoice already paid) are set up through the
//! service's own API. Answers the tests injected as faults (5xx) are not replayed: a healthy
//! service does not give them.

use std::path::Path;

use nfip_contract_tests::Spec;
use nfip_contract_tests::replay;
use nfip_contract_tests::states::Target;
use nfip_contract_tests::verify::{self, States};
use nfip_kit::db::Backend;
use nfip_kit_test::{TestDatabase, TestServer, caller_headers, callers};

const SNAPSHOTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/contract/snapshots");

/// A real service, started for the replay.
struct Real {
    spec: Spec,
    server: TestServer,
    http: reqwest::Client,
    /// Kept for as long as the service runs; removed with it.
    _db: TestDatabase,
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
                    handoff: Default::default(),
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
            _db: db,
        }
    }
}

async fn verify(name: &str) {
    let real = Real::start(name).await;
    let interactions = replay::recorded(Path::new(SNAPSHOTS), name);
    assert!(
        !interactions.is_empty(),
        "no recorded interactions with {name} under {SNAPSHOTS}"
    );
    let target = Target {
        base: real.server.url(""),
        http: real.http.clone(),
    };
    let verdicts = verify::verify(&real.spec, &interactions, &target, &States::PublicApi).await;
    assert!(
        verdicts.iter().all(|v| !v.failed()),
        "the mocks drifted from the real {name} service:\n{}",
        verify::table(&verdicts)
    );
    assert!(
        verdicts.iter().any(verify::Verdict::passed),
        "nothing of {name} was replayed"
    );
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
