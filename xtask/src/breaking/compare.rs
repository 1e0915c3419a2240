//! The rules: what in a spec's paths, parameters, bodies, responses and schemas changed, and
//! whether a client written against the old one would break.

use std::collections::BTreeSet;

use serde_json::Value;

use super::Finding;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Data the client sends: narrowing breaks it.
    Request,
    /// Data the client reads: widening breaks it.
    Response,
}

struct Compare<'a> {
    base: &'a Value,
    head: &'a Value,
    operation: String,
    findings: Vec<Finding>,
}

/// One JSON-pointer reference token, escaped (`~` as `~0`, `/` as `~1`).
fn escape(token: &str) -> String {
    let mut escaped = String::with_capacity(token.len());
    referencing::write_escaped_str(&mut escaped, token);
    escaped
}

/// Follows `$ref`s within `doc`; returns the value and its pointer.
fn resolve<'a>(doc: &'a Value, value: &'a Value, pointer: &str) -> (&'a Value, String) {
    let mut value = value;
    let mut pointer = pointer.to_owned();
    for _ in 0..32 {
        let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let Some(target) = reference.strip_prefix('#') else {
            break;
        };
        match doc.pointer(target) {
            Some(next) => {
                value = next;
                pointer = target.to_owned();
            }
            None => break,
        }
    }
    (value, pointer)
}

/// A schema's types, and whether it admits null (`type: [..., "null"]`, or utoipa's
/// `oneOf: [{...}, {"type": "null"}]`); for the latter, the non-null alternative.
fn shape<'a>(
    doc: &'a Value,
    schema: &'a Value,
    pointer: &str,
) -> (&'a Value, String, BTreeSet<String>, bool) {
    let (schema, pointer) = resolve(doc, schema, pointer);
    if let Some(alternatives) = schema.get("oneOf").and_then(Value::as_array) {
        let null = alternatives.iter().position(|a| a["type"] == "null");
        if let (Some(null_at), 2) = (null, alternatives.len()) {
            let other = 1 - null_at;
            let (inner, inner_pointer, types, _) = shape(
                doc,
                &alternatives[other],
                &format!("{pointer}/oneOf/{other}"),
            );
            return (inner, inner_pointer, types, true);
        }
    }
    let mut types: BTreeSet<String> = match &schema["type"] {
        Value::String(t) => BTreeSet::from([t.clone()]),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => BTreeSet::new(),
    };
    let nullable = types.remove("null");
    (schema, pointer, types, nullable)
}

/// The object at `value[key]`, or an empty one.
fn members<'a>(value: &'a Value, key: &str) -> &'a serde_json::Map<String, Value> {
    static EMPTY: std::sync::LazyLock<serde_json::Map<String, Value>> =
        std::sync::LazyLock::new(serde_json::Map::new);
    value.get(key).and_then(Value::as_object).unwrap_or(&EMPTY)
}

