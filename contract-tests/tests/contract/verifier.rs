//! The provider verifier (`contract-tests verify`), on the fixture spec, against a provider
//! that sets its state up through a hook: what conforms passes, and each way of breaking the
//! recorded contract is named.

use std::path::Path;

use nfip_contract_tests::provider::Exchange;
use nfip_contract_tests::replay::Interaction;
use nfip_contract_tests::states::Target;
use nfip_contract_tests::verify::{self, States};
use nfip_contract_tests::{SeenRequest, Spec};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ITEM_ID: &str = "019a7b4e-8f1c-7d2a-9b3e-4c5d6e7f8a9b";

fn interaction(path: &str, status: u16, response: Value, given: Option<&str>) -> Interaction {
    Interaction {
        source: String::from("fixture.snap"),
        exchange: Exchange {
            provider: String::from("shop"),
            operation: String::from("get_item"),
            request: SeenRequest {
                method: String::from("GET"),
                path: path.to_owned(),
                ..SeenRequest::default()
            },
            status,
            response,
            off_contract: None,
            given: given.map(str::to_owned),
        },
    }
}

/// A provider whose state hook makes the item, answering `item` for it.
async fn provider(item: Value, unknown_status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/__provider-state"))
        .and(body_partial_json(json!({"state": "an item exists"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": ITEM_ID})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/items/{ITEM_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(item))
        .mount(&server)
        .await;
    let problem = json!({"type": "about:blank", "title": "Not found", "status": 404});
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(unknown_status).set_body_raw(
            serde_json::to_vec(&problem).unwrap(),
            "application/problem+json",
        ))
        .mount(&server)
        .await;
    server
}

async fn run(server: &MockServer) -> Vec<verify::Verdict> {
    let spec = Spec::load(
        "shop",
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shop.json"),
    )
    .unwrap();
    let recorded = json!({"id": "[uuid]", "name": "Sandbags", "price": 12.5, "status": "open"});
    let interactions = [
        interaction("/items/[uuid]", 200, recorded, Some("an item exists")),
        interaction("/items/[uuid]", 404, Value::Null, None),
        interaction("/items/[uuid]", 503, Value::Null, None),
    ];
    let target = Target {
        base: server.uri(),
        http: reqwest::Client::new(),
    };
    let hook = States::Hook(format!("{}/__provider-state", server.uri()));
    verify::verify(&spec, &interactions, &target, &hook).await
}

#[tokio::test]
async fn a_conforming_provider_passes_with_its_state_set_up_through_its_hook() {
    let item = json!({"id": ITEM_ID, "name": "Pump", "price": 300, "status": "sold"});
    let verdicts = run(&provider(item, 404).await).await;
    let table = verify::table(&verdicts);
    assert!(
        table.ends_with("2 passed, 0 failed, 1 skipped\n"),
        "{table}"
    );
    assert!(
        table.contains("PASS  get_item 200  given \"an item exists\""),
        "{table}"
    );
}

#[tokio::test]
async fn a_provider_that_breaks_the_contract_fails_saying_how() {
    let item = json!({"id": ITEM_ID, "name": "Pump", "price": "300", "colour": "red"});
    let verdicts = run(&provider(item, 200).await).await;
    let failures: Vec<&[String]> = verdicts.iter().map(|v| v.failures.as_slice()).collect();
    assert_eq!(
        failures[0],
        [
            "the answer breaks the spec: shop get_item (GET /items/{id}): 200 body at /: \"status\" is a required property",
            "the answer breaks the spec: shop get_item (GET /items/{id}): 200 body at /price: \"300\" is not of type \"number\"",
            "the answer's shape differs at /price: recorded a number, the provider answered a string",
            "the answer's shape differs at /status: recorded, but the provider did not answer it",
            "the answer's shape differs at /colour: answered by the provider, but not recorded",
        ]
    );
    assert_eq!(failures[1].len(), 1);
    assert!(
        failures[1][0].starts_with("the provider answered 200, the consumer expects 404"),
        "{:?}",
        failures[1]
    );
    assert!(verdicts[2].skipped.is_some() && failures[2].is_empty());
    assert!(verify::table(&verdicts).ends_with("0 passed, 2 failed, 1 skipped\n"));
}
