//! The harness tests itself: a harness that cannot fail proves nothing. Each kind of lie or
//! mistake must be reported, precisely.

use nfip_contract_tests::{Providers, Spec, problem};
use serde_json::json;

use crate::helpers::{POLICY_ID, invoice, policy, risk};

#[tokio::test]
async fn a_mock_whose_body_breaks_the_spec_is_refused_naming_operation_status_and_pointer() {
    let providers = Providers::start().await;
    let mut lie = risk("33139");
    lie["risk_score"] = json!(1.7);
    let error = providers
        .risk
        .on("get_risk")
        .try_respond(200, lie)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        "risk get_risk (GET /api/risk/{zipcode}): 200 body at /risk_score: 1.7 is greater than the maximum of 1"
    );
}

#[tokio::test]
async fn a_mock_with_a_renamed_or_missing_field_is_refused() {
    let providers = Providers::start().await;
    let mut renamed = policy("active");
    let holder = renamed.as_object_mut().unwrap().remove("holder").unwrap();
    renamed["holder_name"] = holder;
    let error = providers
        .policy
        .on("get_policy")
        .try_respond(200, renamed)
        .await
        .unwrap_err();
    assert!(
        error.contains("policy get_policy (GET /api/policies/{id}): 200 body at /: \"holder\" is a required property"),
        "{error}"
    );
    let mut wrong_enum = invoice("open");
    wrong_enum["status"] = json!("pending");
    let error = providers
        .billing
        .on("get_invoice")
        .try_respond(200, wrong_enum)
        .await
        .unwrap_err();
    assert!(
        error.contains("200 body at /status: \"pending\" is not one of"),
        "{error}"
    );
}

#[tokio::test]
async fn a_mock_with_an_undeclared_status_or_media_type_is_refused() {
    let providers = Providers::start().await;
    let error = providers
        .risk
        .on("get_risk")
        .try_respond(418, problem("teapot", "I am a teapot", 418, "no"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        "risk get_risk (GET /api/risk/{zipcode}): 418 is not a declared status (declared: 200, 400, 401, 404, 500)"
    );
    let error = providers
        .policy
        .on("no_such_operation")
        .try_respond(200, json!({}))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        "policy: no operation \"no_such_operation\" in the spec"
    );
}

