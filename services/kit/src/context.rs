//! Per-request context: the request id (`x-request-id`) and the W3C trace context
//! (`traceparent`), kept for the whole handler so errors and outgoing calls can carry them, the
//! request's server span (exported when tracing is on, see [`crate::telemetry`]), and one
//! readable log line per request.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use tracing::field::display;
use uuid::Uuid;

use crate::auth::Caller;

pub const REQUEST_ID: &str = "x-request-id";
pub const TRACEPARENT: &str = "traceparent";

#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub trace: Traceparent,
}

tokio::task_local! {
    static CURRENT: RequestContext;
}

/// The context of the request being handled, if any.
pub fn current() -> Option<RequestContext> {
    CURRENT.try_with(Clone::clone).ok()
}

pub fn current_request_id() -> Option<String> {
    CURRENT.try_with(|c| c.request_id.clone()).ok()
}

/// Runs `future` as part of `context` (for work a handler hands to another task).
pub async fn scope<F: Future>(context: RequestContext, future: F) -> F::Output {
    CURRENT.scope(context, future).await
}

/// Spawns `future` as part of the request being handled: its context and its span go with it,
/// so the task's logs and calls belong to the request.
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let work = future.instrument(tracing::Span::current());
    match current() {
        Some(context) => tokio::spawn(CURRENT.scope(context, work)),
        None => tokio::spawn(work),
    }
}

/// A W3C trace context (`00-<trace-id>-<parent-id>-<flags>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traceparent {
    pub trace_id: String,
    pub parent_id: String,
    pub flags: String,
}

impl Traceparent {
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let (version, trace_id, parent_id, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str, len: usize| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        let valid = hex(version, 2)
            && version != "ff"
            && hex(trace_id, 32)
            && trace_id.bytes().any(|b| b != b'0')
            && hex(parent_id, 16)
            && parent_id.bytes().any(|b| b != b'0')
            && hex(flags, 2)
            && (version != "00" || parts.next().is_none());
        valid.then(|| Traceparent {
            trace_id: trace_id.to_owned(),
            parent_id: parent_id.to_owned(),
            flags: flags.to_owned(),
        })
    }

    /// A new trace, sampled.
    pub fn new_root() -> Self {
        Traceparent {
            trace_id: Uuid::new_v4().simple().to_string(),
            parent_id: random_span_id(),
            flags: String::from("01"),
        }
    }

    /// The header value for an outgoing call made on behalf of this trace: same trace id, a
    /// new span id for the call.
    pub fn child(&self) -> Traceparent {
        Traceparent {
            trace_id: self.trace_id.clone(),
            parent_id: random_span_id(),
            flags: self.flags.clone(),
        }
    }

    pub fn header_value(&self) -> String {
        format!("00-{}-{}-{}", self.trace_id, self.parent_id, self.flags)
    }
}

fn random_span_id() -> String {
    let id = Uuid::new_v4().simple().to_string();
    id[..16].to_owned()
}

fn valid_request_id(value: &HeaderValue) -> Option<String> {
    let value = value.to_str().ok()?;
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    ok.then(|| value.to_owned())
}

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(valid_request_id)
        .unwrap_or_else(|| Uuid::new_v4().to_string())
}

fn incoming_trace(headers: &HeaderMap) -> Option<Traceparent> {
    headers
        .get(TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(Traceparent::parse)
}

/// The request's server span. Health checks and scrapes get one below every level that is
/// logged or exported, so probes make neither lines nor traces.
fn server_span(req: &Request, quiet: bool) -> tracing::Span {
    macro_rules! request_span {
        ($level:expr) => {
            tracing::span!(
                $level,
                "request",
                otel.name = tracing::field::Empty,
                otel.kind = tracing::field::Empty,
                otel.status_code = tracing::field::Empty,
                http.response.status_code = tracing::field::Empty,
                id = tracing::field::Empty,
                trace = tracing::field::Empty,
                span = tracing::field::Empty,
            )
        };
    }
    let span = if quiet {
        request_span!(tracing::Level::TRACE)
    } else {
        request_span!(tracing::Level::INFO)
    };
    // A route template, never a raw path: a scan of unknown paths makes one name.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    crate::telemetry::label(&span, || format!("{} {route}", req.method()), "server");
    span
}

/// Middleware: establishes the request context and its server span, echoes `x-request-id`,
/// logs the outcome.
pub async fn middleware(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let quiet = path == "/healthz" || path == "/readyz" || path == "/metrics";
    let span = server_span(&req, quiet);
    let context = RequestContext {
        request_id: request_id(req.headers()),
        trace: crate::telemetry::continue_trace(&span, incoming_trace(req.headers())),
    };
    span.record("id", display(&context.request_id));
    span.record("trace", display(&context.trace.trace_id));
    span.record("span", display(&context.trace.parent_id));
    let request_id = HeaderValue::from_str(&context.request_id).ok();
    let started = Instant::now();

    let mut response = CURRENT
        .scope(context, next.run(req))
        .instrument(span.clone())
        .await;

    if let Some(request_id) = request_id {
        response.headers_mut().insert(REQUEST_ID, request_id);
    }
    let status = response.status().as_u16();
    crate::telemetry::outcome(&span, status);
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let by = response
        .extensions()
        .get::<Caller>()
        .map_or("", |caller| caller.name());
    let why = response
        .extensions()
        .get::<crate::problem::ServerProblem>()
        .map_or_else(String::new, |problem| format!(": {}", problem.0));
    span.in_scope(|| {
        if status == 500 {
            tracing::error!(
                caller = by,
                "{method} {path} -> {status} in {elapsed_ms:.1} ms{why}"
            );
        } else if status >= 500 {
            // Unavailable, or an upstream's failure: the one line that says it.
            tracing::warn!(
                caller = by,
                "{method} {path} -> {status} in {elapsed_ms:.1} ms{why}"
            );
        } else if quiet {
            tracing::debug!("{method} {path} -> {status} in {elapsed_ms:.1} ms");
        } else {
            tracing::info!(
                caller = by,
                "{method} {path} -> {status} in {elapsed_ms:.1} ms"
            );
        }
    });
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_continues_a_trace() {
        let t =
            Traceparent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        let child = t.child();
        assert_eq!(child.trace_id, t.trace_id);
        assert_ne!(child.parent_id, t.parent_id);
        assert_eq!(Traceparent::parse(&child.header_value()), Some(child));
    }

    #[test]
    fn rejects_bad_traceparents() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(Traceparent::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn keeps_a_sane_request_id_and_replaces_others() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID, HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&headers), "abc-123");
        headers.insert(REQUEST_ID, HeaderValue::from_static("has space"));
        assert_ne!(request_id(&headers), "has space");
    }
}
