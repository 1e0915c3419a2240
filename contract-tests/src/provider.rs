//! A provider mocked with wiremock from its published spec. Every canned response is checked
//! against the spec when it is set up; every request that reaches the mock is recorded, with
//! the answer it got, to be checked afterwards.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

use crate::spec::{SeenRequest, Spec};

/// One request a provider mock answered, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// The provider's name (its spec's).
    pub provider: String,
    /// The `operationId` the mock was set up for.
    pub operation: String,
    pub request: SeenRequest,
    pub status: u16,
    /// The body served: JSON, or a string when it was not JSON.
    pub response: Value,
    /// Set when the mock breaks the spec on purpose, saying why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off_contract: Option<String>,
    /// The provider state the answer assumes (see [`crate::states`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given: Option<String>,
}

/// The exchanges of one test, across its providers, in the order they happened.
pub type Log = Arc<Mutex<Vec<Exchange>>>;

pub struct MockProvider {
    spec: Arc<Spec>,
    server: MockServer,
    log: Log,
}

impl MockProvider {
    pub async fn start(spec: Spec, log: Log) -> MockProvider {
        MockProvider {
            spec: Arc::new(spec),
            server: MockServer::start().await,
            log,
        }
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// `http://127.0.0.1:<port>`
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Sets up an answer for an operation of the spec.
    pub fn on(&self, operation: &str) -> MockBuilder<'_> {
        MockBuilder {
            provider: self,
            operation: operation.to_owned(),
            path: None,
            delay: None,
            off_contract: None,
            given: None,
            times: None,
        }
    }

    /// Every request that reached this provider.
    pub async fn received(&self) -> Vec<SeenRequest> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(seen)
            .collect()
    }

    /// Checks every request that reached this provider against its spec, and that a mock
    /// answered each; returns what is wrong.
    pub async fn check_requests(&self) -> Vec<String> {
        let mut answered: Vec<SeenRequest> = self
            .log
            .lock()
            .expect("log lock")
            .iter()
            .filter(|e| e.provider == self.spec.name)
            .map(|e| e.request.clone())
            .collect();
        let mut violations = Vec::new();
        for request in self.received().await {
            match self.spec.find(&request.method, &request.path) {
                Err(error) => violations.push(format!("request to {error}")),
                Ok(operation) => violations.extend(operation.check_request(&request)),
            }
            match answered.iter().position(|a| *a == request) {
                Some(i) => {
                    answered.remove(i);
                }
                None => violations.push(format!(
                    "{}: no mock answered {} {} (set one up with .on(operation))",
                    self.spec.name, request.method, request.path
                )),
            }
        }
        violations
    }
}

/// An answer being set up; `respond` checks it against the spec and mounts it.
pub struct MockBuilder<'a> {
    provider: &'a MockProvider,
    operation: String,
    path: Option<String>,
    delay: Option<Duration>,
    off_contract: Option<String>,
    given: Option<String>,
    times: Option<u64>,
}

