//! The interactions recorded in the consumer's snapshots, read back for provider verification
//! ([`crate::verify`]), and how a real answer's shape is compared with the recorded one.

use std::path::Path;

use serde_json::Value;

use crate::provider::Exchange;
use crate::spec::SeenRequest;

/// One recorded call: what the consumer sent, and what the mock answered.
#[derive(Debug, Clone)]
pub struct Interaction {
    /// The snapshot it comes from.
    pub source: String,
    pub exchange: Exchange,
}

/// Every call to `provider` recorded in the `.snap` files under `dir`, except answers that
/// broke the spec on purpose; duplicates (same operation, status and request) once.
pub fn recorded(dir: &Path, provider: &str) -> Vec<Interaction> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "snap"))
        .collect();
    files.sort();
    let mut interactions: Vec<Interaction> = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        // insta: a `---` header, then the JSON.
        let Some(json) = text.splitn(3, "---\n").nth(2) else {
            continue;
        };
        let Ok(snapshot) = serde_json::from_str::<Value>(json) else {
            continue;
        };
        for call in snapshot["calls"].as_array().into_iter().flatten() {
            if call["to"] != provider || call.get("off_contract").is_some() {
                continue;
            }
            let request = &call["request"];
            let exchange = Exchange {
                provider: provider.to_owned(),
                operation: call["operation"].as_str().unwrap_or_default().to_owned(),
                request: SeenRequest {
                    method: request["method"].as_str().unwrap_or_default().to_owned(),
                    path: request["path"].as_str().unwrap_or_default().to_owned(),
                    query: strings(&request["query"]),
                    headers: strings(&request["headers"]),
                    body: request.get("body").map(Value::to_string),
                },
                status: call["response"]["status"].as_u64().unwrap_or_default() as u16,
                response: call["response"]["body"].clone(),
                off_contract: None,
                given: call["given"].as_str().map(str::to_owned),
            };
            let duplicate = interactions.iter().any(|known| {
                known.exchange.operation == exchange.operation
                    && known.exchange.status == exchange.status
                    && known.exchange.request == exchange.request
                    && known.exchange.given == exchange.given
            });
            if !duplicate {
                interactions.push(Interaction {
                    source: file
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                    exchange,
                });
            }
        }
    }
    interactions
}

/// Where `real` differs in shape from `recorded`: a field missing or added, or a different
/// JSON type. Values may differ; arrays are compared by their first items.
pub fn shape_differences(recorded: &Value, real: &Value, at: &str) -> Vec<String> {
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    match (recorded, real) {
        (Value::Object(a), Value::Object(b)) => {
            let mut differences = Vec::new();
            for (key, value) in a {
                let here = format!("{at}/{key}");
                match b.get(key) {
                    Some(other) => differences.extend(shape_differences(value, other, &here)),
                    None => differences.push(format!(
                        "{here}: recorded, but the provider did not answer it"
                    )),
                }
            }
            for key in b.keys().filter(|k| !a.contains_key(*k)) {
                differences.push(format!(
                    "{at}/{key}: answered by the provider, but not recorded"
                ));
            }
            differences
        }
        (Value::Array(a), Value::Array(b)) => match (a.first(), b.first()) {
            (Some(x), Some(y)) => shape_differences(x, y, &format!("{at}/0")),
            _ => Vec::new(),
        },
        (a, b) if kind(a) == kind(b) => Vec::new(),
        (a, b) => vec![format!(
            "{}: recorded a {}, the provider answered a {}",
            if at.is_empty() { "/" } else { at },
            kind(a),
            kind(b)
        )],
    }
}

/// A recorded object of strings (query or headers) as pairs; what is not a string reads as "".
fn strings<C: FromIterator<(String, String)>>(object: &Value) -> C {
    let pairs = object.as_object().into_iter().flatten();
    pairs
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_compare_keys_and_types_not_values() {
        let recorded = json!({"id": "a", "n": 1, "items": [{"x": true}]});
        assert!(
            shape_differences(
                &recorded,
                &json!({"id": "b", "n": 2.5, "items": [{"x": false}]}),
                ""
            )
            .is_empty()
        );
        let differences = shape_differences(
            &recorded,
            &json!({"id": 1, "items": [{"x": true, "y": 0}]}),
            "",
        );
        assert_eq!(
            differences,
            [
                "/id: recorded a string, the provider answered a number",
                "/items/0/y: answered by the provider, but not recorded",
                "/n: recorded, but the provider did not answer it",
            ]
        );
    }
}
