//! A validating mock server, for consumers in any language: serves a provider from its
//! published spec over HTTP (`contract-tests mock`), so that a TypeScript or Python consumer
//! can be contract-tested as the Rust harness tests the gateway.
//!
//! - It answers each operation with the spec's own example for its first success status, or
//!   with answers scripted in a small JSON file, per operation and optionally per path. An
//!   operation with neither is answered 501, a path no operation has 404; both are reported.
//! - Every canned answer is checked against the spec when the server starts: a script that
//!   lies about the provider does not start.
//! - Every request it receives is checked as strictly as in the Rust harness (operation,
//!   credential, parameters, nothing undeclared, body). The violations are served at
//!   `GET /__contract/report` and printed when the server stops.

use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

use crate::provider::seen;
use crate::spec::Spec;

/// Where the report is served.
pub const REPORT_PATH: &str = "/__contract/report";

/// Answers scripted for a mock, read from JSON: `{"answers": [...]}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    pub answers: Vec<Answer>,
}

/// One scripted answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// The `operationId` it answers.
    pub operation: String,
    /// Only for this concrete path (it wins over an answer for the whole operation).
    #[serde(default)]
    pub path: Option<String>,
    pub status: u16,
    /// The body; without it, the spec's example for this status.
    #[serde(default)]
    pub body: Option<Value>,
    /// Response headers to add, e.g. `Location`.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
}

impl Script {
    pub fn load(file: &Path) -> Result<Script, String> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))
    }
}

/// What the mock found wrong in what it was sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// Requests received (the report's own excepted).
    pub requests: usize,
    /// Each as `METHOD path: violation`.
    pub violations: Vec<String>,
}

/// A running mock.
pub struct ValidatingMock {
    server: MockServer,
    report: Arc<Mutex<Report>>,
}

impl ValidatingMock {
    /// Checks every canned answer against `spec`, then serves on `listener`; returns every
    /// contradiction found instead if there is one.
    pub async fn start(
        spec: Spec,
        script: Script,
        listener: std::net::TcpListener,
    ) -> Result<ValidatingMock, Vec<String>> {
        let spec = Arc::new(spec);
        let (answers, problems) = canned(&spec, script);
        if !problems.is_empty() {
            return Err(problems);
        }
        let report = Arc::new(Mutex::new(Report::default()));
        let server = MockServer::builder()
            .listener(listener)
            .disable_request_recording()
            .start()
            .await;
        let reporter = Arc::clone(&report);
        Mock::given(method("GET"))
            .and(path(REPORT_PATH))
            .respond_with(move |_: &wiremock::Request| {
                let report = reporter.lock().expect("report lock").clone();
                ResponseTemplate::new(200).set_body_json(report)
            })
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(wiremock::matchers::any())
            .respond_with(Dispatcher {
                spec,
                answers,
                report: Arc::clone(&report),
            })
            .with_priority(2)
            .mount(&server)
            .await;
        Ok(ValidatingMock { server, report })
    }

    /// `http://127.0.0.1:<port>`
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    pub fn report(&self) -> Report {
        self.report.lock().expect("report lock").clone()
    }
}

/// An answer ready to serve.
#[derive(Debug, Clone)]
struct Canned {
    operation: String,
    path: Option<String>,
    status: u16,
    content_type: String,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
}

