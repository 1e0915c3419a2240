//! A proxy in front of a service that injects faults on chosen requests and records what
//! passed through it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nfip_kit_test::TestServer;

#[derive(Debug, Clone)]
pub enum Fault {
    /// Forward, then hold the answer this long (the service has acted meanwhile).
    Delay(Duration),
    /// Hold the request this long, then forward it, even if the caller gave up meanwhile (the
    /// service acts late).
    Stall(Duration),
    /// Do not forward; answer this status with a problem body.
    Status(u16),
    /// Forward, then answer the real status with a body that is not JSON.
    Garbage,
}

#[derive(Debug, Clone)]
struct Rule {
    method: Method,
    path_prefix: String,
    fault: Fault,
    /// How many more requests get the fault; `None`: all.
    left: Option<usize>,
}

/// A request that reached the proxy.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub request_id: Option<String>,
    pub traceparent: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(Clone)]
struct Shared {
    target: String,
    http: reqwest::Client,
    rules: Arc<Mutex<Vec<Rule>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    stalled: Arc<AtomicUsize>,
}

pub struct FaultProxy {
    pub server: TestServer,
    shared: Shared,
}

impl FaultProxy {
    pub async fn start(target: String) -> FaultProxy {
        let shared = Shared {
            target,
            http: reqwest::Client::new(),
            rules: Arc::default(),
            seen: Arc::default(),
            stalled: Arc::default(),
        };
        let app = Router::new().fallback(forward).with_state(shared.clone());
        FaultProxy {
            server: TestServer::spawn(app).await,
            shared,
        }
    }

    pub fn url(&self) -> String {
        self.server.url("")
    }

    /// From now on, requests with this method and path prefix get `fault`.
    pub fn fail(&self, method: Method, path_prefix: &str, fault: Fault) {
        self.add(method, path_prefix, fault, None);
    }

    /// The next request with this method and path prefix gets `fault`.
    pub fn fail_once(&self, method: Method, path_prefix: &str, fault: Fault) {
        self.add(method, path_prefix, fault, Some(1));
    }

    fn add(&self, method: Method, path_prefix: &str, fault: Fault, left: Option<usize>) {
        self.shared.rules.lock().unwrap().push(Rule {
            method,
            path_prefix: path_prefix.to_owned(),
            fault,
            left,
        });
    }

    /// Forward everything again.
    pub fn heal(&self) {
        self.shared.rules.lock().unwrap().clear();
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Stalled requests that have not been answered by the service yet.
    pub fn stalled(&self) -> usize {
        self.shared.stalled.load(Ordering::SeqCst)
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn forward(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    shared.seen.lock().unwrap().push(Seen {
        method: parts.method.clone(),
        request_id: header(&parts.headers, "x-request-id"),
        traceparent: header(&parts.headers, "traceparent"),
        idempotency_key: header(&parts.headers, "idempotency-key"),
    });
    let fault = shared
        .rules
        .lock()
        .unwrap()
        .iter_mut()
        .filter(|rule| rule.left != Some(0))
        .find(|rule| rule.method == parts.method && path.starts_with(&rule.path_prefix))
        .map(|rule| {
            rule.left = rule.left.map(|left| left - 1);
            rule.fault.clone()
        });
    if let Some(Fault::Status(status)) = fault {
        let status = StatusCode::from_u16(status).unwrap();
        let problem = serde_json::json!({
            "type": "urn:nfip:problem:injected", "title": "Injected fault", "status": status.as_u16()
        });
        return (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            problem.to_string(),
        )
            .into_response();
    }
    let body: Bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut outgoing = shared
        .http
        .request(parts.method.clone(), format!("{}{path}", shared.target))
        .body(body);
    for name in [
        "authorization",
        "content-type",
        "idempotency-key",
        "x-request-id",
        "traceparent",
    ] {
        if let Some(value) = parts.headers.get(name) {
            outgoing = outgoing.header(name, value);
        }
    }
    let stall = match fault {
        Some(Fault::Stall(stall)) => {
            shared.stalled.fetch_add(1, Ordering::SeqCst);
            Some((stall, Arc::clone(&shared.stalled)))
        }
        _ => None,
    };
    // On its own task, so the request reaches the service even if the caller hangs up.
    let sent = tokio::spawn(async move {
        let Some((stall, stalled)) = stall else {
            return outgoing.send().await;
        };
        tokio::time::sleep(stall).await;
        let answer = outgoing.send().await;
        stalled.fetch_sub(1, Ordering::SeqCst);
        answer
    });
    let answer = match sent.await.expect("the forwarding task runs") {
        Ok(answer) => answer,
        Err(error) => return (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    };
    let status = answer.status();
    let content_type = header(answer.headers(), "content-type").unwrap_or_default();
    let bytes = answer.bytes().await.unwrap_or_default();
    match fault {
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            (status, [(header::CONTENT_TYPE, content_type)], bytes).into_response()
        }
        Some(Fault::Garbage) => (
            status,
            [(header::CONTENT_TYPE, "text/html")],
            "<html>oops</html>",
        )
            .into_response(),
        _ => (status, [(header::CONTENT_TYPE, content_type)], bytes).into_response(),
    }
}
