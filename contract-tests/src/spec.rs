//! A loaded OpenAPI 3.1 document: find the operation for a method and a concrete path, and
//! check requests and responses against it with JSON Schema 2020-12.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// The workspace's `openapi/` folder, where the published specs are committed.
pub fn published_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("openapi")
}

/// Headers a request may carry that no operation declares: the ones HTTP clients add on their
/// own (transport), and tracing. Anything else a consumer sends must be a declared parameter
/// or a credential of one of the spec's security schemes.
pub const TRANSPORT_HEADERS: [&str; 13] = [
    "host",
    "content-length",
    "content-type",
    "accept",
    "accept-encoding",
    "accept-language",
    "connection",
    "user-agent",
    "sec-fetch-mode",
    "transfer-encoding",
    "traceparent",
    "tracestate",
    "x-request-id",
];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// An OpenAPI document and the schema validators built from it (cached).
pub struct Spec {
    /// The spec's short name, e.g. `billing`.
    pub name: String,
    doc: Value,
    /// Request bodies validated as if every object schema said `additionalProperties: false`.
    closed: bool,
    validators: Mutex<HashMap<(String, bool), Arc<jsonschema::Validator>>>,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spec")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// An operation of a spec, matched to a concrete request path.
#[derive(Debug, Clone)]
pub struct Operation<'a> {
    pub spec: &'a Spec,
    /// `operationId`.
    pub id: String,
    /// Upper case, e.g. `POST`.
    pub method: String,
    /// The path template, e.g. `/api/invoices/{id}/void`.
    pub template: String,
    /// The path parameters' values, percent-decoded.
    pub path_params: BTreeMap<String, String>,
    pointer: String,
}

/// A request as the harness saw it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SeenRequest {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Query parameters, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query: Vec<(String, String)>,
    /// Header names lower-cased.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The raw body, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