#[tokio::test]
async fn requests_that_break_the_spec_are_reported() {
    let providers = Providers::start().await;
    providers
        .policy
        .on("create_policy")
        .respond(201, policy("active"))
        .await;
    providers
        .billing
        .on("pay_invoice")
        .respond(201, crate::helpers::payment())
        .await;
    let http = reqwest::Client::builder()
        .default_headers(nfip_kit::testing::caller_headers())
        .build()
        .unwrap();
    let post = |base: String, path: &str, body: serde_json::Value| {
        http.post(format!("{base}{path}")).json(&body).send()
    };
    // A valid request without the credential the spec requires.
    reqwest::Client::new()
        .post(format!("{}/api/policies", providers.policy.uri()))
        .json(&json!({"holder": "Ada", "zipcode": "33139", "risk_score": 0.9}))
        .send()
        .await
        .unwrap();
    // A required field missing, and a field renamed.
    post(
        providers.policy.uri(),
        "/api/policies",
        json!({"holdr": "Ada", "zipcode": "33139", "risk_score": 0.9}),
    )
    .await
    .unwrap();
    // A required header missing, and a path parameter that is not a UUID.
    post(
        providers.billing.uri(),
        "/api/invoices/42/payments",
        json!({"card_number": "4242424242424242"}),
    )
    .await
    .unwrap();
    // A path no operation has.
    http.get(format!("{}/api/policy/1", providers.policy.uri()))
        .send()
        .await
        .unwrap();

    let violations = providers.violations().await;
    let expected = [
        "policy create_policy (POST /api/policies): sends no credential it declares (security: bearer)",
        "policy create_policy (POST /api/policies): request body at /: \"holder\" is a required property",
        "policy create_policy (POST /api/policies): request body at /: Additional properties are not allowed ('holdr' was unexpected)",
        "billing pay_invoice (POST /api/invoices/{id}/payments): path parameter id=\"42\" at /: \"42\" is not a \"uuid\"",
        "billing pay_invoice (POST /api/invoices/{id}/payments): the required header parameter Idempotency-Key is missing",
        "request to policy: no operation for GET /api/policy/1",
        "policy: no mock answered GET /api/policy/1 (set one up with .on(operation))",
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
    let providers = Providers::start().await;
    providers
        .policy
        .on("create_policy")
        .respond(201, policy("active"))
        .await;
    providers
        .policy
        .on("get_policy")
        .path(&format!("/api/policies/{POLICY_ID}"))
        .respond(200, policy("active"))
        .await;
    let http = reqwest::Client::builder()
        .default_headers(nfip_kit::testing::caller_headers())
        .build()
        .unwrap();
    let created = http
        .post(format!("{}/api/policies", providers.policy.uri()))
        .header("idempotency-key", "k")
        .json(&json!({"holder": "Ada", "contact": {"phone": "+15555550123"}, "zipcode": "33139", "risk_score": 0.9}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["content-type"], "application/json");
    let read = http
        .get(format!(
            "{}/api/policies/{POLICY_ID}",
            providers.policy.uri()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    assert_eq!(providers.violations().await, Vec::<String>::new());
}

#[test]
fn operations_are_found_by_method_and_concrete_path() {
    let billing = Spec::published("billing");
    let void = billing
        .find("POST", &format!("/api/invoices/{POLICY_ID}/void"))
        .unwrap();
    assert_eq!(
        (void.id.as_str(), void.template.as_str()),
        ("void_invoice", "/api/invoices/{id}/void")
    );
    assert_eq!(void.path_params["id"], POLICY_ID);
    assert_eq!(
        billing.find("GET", "/api/invoices").unwrap().id,
        "list_invoices"
    );
    assert_eq!(
        billing.find("POST", "/api/invoices").unwrap().id,
        "create_invoice"
    );
    assert_eq!(
        billing.find("DELETE", "/api/invoices").unwrap_err(),
        "billing: /api/invoices has no DELETE operation"
    );
    assert!(Spec::from_document("old", json!({"openapi": "3.0.3"})).is_err());
}

/// The email rule every service applies and the pattern every spec declares for it agree, so a
/// client generated from a spec refuses what the services would.
#[test]
fn the_email_pattern_in_the_specs_is_the_rule_the_services_apply() {
    use nfip_kit::validate::{EMAIL_PATTERN, email};
    for (spec, schema) in [("gateway", "Contact"), ("policy", "ContactInput")] {
        let document = Spec::published(spec).document().clone();
        let declared = &document["components"]["schemas"][schema]["properties"]["email"]["pattern"];
        assert_eq!(declared, EMAIL_PATTERN, "{spec} {schema}");
    }
    let schema = json!({"type": "string", "pattern": EMAIL_PATTERN});
    let validator = jsonschema::validator_for(&schema).unwrap();
    for address in [
        "a@b.co",
        "first.last+tag@example.org",
        "o'brien@mail-1.example.ie",
        "a,b@c.co",
        "a<b@c.co",
        "a(b)@c.co",
        "\"a b\"@c.co",
        "a@[127.0.0.1]",
        ".a@b.co",
        "a.@b.co",
        "a..b@c.co",
        "a@-b.co",
        "a@b-.co",
        "a@b.123",
        "a@b.1a",
        "ä@b.co",
        "a@b\u{202e}.co",
        "Ada <a@b.co>",
        "a@b",
        "a b@c.co",
    ] {
        assert_eq!(
            validator.is_valid(&json!(address)),
            email(address).is_ok(),
            "{address}"
        );
    }
}
