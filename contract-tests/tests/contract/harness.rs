//! The harness tests itself: a harness that cannot fail proves nothing. Each kind of lie or
//! mistake must be reported, precisely.
//!
//! These tests use their own small spec, `tests/fixtures/shop.json`, never nfip's published
//! ones: a change to a real spec can fail the gateway's contract tests and the provider
//! verification, but never the harness's own tests.

use std::path::Path;
use std::sync::{Arc, Mutex};

use nfip_contract_tests::{MockProvider, Spec};
use nfip_kit_test::Fetch;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

const ITEM_ID: &str = "019a7b4e-8f1c-7d2a-9b3e-4c5d6e7f8a9b";

fn shop() -> Spec {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shop.json");
    Spec::load("shop", &path).unwrap()
}

async fn provider(spec: Spec) -> MockProvider {
    MockProvider::start(spec, Arc::new(Mutex::new(Vec::new()))).await
}

fn item() -> Value {
    json!({"id": ITEM_ID, "name": "Sandbags", "price": 12.5, "status": "open"})
}

/// A client with a credential the fixture's security schemes accept.
fn client() -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert("authorization", HeaderValue::from_static("Bearer secret"));
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_mock_whose_body_breaks_the_spec_is_refused_naming_operation_status_and_pointer() {
    let shop = provider(shop()).await;
    let mut lie = item();
    lie["price"] = json!(1700);
    let error = shop.on("get_item").try_respond(200, lie).await.unwrap_err();
    assert_eq!(
        error,
        "shop get_item (GET /items/{id}): 200 body at /price: 1700 is greater than the maximum of 1000"
    );
}

#[tokio::test]
async fn a_mock_with_a_renamed_or_missing_field_or_a_wrong_enum_is_refused() {
    let shop = provider(shop()).await;
    let mut renamed = item();
    let name = renamed.as_object_mut().unwrap().remove("name").unwrap();
    renamed["title"] = name;
    let refused = |body| async {
        shop.on("get_item")
            .try_respond(200, body)
            .await
            .unwrap_err()
    };
    assert_eq!(
        refused(renamed).await,
        "shop get_item (GET /items/{id}): 200 body at /: \"name\" is a required property"
    );
    let mut wrong_enum = item();
    wrong_enum["status"] = json!("pending");
    let error = refused(wrong_enum).await;
    assert!(
        error.starts_with(
            "shop get_item (GET /items/{id}): 200 body at /status: \"pending\" is not one of"
        ),
        "{error}"
    );
}

#[tokio::test]
async fn a_mock_with_an_undeclared_status_media_type_or_operation_is_refused() {
    let shop = provider(shop()).await;
    let error = shop
        .on("get_item")
        .try_respond(
            418,
            json!({"type": "teapot", "title": "I am a teapot", "status": 418}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        error,
        "shop get_item (GET /items/{id}): 418 is not a declared status (declared: 200, 404)"
    );
    let error = shop
        .on("get_item")
        .try_respond_raw(200, "text/plain", "Sandbags")
        .await
        .unwrap_err();
    assert_eq!(
        error,
        "shop get_item (GET /items/{id}): 200 content type \"text/plain\" is not declared (declared: application/json)"
    );
    let error = shop
        .on("no_such_operation")
        .try_respond(200, json!({}))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        "shop: no operation \"no_such_operation\" in the spec"
    );
}

#[tokio::test]
async fn requests_that_break_the_spec_are_reported() {
    let shop = provider(shop()).await;
    shop.on("create_item").respond(201, item()).await;
    shop.on("list_items").respond(200, json!([])).await;
    let http = client();
    let items = format!("{}/items", shop.uri());
    // A valid request without a credential the spec declares.
    reqwest::Client::new()
        .post(&items)
        .header("idempotency-key", "k1")
        .json(&json!({"name": "Sandbags", "price": 1}))
        .fetch()
        .await;
    // A required field missing, and a field renamed.
    http.post(&items)
        .header("idempotency-key", "k2")
        .json(&json!({"title": "Sandbags", "price": 1}))
        .fetch()
        .await;
    // The idempotency key under another name: the required header is missing, and the one sent
    // is not declared, so a provider would ignore it.
    http.post(&items)
        .header("idempotency-token", "k3")
        .json(&json!({"name": "Sandbags", "price": 1}))
        .fetch()
        .await;
    // A query parameter and a cookie the operation does not declare, and one that is invalid.
    http.get(format!("{items}?limit=0&page=2"))
        .header("cookie", "session=s1; theme=dark")
        .fetch()
        .await;
    // A path parameter that is not a UUID, and a path no operation has.
    http.get(format!("{items}/42")).fetch().await;
    http.get(format!("{}/item", shop.uri())).fetch().await;

    let violations = shop.check_requests().await;
    let expected = [
        "shop create_item (POST /items): sends no credential it declares (security: bearer or key)",
        "shop create_item (POST /items): request body at /: \"name\" is a required property",
        "shop create_item (POST /items): request body at /: Additional properties are not allowed ('title' was unexpected)",
        "shop create_item (POST /items): the required header parameter Idempotency-Key is missing",
        "shop create_item (POST /items): the header idempotency-token is not declared",
        "shop list_items (GET /items): query parameter limit=\"0\" at /: 0 is less than the minimum of 1",
        "shop list_items (GET /items): the query parameter page is not declared",
        "shop list_items (GET /items): the cookie theme is not declared",
        "shop get_item (GET /items/{id}): path parameter id=\"42\" at /: \"42\" is not a \"uuid\"",
        "shop: no mock answered GET /items/42 (set one up with .on(operation))",
        "request to shop: no operation for GET /item",
        "shop: no mock answered GET /item (set one up with .on(operation))",
    ];
    for line in expected {
        assert!(
            violations.iter().any(|v| v == line),
            "missing {line:?} in {violations:#?}"
        );
    }
    assert_eq!(violations.len(), expected.len(), "{violations:#?}");
}

