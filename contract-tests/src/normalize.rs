//! The exchange as a snapshot: what varies from run to run (ids, times, traces) redacted, so a
//! snapshot changes only when behaviour does.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Answered;
use crate::provider::Exchange;
use crate::spec::SeenRequest;

/// Headers worth a snapshot: they are part of the contract.
const HEADERS: [&str; 2] = ["content-type", "idempotency-key"];

pub fn exchange(answered: &Answered, exchanges: &[Exchange]) -> Value {
    let calls: Vec<Value> = exchanges
        .iter()
        .map(|exchange| {
            let mut call = json!({
                "to": exchange.provider,
                "operation": exchange.operation,
                "request": request(&exchange.request),
                "response": {"status": exchange.status, "body": exchange.response},
            });
            if let Some(reason) = &exchange.off_contract {
                call["off_contract"] = Value::String(reason.clone());
            }
            if let Some(state) = &exchange.given {
                call["given"] = Value::String(state.clone());
            }
            call
        })
        .collect();
    redact(json!({
        "request": request(&answered.request),
        "calls": calls,
        "answer": {"status": answered.status, "body": answered.body},
    }))
}

fn request(request: &SeenRequest) -> Value {
    let mut object = Map::new();
    object.insert("method".into(), Value::String(request.method.clone()));
    object.insert("path".into(), Value::String(request.path.clone()));
    if !request.query.is_empty() {
        let query: Map<String, Value> = request
            .query
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        object.insert("query".into(), Value::Object(query));
    }
    let headers: Map<String, Value> = HEADERS
        .iter()
        .filter_map(|name| {
            request
                .headers
                .get(*name)
                .map(|v| ((*name).to_owned(), Value::String(v.clone())))
        })
        .collect();
    if !headers.is_empty() {
        object.insert("headers".into(), Value::Object(headers));
    }
    if let Some(body) = &request.body {
        let body = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.clone()));
        object.insert("body".into(), body);
    }
    Value::Object(object)
}

/// Replaces UUIDs with `[uuid]`, RFC 3339 timestamps with `[timestamp]`, and the stems of the
/// idempotency keys the gateway makes (a purchase's UUIDv7 in 32 hex digits; a payment key's
/// SHA-256 in 64) with `[derived]`, everywhere.
pub fn redact(value: Value) -> Value {
    match value {
        Value::String(text) => Value::String(redact_text(&text)),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        Value::Object(object) => {
            Value::Object(object.into_iter().map(|(k, v)| (k, redact(v))).collect())
        }
        other => other,
    }
}

fn redact_text(text: &str) -> String {
    if OffsetDateTime::parse(text, &Rfc3339).is_ok() {
        return String::from("[timestamp]");
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if rest.len() >= 36
            && uuid::Uuid::try_parse(&rest[..36]).is_ok()
            && rest.as_bytes()[8] == b'-'
        {
            out.push_str("[uuid]");
            rest = &rest[36..];
        } else if let hex @ 1.. = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            .count()
        {
            out.push_str(if hex == 32 || hex == 64 {
                "[derived]"
            } else {
                &rest[..hex]
            });
            rest = &rest[hex..];
        } else {
            let c = rest.chars().next().expect("not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_times_are_redacted_wherever_they_are() {
        let value = json!({
            "path": "/api/policies/019a7b4e-8f1c-7d2a-9b3e-4c5d6e7f8a9b/cancel",
            "key": "auto:019a7b4e-8f1c-7d2a-9b3e-4c5d6e7f8a9b#1/policy",
            "at": "2026-11-25T10:00:00.123456Z",
            "list": ["0192f0c1-7d4e-7cc2-9a8e-2f1d2b9a4c11"],
            "derived": "fb622efa74a58206ffa0c8dd454398e61ab974b78cafd348193e466782e0f9b5#1/invoice",
            "stem": "019a7b4e8f1c7d2a9b3e4c5d6e7f8a9b#2/notification",
            "plain": "33139",
            "hex": "deadbeef"
        });
        assert_eq!(
            redact(value),
            json!({
                "path": "/api/policies/[uuid]/cancel",
                "key": "auto:[uuid]#1/policy",
                "at": "[timestamp]",
                "list": ["[uuid]"],
                "derived": "[derived]#1/invoice",
                "stem": "[derived]#2/notification",
                "plain": "33139",
                "hex": "deadbeef"
            })
        );
    }
}
