//! The validating mock server (`contract-tests mock`), on the fixture spec: it answers from the
//! spec's examples or a script, refuses a script that lies about the provider, and reports
//! every request that breaks the spec.

use std::net::TcpListener;
use std::path::Path;

use nfip_contract_tests::Spec;
use nfip_contract_tests::mock_server::{Answer, Report, Script, ValidatingMock};
use nfip_kit_test::Fetch;
use serde_json::{Value, json};

const ITEM_ID: &str = "019a7b4e-8f1c-7d2a-9b3e-4c5d6e7f8a9b";
const SOLD_ID: &str = "00000000-0000-4000-8000-000000000001";

fn shop() -> Spec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shop.json");
    Spec::load("shop", &path).unwrap()
}

fn answer(operation: &str, path: Option<&str>, status: u16, body: Option<Value>) -> Answer {
    serde_json::from_value(json!({
        "operation": operation, "path": path, "status": status, "body": body,
    }))
    .unwrap()
}

async fn start(script: Script) -> Result<ValidatingMock, Vec<String>> {
    ValidatingMock::start(shop(), script, TcpListener::bind("127.0.0.1:0").unwrap()).await
}

#[tokio::test]
async fn it_answers_from_the_spec_and_the_script_and_reports_what_breaks_the_spec() {
    let sold = json!({"id": SOLD_ID, "name": "Pump", "price": 300, "status": "sold"});
    let script = Script {
        answers: vec![answer(
            "get_item",
            Some(&format!("/items/{SOLD_ID}")),
            200,
            Some(sold.clone()),
        )],
    };
    let mock = start(script).await.unwrap();
    let http = reqwest::Client::new();
    let get = |path: String| {
        http.get(format!("{}{path}", mock.uri()))
            .bearer_auth("k")
            .send()
    };
    // The spec's example, then the scripted answer for one path.
    let example = get(format!("/items/{ITEM_ID}")).await.unwrap();
    assert_eq!(example.status(), 200);
    assert_eq!(example.json::<Value>().await.unwrap()["name"], "Sandbags");
    let scripted = get(format!("/items/{SOLD_ID}")).await.unwrap();
    assert_eq!(scripted.json::<Value>().await.unwrap(), sold);
    assert_eq!(
        mock.report(),
        Report {
            requests: 2,
            violations: vec![]
        }
    );
    // An answer without a body needs no example.
    let empty = get(String::from("/items/search")).await.unwrap();
    assert_eq!(empty.status(), 200);
    assert_eq!(empty.content_length(), Some(0));
    // The example of the response's schema.
    let created = http
        .post(format!("{}/items", mock.uri()))
        .bearer_auth("k")
        .header("idempotency-key", "k1")
        .json(&json!({"name": "Pump", "price": 300}))
        .fetch()
        .await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.json::<Value>().await.unwrap()["id"], ITEM_ID);
    // An operation the spec gives no example for, unscripted: 501, and reported.
    let wrong = http
        .get(format!("{}/items?limit=0&page=2", mock.uri()))
        .header("x-debug", "1")
        .fetch()
        .await;
    assert_eq!(wrong.status(), 501);
    let nowhere = get(String::from("/shops")).await.unwrap();
    assert_eq!(nowhere.status(), 404);
    let served: Report = http
        .get(format!("{}/__contract/report", mock.uri()))
        .fetch_json()
        .await;
    assert_eq!(served, mock.report());
    assert_eq!(
        served.violations,
        [
            "GET /items: shop list_items (GET /items): sends no credential it declares (security: bearer or key)",
            "GET /items: shop list_items (GET /items): query parameter limit=\"0\" at /: 0 is less than the minimum of 1",
            "GET /items: shop list_items (GET /items): the query parameter page is not declared",
            "GET /items: shop list_items (GET /items): the header x-debug is not declared",
            "GET /items: the mock of shop has no answer for list_items: script one",
            "GET /shops: shop: no operation for GET /shops",
        ]
    );
    assert_eq!(served.requests, 6);
}

#[tokio::test]
async fn a_script_that_contradicts_the_spec_does_not_start() {
    let script = Script {
        answers: vec![
            answer("get_item", None, 200, Some(json!({"id": ITEM_ID}))),
            answer("get_item", None, 418, None),
            answer("get_item", Some("/items/search"), 200, None),
            answer("delete_item", None, 204, None),
        ],
    };
    let problems = start(script).await.err().expect("refused");
    assert_eq!(
        problems,
        [
            "shop get_item (GET /items/{id}): 200 body at /: \"name\" is a required property\nshop get_item (GET /items/{id}): 200 body at /: \"price\" is a required property\nshop get_item (GET /items/{id}): 200 body at /: \"status\" is a required property",
            "shop get_item (GET /items/{id}): 418 is not a declared status (declared: 200, 404)",
            "shop: /items/search reaches search_items, not get_item",
            "shop: no operation \"delete_item\" in the spec",
        ]
    );
}
