//! What Swagger UI and generated clients show of each error is true: every problem response of
//! every published spec has an example of its own, with its own status, a `type` of ours, and
//! field errors only for parameters the operation has.

use serde_json::Value;

const SPECS: [&str; 5] = ["gateway", "risk", "policy", "billing", "notification"];

#[test]
fn every_error_example_is_its_own() {
    let mut wrong = Vec::new();
    let mut checked = 0;
    for spec in SPECS {
        let file = format!("{}/../openapi/{spec}.json", env!("CARGO_MANIFEST_DIR"));
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
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