impl Spec {
    /// Loads the document at `path`; `name` is how messages call it.
    pub fn load(name: &str, path: &Path) -> Result<Spec, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the {name} spec at {}: {e}", path.display()))?;
        let doc: Value = serde_json::from_str(&text)
            .map_err(|e| format!("the {name} spec at {} is not JSON: {e}", path.display()))?;
        Spec::from_document(name, doc)
    }

    pub fn from_document(name: &str, doc: Value) -> Result<Spec, String> {
        let version = doc["openapi"].as_str().unwrap_or_default();
        if !version.starts_with("3.1") {
            return Err(format!(
                "the {name} spec is OpenAPI {version:?}; the harness reads 3.1"
            ));
        }
        Ok(Spec {
            name: name.to_owned(),
            doc,
            closed: false,
            validators: Mutex::default(),
        })
    }

    /// Checks request bodies as if every object schema that lists its properties said
    /// `additionalProperties: false`: a consumer then cannot send a property the provider would
    /// silently ignore, even where the spec leaves the schema open.
    pub fn closing_open_schemas(mut self) -> Spec {
        self.closed = true;
        self
    }

    /// The names under which the spec's security schemes carry credentials in `location`
    /// (`header`, `query` or `cookie`): `authorization` for HTTP schemes, or an API key's name.
    pub fn credentials(&self, location: &str) -> impl Iterator<Item = &str> {
        self.doc["components"]["securitySchemes"]
            .as_object()
            .into_iter()
            .flat_map(|schemes| schemes.values())
            .filter_map(move |scheme| match scheme["type"].as_str() {
                Some("http") if location == "header" => Some("authorization"),
                Some("apiKey") if scheme["in"] == location => scheme["name"].as_str(),
                _ => None,
            })
    }

    /// The committed `openapi/<name>.json`: what the service published, never its crate.
    pub fn published(name: &str) -> Spec {
        let path = published_dir().join(format!("{name}.json"));
        Spec::load(name, &path).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// Follows `$ref`s (`#/...` within the document) until a value that is not one.
    pub fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        for _ in 0..32 {
            match value.get("$ref").and_then(Value::as_str) {
                Some(reference) => match reference.strip_prefix('#') {
                    Some(pointer) => match self.doc.pointer(pointer) {
                        Some(target) => value = target,
                        None => return value,
                    },
                    None => return value,
                },
                None => return value,
            }
        }
        value
    }

    /// Every operation: `(operationId, METHOD, template)`.
    pub fn operations(&self) -> Vec<(String, String, String)> {
        let mut operations = Vec::new();
        if let Some(paths) = self.doc["paths"].as_object() {
            for (template, item) in paths {
                for method in METHODS {
                    if let Some(operation) = item.get(method) {
                        let id = operation["operationId"].as_str().unwrap_or("?").to_owned();
                        operations.push((id, method.to_uppercase(), template.clone()));
                    }
                }
            }
        }
        operations
    }

    /// The statuses an operation declares, e.g. `["200", "404", "500"]`.
    pub fn declared_statuses(&self, operation_id: &str) -> Vec<String> {
        self.operation_by_id(operation_id)
            .map(|op| {
                self.doc
                    .pointer(&format!("{}/responses", op.pointer))
                    .and_then(Value::as_object)
                    .map(|responses| responses.keys().cloned().collect())
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    }

    pub fn operation_by_id(&self, operation_id: &str) -> Option<Operation<'_>> {
        let paths = self.doc["paths"].as_object()?;
        for (template, item) in paths {
            for method in METHODS {
                if item.get(method).and_then(|op| op["operationId"].as_str()) == Some(operation_id)
                {
                    return Some(Operation {
                        spec: self,
                        id: operation_id.to_owned(),
                        method: method.to_uppercase(),
                        template: template.clone(),
                        path_params: BTreeMap::new(),
                        pointer: format!("/paths/{}/{method}", escape(template)),
                    });
                }
            }
        }
        None
    }

    /// The operation a request for `method` and the concrete `path` would reach. Literal
    /// segments win over templated ones (`/a/b` over `/a/{x}`).
    pub fn find(&self, method: &str, path: &str) -> Result<Operation<'_>, String> {
        let method = method.to_lowercase();
        let segments: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, &str, BTreeMap<String, String>)> = None;
        let paths = self.doc["paths"]
            .as_object()
            .ok_or("the spec has no paths")?;
        for template in paths.keys() {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                continue;
            }
            let mut params = BTreeMap::new();
            let mut literal = 0;
            let matched = parts.iter().zip(&segments).all(|(part, segment)| {
                if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    let value = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
                    params.insert(name.to_owned(), value.into_owned());
                    !segment.is_empty()
                } else {
                    literal += 1;
                    part == segment
                }
            });
            if matched && best.as_ref().is_none_or(|(score, ..)| literal > *score) {
                best = Some((literal, template.as_str(), params));
            }
        }
        let Some((_, template, path_params)) = best else {
            return Err(format!(
                "{}: no operation for {} {path}",
                self.name,
                method.to_uppercase()
            ));
        };
        let Some(operation) = self.doc["paths"][template].get(&method) else {
            return Err(format!(
                "{}: {template} has no {} operation",
                self.name,
                method.to_uppercase()
            ));
        };
        Ok(Operation {
            spec: self,
            id: operation["operationId"].as_str().unwrap_or("?").to_owned(),
            method: method.to_uppercase(),
            template: template.to_owned(),
            path_params,
            pointer: format!("/paths/{}/{method}", escape(template)),
        })
    }

    /// Validates `instance` against the schema at `pointer`; each error as
    /// `"at <instance pointer>: <message>"`.
    pub fn schema_errors(&self, pointer: &str, instance: &Value) -> Vec<String> {
        self.errors(pointer, instance, false)
    }

    /// Like [`schema_errors`](Self::schema_errors), for a request body: closed if the spec is.
    pub fn request_schema_errors(&self, pointer: &str, instance: &Value) -> Vec<String> {
        self.errors(pointer, instance, self.closed)
    }

    fn errors(&self, pointer: &str, instance: &Value, closed: bool) -> Vec<String> {
        let validator = match self.validator(pointer, closed) {
            Ok(validator) => validator,
            Err(error) => return vec![error],
        };
        validator
            .iter_errors(instance)
            .map(|error| {
                let at = error.instance_path().to_string();
                let at = if at.is_empty() { String::from("/") } else { at };
                format!("at {at}: {error}")
            })
            .collect()
    }

    fn validator(&self, pointer: &str, closed: bool) -> Result<Arc<jsonschema::Validator>, String> {
        let key = (pointer.to_owned(), closed);
        if let Some(validator) = self.validators.lock().expect("cache lock").get(&key) {
            return Ok(Arc::clone(validator));
        }
        let schema = self
            .doc
            .pointer(pointer)
            .ok_or_else(|| format!("{}: no schema at {pointer}", self.name))?;
        // The schema with the spec's components beside it, so `#/components/...` references
        // resolve as they do in the spec.
        let mut document = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.doc["components"],
            "allOf": [schema],
        });
        if closed {
            close(&mut document["components"]["schemas"], false);
            close(&mut document["allOf"][0], false);
        }
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&document)
            .map_err(|e| {
                format!(
                    "{}: the schema at {pointer} does not compile: {e}",
                    self.name
                )
            })?;
        let validator = Arc::new(validator);
        self.validators
            .lock()
            .expect("cache lock")
            .insert(key, Arc::clone(&validator));
        Ok(validator)
    }
}