fn required_set(schema: &Value) -> BTreeSet<String> {
    schema["required"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

impl Compare<'_> {
    fn found(&mut self, pointer: &str, breaking: bool, message: String) {
        self.findings.push(Finding {
            operation: self.operation.clone(),
            pointer: format!("#{pointer}"),
            message,
            breaking,
        });
    }

    fn schema(
        &mut self,
        base: &Value,
        base_at: &str,
        head: &Value,
        head_at: &str,
        direction: Direction,
        depth: u32,
    ) {
        if depth > 24 {
            return;
        }
        let (b, b_at, b_types, b_null) = shape(self.base, base, base_at);
        let (h, h_at, h_types, h_null) = shape(self.head, head, head_at);
        if !b_types.is_empty() && !h_types.is_empty() && b_types != h_types {
            let widened = direction == Direction::Request && b_types.is_subset(&h_types);
            let (from, to) = (
                b_types.iter().cloned().collect::<Vec<_>>().join("|"),
                h_types.iter().cloned().collect::<Vec<_>>().join("|"),
            );
            self.found(&h_at, !widened, format!("type changed from {from} to {to}"));
        }
        match direction {
            Direction::Response if h_null && !b_null => {
                self.found(&h_at, true, String::from("response value made nullable"));
            }
            Direction::Request if b_null && !h_null => {
                self.found(&h_at, true, String::from("input no longer accepts null"));
            }
            _ => {}
        }
        if b.get("format") != h.get("format") {
            let show = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("none").to_owned();
            self.found(
                &h_at,
                true,
                format!(
                    "format changed from {} to {}",
                    show(b.get("format")),
                    show(h.get("format"))
                ),
            );
        }
        self.enums(b, h, &h_at, direction);
        if direction == Direction::Request {
            self.constraints(b, h, &h_at);
        }
        self.properties(b, &b_at, h, &h_at, direction, depth);
        if let (Some(bi), Some(hi)) = (b.get("items"), h.get("items")) {
            self.schema(
                bi,
                &format!("{b_at}/items"),
                hi,
                &format!("{h_at}/items"),
                direction,
                depth + 1,
            );
        }
        for keyword in ["allOf", "anyOf", "oneOf"] {
            if let (Some(ba), Some(ha)) = (
                b.get(keyword).and_then(Value::as_array),
                h.get(keyword).and_then(Value::as_array),
            ) {
                for (i, (bs, hs)) in ba.iter().zip(ha).enumerate() {
                    self.schema(
                        bs,
                        &format!("{b_at}/{keyword}/{i}"),
                        hs,
                        &format!("{h_at}/{keyword}/{i}"),
                        direction,
                        depth + 1,
                    );
                }
            }
        }
    }

    fn enums(&mut self, b: &Value, h: &Value, at: &str, direction: Direction) {
        let values = |s: &Value| -> Option<Vec<String>> {
            s.get("enum")
                .and_then(Value::as_array)
                .map(|e| e.iter().map(Value::to_string).collect())
        };
        let (Some(old), Some(new)) = (values(b), values(h)) else {
            return;
        };
        for removed in old.iter().filter(|v| !new.contains(v)) {
            self.found(at, true, format!("enum value {removed} removed"));
        }
        for added in new.iter().filter(|v| !old.contains(v)) {
            match direction {
                Direction::Request => {
                    self.found(at, false, format!("new enum value {added} accepted"))
                }
                Direction::Response => {
                    self.found(at, true, format!("new enum value {added} in a response"));
                }
            }
        }
    }

    /// Input constraints: a lower maximum, a higher minimum, a new or changed pattern narrow what
    /// a client may send.
    fn constraints(&mut self, b: &Value, h: &Value, at: &str) {
        let number = |s: &Value, k: &str| s.get(k).and_then(Value::as_f64);
        for key in [
            "maximum",
            "exclusiveMaximum",
            "maxLength",
            "maxItems",
            "maxProperties",
        ] {
            match (number(b, key), number(h, key)) {
                (Some(old), Some(new)) if new < old => {
                    self.found(at, true, format!("{key} lowered from {old} to {new}"))
                }
                (None, Some(new)) => self.found(at, true, format!("{key} {new} added")),
                (Some(old), Some(new)) if new > old => {
                    self.found(at, false, format!("{key} raised from {old} to {new}"))
                }
                (Some(old), None) => self.found(at, false, format!("{key} {old} removed")),
                _ => {}
            }
        }
        for key in [
            "minimum",
            "exclusiveMinimum",
            "minLength",
            "minItems",
            "minProperties",
        ] {
            match (number(b, key), number(h, key)) {
                (Some(old), Some(new)) if new > old => {
                    self.found(at, true, format!("{key} raised from {old} to {new}"))
                }
                (None, Some(new)) => self.found(at, true, format!("{key} {new} added")),
                (Some(old), Some(new)) if new < old => {
                    self.found(at, false, format!("{key} lowered from {old} to {new}"))
                }
                (Some(old), None) => self.found(at, false, format!("{key} {old} removed")),
                _ => {}
            }
        }
        if b.get("pattern") != h.get("pattern") && h.get("pattern").is_some() {
            self.found(at, true, format!("pattern changed to {}", h["pattern"]));
        }
    }

    fn properties(
        &mut self,
        b: &Value,
        b_at: &str,
        h: &Value,
        h_at: &str,
        direction: Direction,
        depth: u32,
    ) {
        let (old, new) = (members(b, "properties"), members(h, "properties"));
        let (old_required, new_required) = (required_set(b), required_set(h));
        let closed = h.get("additionalProperties") == Some(&Value::Bool(false));
        for (name, old_schema) in old {
            let b_here = format!("{b_at}/properties/{}", escape(name));
            let h_here = format!("{h_at}/properties/{}", escape(name));
            let Some(new_schema) = new.get(name) else {
                match direction {
                    Direction::Response => {
                        self.found(&b_here, true, format!("response field {name} removed"))
                    }
                    Direction::Request => {
                        self.found(&b_here, closed, format!("request field {name} removed"))
                    }
                }
                continue;
            };
            match direction {
                Direction::Request
                    if !old_required.contains(name) && new_required.contains(name) =>
                {
                    self.found(
                        &h_here,
                        true,
                        format!("optional request field {name} made required"),
                    );
                }
                Direction::Response
                    if old_required.contains(name) && !new_required.contains(name) =>
                {
                    self.found(
                        &h_here,
                        true,
                        format!("response field {name} made optional"),
                    );
                }
                _ => {}
            }
            self.schema(
                old_schema,
                &b_here,
                new_schema,
                &h_here,
                direction,
                depth + 1,
            );
        }
        for name in new.keys().filter(|n| !old.contains_key(*n)) {
            let here = format!("{h_at}/properties/{}", escape(name));
            match direction {
                Direction::Request if new_required.contains(name) => {
                    self.found(&here, true, format!("new required request field {name}"));
                }
                Direction::Request => {
                    self.found(&here, false, format!("new optional request field {name}"))
                }
                Direction::Response => {
                    self.found(&here, false, format!("new response field {name}"))
                }
            }
        }
    }

    fn parameters(&mut self, b_op: &Value, b_at: &str, h_op: &Value, h_at: &str) {
        let list = |doc: &Value, op: &Value, at: &str| -> Vec<(String, String, Value, String)> {
            op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, p)| {
                    let (p, p_at) = resolve(doc, p, &format!("{at}/parameters/{i}"));
                    (
                        p["name"].as_str().unwrap_or_default().to_owned(),
                        p["in"].as_str().unwrap_or_default().to_owned(),
                        p.clone(),
                        p_at,
                    )
                })
                .collect()
        };
        let old = list(self.base, b_op, b_at);
        let new = list(self.head, h_op, h_at);
        for (name, location, b_param, b_here) in &old {
            let Some((_, _, h_param, h_here)) =
                new.iter().find(|(n, l, ..)| n == name && l == location)
            else {
                self.found(b_here, true, format!("{location} parameter {name} removed"));
                continue;
            };
            if b_param["required"] != Value::Bool(true) && h_param["required"] == Value::Bool(true)
            {
                self.found(
                    h_here,
                    true,
                    format!("optional {location} parameter {name} made required"),
                );
            }
            self.schema(
                &b_param["schema"],
                &format!("{b_here}/schema"),
                &h_param["schema"],
                &format!("{h_here}/schema"),
                Direction::Request,
                0,
            );
        }
        for (name, location, h_param, h_here) in &new {
            if old.iter().any(|(n, l, ..)| n == name && l == location) {
                continue;
            }
            let required = h_param["required"] == Value::Bool(true);
            // "header X-Y", "query parameter q", "path parameter id".
            let what = if location == "header" {
                String::from("header")
            } else {
                format!("{location} parameter")
            };
            let needed = if required { "required" } else { "optional" };
            self.found(h_here, required, format!("new {needed} {what} {name}"));
        }
    }

    fn content(
        &mut self,
        b: &Value,
        b_at: &str,
        h: &Value,
        h_at: &str,
        direction: Direction,
        what: &str,
    ) {
        let (old, new) = (members(b, "content"), members(h, "content"));
        for (media, old_media) in old {
            let b_here = format!("{b_at}/content/{}", escape(media));
            match new.get(media) {
                None => self.found(&b_here, true, format!("{what} media type {media} removed")),
                Some(new_media) => {
                    let h_here = format!("{h_at}/content/{}", escape(media));
                    self.schema(
                        &old_media["schema"],
                        &format!("{b_here}/schema"),
                        &new_media["schema"],
                        &format!("{h_here}/schema"),
                        direction,
                        0,
                    );
                }
            }
        }
        for media in new.keys().filter(|m| !old.contains_key(*m)) {
            self.found(
                &format!("{h_at}/content/{}", escape(media)),
                false,
                format!("new {what} media type {media}"),
            );
        }
    }

    /// Credentials: a client that met the old requirements must meet the new ones.
    fn security(&mut self, b_op: &Value, h_op: &Value, h_at: &str) {
        let (old, new) = (security(self.base, b_op), security(self.head, h_op));
        let at = format!("{h_at}/security");
        let open = |alternatives: &BTreeSet<String>| alternatives.contains("");
        let list = |alternatives: &BTreeSet<String>| {
            let named: Vec<&str> = alternatives.iter().map(String::as_str).collect();
            named.join(" or ")
        };
        if open(&old) && !open(&new) {
            self.found(
                &at,
                true,
                format!("credentials now required ({})", list(&new)),
            );
            return;
        }
        for gone in old.difference(&new).filter(|a| !a.is_empty()) {
            if !open(&new) {
                self.found(&at, true, format!("credential {gone} no longer accepted"));
            }
        }
        for added in new.difference(&old) {
            let message = if added.is_empty() {
                String::from("credentials no longer required")
            } else {
                format!("credential {added} also accepted")
            };
            self.found(&at, false, message);
        }
    }

    fn operation(&mut self, b_op: &Value, b_at: &str, h_op: &Value, h_at: &str) {
        self.security(b_op, h_op, h_at);
        self.parameters(b_op, b_at, h_op, h_at);
        let (b_body, b_body_at) = resolve(
            self.base,
            &b_op["requestBody"],
            &format!("{b_at}/requestBody"),
        );
        let (h_body, h_body_at) = resolve(
            self.head,
            &h_op["requestBody"],
            &format!("{h_at}/requestBody"),
        );
        let required = |body: &Value| body["required"] == Value::Bool(true);
        match (b_body.is_null(), h_body.is_null()) {
            (true, false) => {
                self.found(
                    &h_body_at,
                    required(h_body),
                    String::from("new request body"),
                );
            }
            (false, true) => self.found(&b_body_at, true, String::from("request body removed")),
            (false, false) => {
                if !required(b_body) && required(h_body) {
                    self.found(
                        &h_body_at,
                        true,
                        String::from("optional request body made required"),
                    );
                }
                let (b_body, h_body) = (b_body.clone(), h_body.clone());
                self.content(
                    &b_body,
                    &b_body_at,
                    &h_body,
                    &h_body_at,
                    Direction::Request,
                    "request",
                );
            }
            (true, true) => {}
        }
        let empty = serde_json::Map::new();
        let old = b_op["responses"].as_object().unwrap_or(&empty).clone();
        let new = h_op["responses"].as_object().unwrap_or(&empty).clone();
        for (status, old_response) in &old {
            let b_here = format!("{b_at}/responses/{status}");
            match new.get(status) {
                None => self.found(&b_here, true, format!("declared status {status} removed")),
                Some(new_response) => {
                    let (b_r, b_r_at) = resolve(self.base, old_response, &b_here);
                    let (h_r, h_r_at) = resolve(
                        self.head,
                        new_response,
                        &format!("{h_at}/responses/{status}"),
                    );
                    let (b_r, h_r) = (b_r.clone(), h_r.clone());
                    self.content(
                        &b_r,
                        &b_r_at,
                        &h_r,
                        &h_r_at,
                        Direction::Response,
                        &format!("{status} response"),
                    );
                }
            }
        }
        for status in new.keys().filter(|s| !old.contains_key(*s)) {
            self.found(
                &format!("{h_at}/responses/{status}"),
                false,
                format!("new declared status {status}"),
            );
        }
    }
}