/// The scripted answers and, for every operation not scripted as a whole, the spec's example
/// for its first success status; each checked against the spec.
fn canned(spec: &Spec, script: Script) -> (Vec<Canned>, Vec<String>) {
    let mut answers = Vec::new();
    let mut problems = Vec::new();
    let mut wanted = script.answers;
    for (id, ..) in spec.operations() {
        if !wanted.iter().any(|a| a.operation == id && a.path.is_none()) {
            let success = spec
                .declared_statuses(&id)
                .into_iter()
                .filter_map(|s| s.parse::<u16>().ok())
                .find(|s| (200..300).contains(s));
            let has_example = |status: u16| {
                spec.operation_by_id(&id).is_some_and(|op| {
                    op.response_example(status).is_some()
                        || op.response_media_types(status).is_ok_and(|m| m.is_empty())
                })
            };
            // Without an example the operation is not answered (501) unless scripted.
            if let Some(status) = success.filter(|s| has_example(*s)) {
                wanted.push(Answer {
                    operation: id,
                    path: None,
                    status,
                    body: None,
                    headers: Default::default(),
                });
            }
        }
    }
    for answer in wanted {
        match prepare(spec, answer) {
            Ok(canned) => answers.push(canned),
            Err(problem) => problems.push(problem),
        }
    }
    // Answers for a concrete path first.
    answers.sort_by_key(|a| a.path.is_none());
    (answers, problems)
}

fn prepare(spec: &Spec, answer: Answer) -> Result<Canned, String> {
    let operation = spec.operation_by_id(&answer.operation).ok_or_else(|| {
        format!(
            "{}: no operation {:?} in the spec",
            spec.name, answer.operation
        )
    })?;
    if let Some(concrete) = &answer.path {
        let found = spec.find(&operation.method, concrete)?;
        if found.id != operation.id {
            return Err(format!(
                "{}: {concrete} reaches {}, not {}",
                spec.name, found.id, operation.id
            ));
        }
    }
    let media_types = operation.response_media_types(answer.status)?;
    let content_type = media_types.first().cloned().unwrap_or_default();
    let body = match (answer.body, content_type.is_empty()) {
        (_, true) => Vec::new(),
        (Some(body), false) => serde_json::to_vec(&body).expect("JSON serializes"),
        (None, false) => {
            let example = operation.response_example(answer.status).ok_or_else(|| {
                format!(
                    "{}: the spec has no example of its {} answer; script one",
                    operation.label(),
                    answer.status
                )
            })?;
            serde_json::to_vec(&example).expect("JSON serializes")
        }
    };
    let violations = operation.check_response(answer.status, &content_type, &body);
    if !violations.is_empty() {
        return Err(violations.join("\n"));
    }
    Ok(Canned {
        operation: operation.id.clone(),
        path: answer.path,
        status: answer.status,
        content_type,
        body,
        headers: answer.headers.into_iter().collect(),
    })
}

struct Dispatcher {
    spec: Arc<Spec>,
    answers: Vec<Canned>,
    report: Arc<Mutex<Report>>,
}

impl Respond for Dispatcher {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let request = seen(request);
        let at = format!("{} {}", request.method, request.path);
        let mut report = self.report.lock().expect("report lock");
        report.requests += 1;
        let operation = match self.spec.find(&request.method, &request.path) {
            Ok(operation) => operation,
            Err(error) => {
                report.violations.push(format!("{at}: {error}"));
                return problem(404, "Not found", &error);
            }
        };
        report.violations.extend(
            operation
                .check_request(&request)
                .into_iter()
                .map(|v| format!("{at}: {v}")),
        );
        let answer = self.answers.iter().find(|a| {
            a.operation == operation.id && a.path.as_ref().is_none_or(|p| *p == request.path)
        });
        match answer {
            Some(answer) => {
                let mut template = ResponseTemplate::new(answer.status);
                if !answer.body.is_empty() {
                    template = template.set_body_raw(answer.body.clone(), &answer.content_type);
                }
                for (name, value) in &answer.headers {
                    template = template.insert_header(name.as_str(), value.as_str());
                }
                template
            }
            None => {
                let detail = format!(
                    "the mock of {} has no answer for {}: script one",
                    self.spec.name, operation.id
                );
                report.violations.push(format!("{at}: {detail}"));
                problem(501, "Not implemented by the mock", &detail)
            }
        }
    }
}

fn problem(status: u16, title: &str, detail: &str) -> ResponseTemplate {
    let body = json!({"type": "about:blank", "title": title, "status": status, "detail": detail});
    ResponseTemplate::new(status).set_body_raw(
        serde_json::to_vec(&body).expect("JSON serializes"),
        "application/problem+json",
    )
}