/// Closes every object schema under `value` that lists its properties and says nothing of
/// others, with `unevaluatedProperties: false` (which, unlike `additionalProperties`, sees the
/// properties of the `$ref`s and `allOf` beside it). The branches of an `allOf` stay open and
/// the schema that joins them is closed instead; those of a `oneOf` or `anyOf` are closed.
fn close(value: &mut Value, branch: bool) {
    match value {
        Value::Object(schema) => {
            let open = !schema.contains_key("additionalProperties")
                && !schema.contains_key("unevaluatedProperties");
            let joins = schema.contains_key("properties") || schema.contains_key("allOf");
            if open && joins && !branch {
                schema.insert("unevaluatedProperties".into(), Value::Bool(false));
            }
            for (key, child) in schema.iter_mut() {
                close(child, key == "allOf");
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| close(item, branch)),
        _ => {}
    }
}

/// The cookies a request sends, as `(name, value)`.
fn cookies(request: &SeenRequest) -> impl Iterator<Item = (&str, &str)> {
    request
        .headers
        .get("cookie")
        .into_iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.trim(), value.trim()))
}

/// One JSON-pointer reference token, escaped (`~` as `~0`, `/` as `~1`).
fn escape(token: &str) -> String {
    let mut escaped = String::with_capacity(token.len());
    referencing::write_escaped_str(&mut escaped, token);
    escaped
}

fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

