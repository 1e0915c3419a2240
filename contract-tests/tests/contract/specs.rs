//! What every published spec must hold, checked on the committed documents:
//! - what Swagger UI and generated clients show of each error is true: every problem response
//!   has an example of its own, with its own status, a `type` of ours, and field errors only
//!   for parameters the operation has;
//! - every request schema is closed, so a consumer cannot send a property the provider would
//!   silently drop;
//! - the email pattern the specs declare is the rule the services apply.

use nfip_contract_tests::Spec;
use serde_json::{Value, json};

const SPECS: [&str; 5] = ["gateway", "risk", "policy", "billing", "notification"];

#[test]
fn every_error_example_is_its_own() {
    let mut wrong = Vec::new();
    let mut checked = 0;
    for spec in SPECS {
        let doc = Spec::published(spec).document().clone();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let parameters: Vec<&str> = operation["parameters"]
                    .as_array()
                    .map(|all| all.iter().filter_map(|p| p["name"].as_str()).collect())
                    .unwrap_or_default();
                for (status, response) in operation["responses"].as_object().unwrap() {
                    let Some(problem) = response["content"].get("application/problem+json") else {
                        continue;
                    };
                    checked += 1;
                    let at = format!("{spec} {} {path} {status}", method.to_uppercase());
                    let example = &problem["example"];
                    if example.is_null() {
                        wrong.push(format!("{at}: no example of its own"));
                        continue;
                    }
                    if example["status"].as_u64().map(|s| s.to_string()).as_deref() != Some(status)
                    {
                        wrong.push(format!(
                            "{at}: the example says status {}",
                            example["status"]
                        ));
                    }
                    if !example["type"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("urn:nfip:problem:"))
                    {
                        wrong.push(format!("{at}: the example's type is {}", example["type"]));
                    }
                    for error in example["errors"].as_array().into_iter().flatten() {
                        let pointer = error["pointer"].as_str().unwrap_or_default();
                        if !pointer.starts_with('/') && !parameters.contains(&pointer) {
                            wrong.push(format!("{at}: the example names parameter `{pointer}`, which the operation does not have"));
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} problem responses found");
    assert!(
        wrong.is_empty(),
        "{} untrue error examples:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Every object schema a request body can reach says `additionalProperties: false`: the
/// harness's request check then catches a renamed or misspelt property without
/// [`Spec::closing_open_schemas`].
#[test]
fn every_request_schema_of_every_service_is_closed() {
    fn walk(spec: &Spec, schema: &Value, at: &str, seen: &mut Vec<String>, open: &mut Vec<String>) {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            if !seen.contains(&reference.to_owned()) {
                seen.push(reference.to_owned());
                walk(spec, spec.resolve(schema), reference, seen, open);
            }
            return;
        }
        if schema.get("properties").is_some() && schema["additionalProperties"] != json!(false) {
            open.push(at.to_owned());
        }
        for key in ["properties", "$defs"] {
            for (name, child) in schema[key].as_object().into_iter().flatten() {
                walk(spec, child, &format!("{at}/{name}"), seen, open);
            }
        }
        for key in ["allOf", "anyOf", "oneOf", "prefixItems"] {
            for (i, child) in schema[key].as_array().into_iter().flatten().enumerate() {
                walk(spec, child, &format!("{at}/{key}/{i}"), seen, open);
            }
        }
        if schema["items"].is_object() {
            walk(spec, &schema["items"], &format!("{at}/items"), seen, open);
        }
    }
    let mut open = Vec::new();
    let mut bodies = 0;
    for name in SPECS {
        let spec = Spec::published(name);
        for (id, method, template) in spec.operations() {
            let operation = &spec.document()["paths"][&template][method.to_lowercase()];
            let body = spec.resolve(&operation["requestBody"]);
            for (media, content) in body["content"].as_object().into_iter().flatten() {
                bodies += 1;
                let at = format!("{name} {id} {media}");
                walk(&spec, &content["schema"], &at, &mut Vec::new(), &mut open);
            }
        }
    }
    assert!(bodies >= 6, "only {bodies} request bodies found");
    assert!(
        open.is_empty(),
        "open request schemas:\n{}",
        open.join("\n")
    );
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
    for (address, taken) in nfip_kit_test::EMAILS {
        let published = validator.is_valid(&json!(address));
        assert_eq!(
            (published, email(address).is_ok()),
            (*taken, *taken),
            "{address}"
        );
    }
}