impl MockBuilder<'_> {
    /// The provider state this answer assumes, e.g. [`states::PAID_INVOICE`](crate::states):
    /// the verifier sets it up before replaying the interaction against a real provider.
    pub fn given(mut self, state: &str) -> Self {
        self.given = Some(state.to_owned());
        self
    }

    /// Only for this concrete path (it wins over a mock for the whole operation).
    pub fn path(mut self, path: &str) -> Self {
        self.path = Some(path.to_owned());
        self
    }

    /// Answer after this long (the request has been recorded meanwhile).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Answer only the first `n` matching requests.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }

    /// Break the spec on purpose — to test how the consumer copes — saying why. Such an answer
    /// is not checked, not counted as coverage and not replayed against the real provider.
    pub fn off_contract(mut self, reason: &str) -> Self {
        self.off_contract = Some(reason.to_owned());
        self
    }

    /// Answers `status` with a JSON `body` in the media type the spec declares for it; panics,
    /// naming the operation, status and JSON pointer, if that contradicts the spec.
    pub async fn respond(self, status: u16, body: Value) {
        if let Err(violation) = self.try_respond(status, body).await {
            panic!("a mock contradicts the published spec:\n{violation}");
        }
    }

    /// Like [`respond`](Self::respond), returning the contradiction instead of panicking.
    pub async fn try_respond(self, status: u16, body: Value) -> Result<(), String> {
        let operation = self.operation()?;
        let media_types = operation.response_media_types(status);
        let content_type = match &media_types {
            Ok(types) if types.len() == 1 => types[0].clone(),
            Ok(types) if types.is_empty() => String::new(),
            _ => String::from("application/json"),
        };
        let bytes = if body.is_null() && content_type.is_empty() {
            Vec::new()
        } else {
            serde_json::to_vec(&body).expect("JSON serializes")
        };
        self.mount(status, &content_type, bytes).await
    }

    /// Answers raw bytes with a content type; only with [`off_contract`](Self::off_contract)
    /// does it make sense to send what the spec does not describe.
    pub async fn respond_raw(self, status: u16, content_type: &str, body: &str) {
        if let Err(violation) = self.try_respond_raw(status, content_type, body).await {
            panic!("a mock contradicts the published spec:\n{violation}");
        }
    }

    /// Like [`respond_raw`](Self::respond_raw), returning the contradiction instead of
    /// panicking.
    pub async fn try_respond_raw(
        self,
        status: u16,
        content_type: &str,
        body: &str,
    ) -> Result<(), String> {
        self.mount(status, content_type, body.as_bytes().to_vec())
            .await
    }

    fn operation(&self) -> Result<crate::spec::Operation<'_>, String> {
        self.provider
            .spec
            .operation_by_id(&self.operation)
            .ok_or_else(|| {
                format!(
                    "{}: no operation {:?} in the spec",
                    self.provider.spec.name, self.operation
                )
            })
    }

    async fn mount(self, status: u16, content_type: &str, body: Vec<u8>) -> Result<(), String> {
        let operation = self.operation()?;
        if self.off_contract.is_none() {
            let violations = operation.check_response(status, content_type, &body);
            if !violations.is_empty() {
                return Err(violations.join("\n"));
            }
        }
        if let Some(concrete) = &self.path {
            let found = self.provider.spec.find(&operation.method, concrete)?;
            if found.id != operation.id {
                return Err(format!(
                    "{}: {concrete} reaches {}, not {}",
                    self.provider.spec.name, found.id, operation.id
                ));
            }
        }
        let responder = Recorder {
            provider: self.provider.spec.name.clone(),
            operation: operation.id.clone(),
            status,
            content_type: content_type.to_owned(),
            body,
            delay: self.delay,
            off_contract: self.off_contract.clone(),
            given: self.given.clone(),
            log: Arc::clone(&self.provider.log),
        };
        let mock = Mock::given(method(operation.method.as_str()));
        let mock = match &self.path {
            Some(concrete) => mock
                .and(path(concrete.as_str()))
                .respond_with(responder)
                .with_priority(1),
            None => mock
                .and(path_regex(template_regex(&operation.template)))
                .respond_with(responder),
        };
        let mock = match self.times {
            Some(n) => mock.up_to_n_times(n),
            None => mock,
        };
        mock.mount(&self.provider.server).await;
        Ok(())
    }
}

/// `/api/invoices/{id}/void` → `^/api/invoices/[^/]+/void$`
fn template_regex(template: &str) -> String {
    let mut regex = String::from("^");
    for (i, part) in template.split('/').enumerate() {
        if i > 0 {
            regex.push('/');
        }
        if part.starts_with('{') && part.ends_with('}') {
            regex.push_str("[^/]+");
        } else {
            for c in part.chars() {
                if "\\.+*?()|[]{}^$".contains(c) {
                    regex.push('\\');
                }
                regex.push(c);
            }
        }
    }
    regex.push('$');
    regex
}

pub(crate) fn seen(request: &wiremock::Request) -> SeenRequest {
    let headers: BTreeMap<String, String> = request
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_ascii_lowercase(),
                value.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    SeenRequest {
        method: request.method.to_string(),
        path: request.url.path().to_owned(),
        query: request
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        headers,
        body: (!request.body.is_empty())
            .then(|| String::from_utf8_lossy(&request.body).into_owned()),
    }
}

struct Recorder {
    provider: String,
    operation: String,
    status: u16,
    content_type: String,
    body: Vec<u8>,
    delay: Option<Duration>,
    off_contract: Option<String>,
    given: Option<String>,
    log: Log,
}

impl Respond for Recorder {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let response = serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&self.body).into_owned()));
        self.log.lock().expect("log lock").push(Exchange {
            provider: self.provider.clone(),
            operation: self.operation.clone(),
            request: seen(request),
            status: self.status,
            response,
            off_contract: self.off_contract.clone(),
            given: self.given.clone(),
        });
        let mut template = ResponseTemplate::new(self.status);
        if !self.body.is_empty() {
            template = template.set_body_raw(self.body.clone(), &self.content_type);
        }
        if let Some(delay) = self.delay {
            template = template.set_delay(delay);
        }
        template
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_become_anchored_regexes() {
        assert_eq!(
            template_regex("/api/invoices/{id}/void"),
            "^/api/invoices/[^/]+/void$"
        );
        assert_eq!(template_regex("/a.b"), "^/a\\.b$");
    }
}