#[tokio::test]
async fn what_keeps_to_the_spec_passes() {
    let shop = provider(shop()).await;
    shop.on("create_item").respond(201, item()).await;
    shop.on("get_item")
        .path(&format!("/items/{ITEM_ID}"))
        .respond(200, item())
        .await;
    shop.on("list_items").respond(200, json!([item()])).await;
    shop.on("health").respond(204, Value::Null).await;
    let http = client();
    let created = http
        .post(format!("{}/items", shop.uri()))
        .header("idempotency-key", "k")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .header("x-request-id", "r1")
        .json(&json!({"name": "Sandbags", "price": 12.5}))
        .fetch()
        .await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["content-type"], "application/json");
    let read = http
        .get(format!("{}/items/{ITEM_ID}", shop.uri()))
        .fetch()
        .await;
    assert_eq!(read.status(), 200);
    // The other security scheme, a declared cookie and query parameter.
    let listed = reqwest::Client::new()
        .get(format!("{}/items?limit=5", shop.uri()))
        .header("x-api-key", "secret")
        .header("cookie", "session=s1")
        .fetch()
        .await;
    assert_eq!(listed.status(), 200);
    // An operation that needs no credential.
    let health = reqwest::Client::new()
        .get(format!("{}/health", shop.uri()))
        .fetch()
        .await;
    assert_eq!(health.status(), 204);
    assert_eq!(shop.check_requests().await, Vec::<String>::new());
}

#[tokio::test]
async fn open_request_schemas_can_be_checked_as_if_closed() {
    for (spec, expected) in [
        (shop(), Vec::new()),
        (
            shop().closing_open_schemas(),
            vec![
                "shop add_note (POST /items/{id}/notes): request body at /: Unevaluated properties are not allowed ('priority' was unexpected)",
                "shop add_note (POST /items/{id}/notes): request body at /author: {\"email\":\"ada@example.org\",\"name\":\"Ada\"} is not valid under any of the schemas listed in the 'oneOf' keyword",
            ],
        ),
    ] {
        let shop = provider(spec).await;
        shop.on("add_note").respond(204, Value::Null).await;
        let note = format!("{}/items/{ITEM_ID}/notes", shop.uri());
        for body in [
            json!({"text": "dry", "author": {"name": "Ada"}}),
            json!({"text": "dry", "author": null}),
            json!({"text": "dry", "priority": 1}),
            json!({"text": "dry", "author": {"name": "Ada", "email": "ada@example.org"}}),
        ] {
            client().post(&note).json(&body).fetch().await;
        }
        let violations = shop.check_requests().await;
        let mut found: Vec<&str> = violations.iter().map(String::as_str).collect();
        found.sort();
        assert_eq!(found, expected);
    }
}

#[test]
fn operations_are_found_by_method_and_concrete_path() {
    let shop = shop();
    let read = shop.find("GET", &format!("/items/{ITEM_ID}")).unwrap();
    assert_eq!(
        (read.id.as_str(), read.template.as_str()),
        ("get_item", "/items/{id}")
    );
    assert_eq!(read.path_params["id"], ITEM_ID);
    // A literal segment wins over a templated one.
    assert_eq!(
        shop.find("GET", "/items/search").unwrap().id,
        "search_items"
    );
    assert_eq!(shop.find("POST", "/items").unwrap().id, "create_item");
    assert_eq!(
        shop.find("DELETE", "/items").unwrap_err(),
        "shop: /items has no DELETE operation"
    );
    assert_eq!(
        shop.find("GET", "/shops").unwrap_err(),
        "shop: no operation for GET /shops"
    );
    assert!(Spec::from_document("old", json!({"openapi": "3.0.3"})).is_err());
}