impl Operation<'_> {
    /// `risk get_risk (GET /api/risk/{zipcode})`, how every message names an operation.
    pub fn label(&self) -> String {
        format!(
            "{} {} ({} {})",
            self.spec.name, self.id, self.method, self.template
        )
    }

    fn object(&self) -> &Value {
        self.spec.doc.pointer(&self.pointer).unwrap_or(&Value::Null)
    }

    /// The declared media types of a response status.
    pub fn response_media_types(&self, status: u16) -> Result<Vec<String>, String> {
        let responses = &self.object()["responses"];
        let response = responses.get(status.to_string()).ok_or_else(|| {
            let declared: Vec<&String> = responses
                .as_object()
                .map(|r| r.keys().collect())
                .unwrap_or_default();
            let declared: Vec<&str> = declared.iter().map(|s| s.as_str()).collect();
            format!(
                "{}: {status} is not a declared status (declared: {})",
                self.label(),
                declared.join(", ")
            )
        })?;
        let response = self.spec.resolve(response);
        Ok(response["content"]
            .as_object()
            .map(|content| content.keys().cloned().collect())
            .unwrap_or_default())
    }

    /// The example the spec gives for a response status: its media type's `example`, the first
    /// of its `examples`, or its schema's `example`.
    pub fn response_example(&self, status: u16) -> Option<Value> {
        let response = self
            .spec
            .resolve(self.object()["responses"].get(status.to_string())?);
        let (_, media) = response["content"].as_object()?.iter().next()?;
        if let Some(example) = media.get("example") {
            return Some(example.clone());
        }
        if let Some((_, first)) = media["examples"].as_object().and_then(|e| e.iter().next()) {
            return self.spec.resolve(first).get("value").cloned();
        }
        self.spec.resolve(&media["schema"]).get("example").cloned()
    }

    /// Checks a response the provider would give: the status is declared, the media type is
    /// declared for it, and the body is valid against its schema.
    pub fn check_response(&self, status: u16, content_type: &str, body: &[u8]) -> Vec<String> {
        let media_types = match self.response_media_types(status) {
            Ok(types) => types,
            Err(error) => return vec![error],
        };
        let label = self.label();
        if media_types.is_empty() {
            return if body.is_empty() {
                Vec::new()
            } else {
                vec![format!(
                    "{label}: {status} declares no body, but one is given"
                )]
            };
        }
        let media = media_type(content_type);
        if !media_types.contains(&media) {
            return vec![format!(
                "{label}: {status} content type {media:?} is not declared (declared: {})",
                media_types.join(", ")
            )];
        }
        let Ok(instance) = serde_json::from_slice::<Value>(body) else {
            return vec![format!("{label}: {status} body is not JSON")];
        };
        let response_pointer = self.response_pointer(status);
        let pointer = format!("{response_pointer}/content/{}/schema", escape(&media));
        self.spec
            .schema_errors(&pointer, &instance)
            .into_iter()
            .map(|error| format!("{label}: {status} body {error}"))
            .collect()
    }

    fn response_pointer(&self, status: u16) -> String {
        let response = &self.object()["responses"][status.to_string()];
        match response.get("$ref").and_then(Value::as_str) {
            Some(reference) => reference.trim_start_matches('#').to_owned(),
            None => format!("{}/responses/{status}", self.pointer),
        }
    }

    /// Checks a request sent to this operation: its credential, its parameters, that it sends
    /// nothing the operation does not declare, and its body.
    pub fn check_request(&self, request: &SeenRequest) -> Vec<String> {
        let mut errors: Vec<String> = self.check_credential(request).into_iter().collect();
        errors.extend(self.check_parameters(request));
        errors.extend(self.check_undeclared(request));
        errors.extend(self.check_body(request));
        errors
    }

    /// Every declared path, query, header and cookie parameter: present if required, and valid
    /// against its schema.
    fn check_parameters(&self, request: &SeenRequest) -> Vec<String> {
        let label = self.label();
        let mut errors = Vec::new();
        for parameter in self.parameters() {
            let name = parameter["name"].as_str().unwrap_or_default();
            let location = parameter["in"].as_str().unwrap_or_default();
            let value = match location {
                "path" => self.path_params.get(name).cloned(),
                "query" => request
                    .query
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone()),
                "header" => request.headers.get(&name.to_ascii_lowercase()).cloned(),
                "cookie" => cookies(request)
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_owned()),
                _ => continue,
            };
            let Some(value) = value else {
                if parameter["required"].as_bool().unwrap_or(false) {
                    errors.push(format!(
                        "{label}: the required {location} parameter {name} is missing"
                    ));
                }
                continue;
            };
            let schema = self.spec.resolve(&parameter["schema"]);
            let instance = coerce(&value, schema);
            let pointer = self.parameter_schema_pointer(name, location);
            for error in self.spec.schema_errors(&pointer, &instance) {
                errors.push(format!(
                    "{label}: {location} parameter {name}={value:?} {error}"
                ));
            }
        }
        errors
    }

    /// What the request carries that the operation does not declare: query parameters,
    /// cookies, and headers other than [`TRANSPORT_HEADERS`] and the credentials the spec's
    /// security schemes name. A provider that renamed such a parameter would ignore it.
    fn check_undeclared(&self, request: &SeenRequest) -> Vec<String> {
        let label = self.label();
        let declared = |location: &str, name: &str| {
            self.parameters().iter().any(|p| {
                p["in"] == location
                    && p["name"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
            }) || self
                .spec
                .credentials(location)
                .any(|c| c.eq_ignore_ascii_case(name))
        };
        let mut errors = Vec::new();
        for (name, _) in &request.query {
            if !declared("query", name) {
                errors.push(format!(
                    "{label}: the query parameter {name} is not declared"
                ));
            }
        }
        for name in request.headers.keys() {
            if name != "cookie"
                && !TRANSPORT_HEADERS.contains(&name.as_str())
                && !declared("header", name)
            {
                errors.push(format!("{label}: the header {name} is not declared"));
            }
        }
        for (name, _) in cookies(request) {
            if !declared("cookie", name) {
                errors.push(format!("{label}: the cookie {name} is not declared"));
            }
        }
        errors
    }

    /// The body: present if required, of a declared media type, valid against its schema
    /// (closed, if the spec was loaded [`closing_open_schemas`](Spec::closing_open_schemas)).
    fn check_body(&self, request: &SeenRequest) -> Vec<String> {
        let label = self.label();
        let body = request.body.as_deref().filter(|b| !b.is_empty());
        let request_body = self.spec.resolve(&self.object()["requestBody"]);
        let body = match (request_body.is_null(), body) {
            (true, None) => return Vec::new(),
            (true, Some(_)) => {
                return vec![format!(
                    "{label}: sends a body, but the operation takes none"
                )];
            }
            (false, None) if request_body["required"].as_bool().unwrap_or(false) => {
                return vec![format!("{label}: the required request body is missing")];
            }
            (false, None) => return Vec::new(),
            (false, Some(body)) => body,
        };
        let media = media_type(
            request
                .headers
                .get("content-type")
                .map_or("", String::as_str),
        );
        let declared: Vec<String> = request_body["content"]
            .as_object()
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default();
        if !declared.contains(&media) {
            return vec![format!(
                "{label}: request content type {media:?} is not declared (declared: {})",
                declared.join(", ")
            )];
        }
        let instance = match serde_json::from_str::<Value>(body) {
            Ok(instance) => instance,
            Err(e) => return vec![format!("{label}: request body is not JSON: {e}")],
        };
        let pointer = format!(
            "{}/requestBody/content/{}/schema",
            self.request_body_base(),
            escape(&media)
        );
        self.spec
            .request_schema_errors(&pointer, &instance)
            .into_iter()
            .map(|error| format!("{label}: request body {error}"))
            .collect()
    }

    /// The operation's security requirements (its own, or the document's): the request must
    /// satisfy one of them, presenting every scheme it names.
    fn check_credential(&self, request: &SeenRequest) -> Option<String> {
        let requirements = self
            .object()
            .get("security")
            .or_else(|| self.spec.document().get("security"))
            .and_then(Value::as_array)?;
        if requirements.is_empty() {
            return None;
        }
        let schemes = &self.spec.document()["components"]["securitySchemes"];
        let presents = |name: &str| {
            let scheme = &schemes[name];
            match (scheme["type"].as_str(), scheme["in"].as_str()) {
                (Some("http"), _) => {
                    let wanted = scheme["scheme"].as_str().unwrap_or_default();
                    request
                        .headers
                        .get("authorization")
                        .and_then(|value| value.split_once(' '))
                        .is_some_and(|(kind, token)| {
                            kind.eq_ignore_ascii_case(wanted) && !token.trim().is_empty()
                        })
                }
                (Some("apiKey"), Some("header")) => scheme["name"].as_str().is_some_and(|header| {
                    request.headers.contains_key(&header.to_ascii_lowercase())
                }),
                (Some("apiKey"), Some("query")) => scheme["name"]
                    .as_str()
                    .is_some_and(|key| request.query.iter().any(|(k, _)| k == key)),
                (Some("apiKey"), Some("cookie")) => scheme["name"]
                    .as_str()
                    .is_some_and(|key| cookies(request).any(|(k, _)| k == key)),
                _ => false,
            }
        };
        let satisfied = requirements.iter().any(|requirement| {
            requirement
                .as_object()
                .is_some_and(|names| names.keys().all(|name| presents(name)))
        });
        let named: Vec<String> = requirements
            .iter()
            .filter_map(Value::as_object)
            .map(|names| names.keys().cloned().collect::<Vec<_>>().join(" + "))
            .collect();
        (!satisfied).then(|| {
            format!(
                "{}: sends no credential it declares (security: {})",
                self.label(),
                named.join(" or ")
            )
        })
    }

    fn request_body_base(&self) -> String {
        match self.object()["requestBody"]
            .get("$ref")
            .and_then(Value::as_str)
        {
            Some(reference) => {
                let target = reference.trim_start_matches('#');
                target
                    .strip_suffix("/requestBody")
                    .unwrap_or(target)
                    .to_owned()
            }
            None => self.pointer.clone(),
        }
    }

    fn parameters(&self) -> Vec<&Value> {
        let item_pointer = self.pointer.rsplit_once('/').map_or("", |(item, _)| item);
        let item = self.spec.doc.pointer(item_pointer).unwrap_or(&Value::Null);
        item["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(self.object()["parameters"].as_array().into_iter().flatten())
            .map(|p| self.spec.resolve(p))
            .collect()
    }

    /// Where a parameter's schema is: in the operation's list, or the path item's.
    fn parameter_schema_pointer(&self, name: &str, location: &str) -> String {
        let item_pointer = self
            .pointer
            .rsplit_once('/')
            .map_or("", |(item, _)| item)
            .to_owned();
        for owner in [self.pointer.clone(), item_pointer] {
            let list = self.spec.doc.pointer(&format!("{owner}/parameters"));
            let Some(parameters) = list.and_then(Value::as_array) else {
                continue;
            };
            let found = parameters.iter().position(|p| {
                let p = self.spec.resolve(p);
                p["name"] == name && p["in"] == location
            });
            if let Some(i) = found {
                return match parameters[i].get("$ref").and_then(Value::as_str) {
                    Some(reference) => format!("{}/schema", reference.trim_start_matches('#')),
                    None => format!("{owner}/parameters/{i}/schema"),
                };
            }
        }
        String::from("/parameter-not-found")
    }
}

/// A parameter arrives as text; give it the JSON type its schema wants before validating.
fn coerce(value: &str, schema: &Value) -> Value {
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if types.contains(&"integer")
        && let Ok(n) = value.parse::<i64>()
    {
        return json!(n);
    }
    if types.contains(&"number")
        && let Ok(n) = value.parse::<f64>()
    {
        return json!(n);
    }
    if types.contains(&"boolean") && (value == "true" || value == "false") {
        return json!(value == "true");
    }
    Value::String(value.to_owned())
}