/// The ways an operation accepts credentials (its own `security`, or the document's), each the
/// schemes it needs at once joined by ` + `; `""` when it needs none.
fn security(doc: &Value, op: &Value) -> BTreeSet<String> {
    let requirements = op
        .get("security")
        .or_else(|| doc.get("security"))
        .and_then(Value::as_array);
    match requirements {
        None => BTreeSet::from([String::new()]),
        Some(list) if list.is_empty() => BTreeSet::from([String::new()]),
        Some(list) => list
            .iter()
            .map(|requirement| {
                let names: Vec<&str> = requirement
                    .as_object()
                    .map(|names| names.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                names.join(" + ")
            })
            .collect(),
    }
}

/// Compares two versions of a spec.
pub fn compare(base: &Value, head: &Value) -> Vec<Finding> {
    let mut compare = Compare {
        base,
        head,
        operation: String::new(),
        findings: Vec::new(),
    };
    let empty = serde_json::Map::new();
    let old = base["paths"].as_object().unwrap_or(&empty);
    let new = head["paths"].as_object().unwrap_or(&empty);
    for (path, old_item) in old {
        for method in METHODS {
            let Some(old_op) = old_item.get(method) else {
                continue;
            };
            let b_at = format!("/paths/{}/{method}", escape(path));
            compare.operation = old_op["operationId"].as_str().map_or_else(
                || format!("{} {path}", method.to_uppercase()),
                str::to_owned,
            );
            match new.get(path).and_then(|item| item.get(method)) {
                None => compare.found(
                    &b_at,
                    true,
                    format!("operation {} {path} removed", method.to_uppercase()),
                ),
                Some(new_op) => compare.operation(old_op, &b_at, new_op, &b_at),
            }
        }
    }
    for (path, new_item) in new {
        for method in METHODS {
            let Some(new_op) = new_item.get(method) else {
                continue;
            };
            if old.get(path).and_then(|item| item.get(method)).is_none() {
                compare.operation = new_op["operationId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                compare.found(
                    &format!("/paths/{}/{method}", escape(path)),
                    false,
                    format!("new operation {} {path}", method.to_uppercase()),
                );
            }
        }
    }
    compare.findings
}
