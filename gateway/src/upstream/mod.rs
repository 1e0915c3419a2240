//! Calling the services: one HTTP client per upstream, built once, with per-hop timeouts
//! bounded by the caller's deadline, retries with jittered backoff (every call the gateway makes
//! is safe to repeat: reads, keyed creates, idempotent cancel/void), a circuit breaker that fails
//! fast while an upstream is known down, and errors classified for the caller.
//!
//! Each service has its own module with the gateway's consumer view of it: the request and
//! response types the gateway needs, written from the service's published spec, never imported
//! from the service's crate. The contract tests check those views against the specs.

pub mod billing;
pub mod notification;
pub mod policy;
pub mod risk;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderValue, Method, StatusCode};
use nfip_kit::Problem;
use nfip_kit::context::{self, REQUEST_ID, TRACEPARENT};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::metrics::Metrics;
use crate::state::Endpoint;

/// When the whole operation must be done by.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(Instant);

impl Deadline {
    pub fn after(budget: Duration) -> Deadline {
        Deadline(Instant::now() + budget)
    }

    pub fn remaining(&self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }
}

/// How calls to an upstream are made.
#[derive(Debug, Clone, Copy)]
pub struct CallPolicy {
    /// Longest wait for one answer (connect, send, read the whole body).
    pub hop_timeout: Duration,
    pub connect_timeout: Duration,
    /// Attempts per call, the first included.
    pub attempts: u32,
    /// First backoff; doubles per retry, with ±50% jitter.
    pub backoff: Duration,
    /// Consecutive failures that open the circuit.
    pub breaker_threshold: u32,
    /// How long an open circuit fails calls fast before letting one probe through.
    pub breaker_cooldown: Duration,
}

impl Default for CallPolicy {
    fn default() -> Self {
        CallPolicy {
            hop_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_millis(500),
            attempts: 3,
            backoff: Duration::from_millis(25),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(2),
        }
    }
}

/// Why a call to an upstream did not give the answer the gateway needed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    #[error("{upstream} did not answer in time")]
    Timeout { upstream: &'static str },
    /// `detail` says what failed, in words that leak nothing of the host (the OS error goes to
    /// the debug log).
    #[error("{upstream} is unreachable: {detail}")]
    Unreachable {
        upstream: &'static str,
        detail: &'static str,
    },
    #[error("{upstream} is failing; not calling it for a moment")]
    CircuitOpen { upstream: &'static str },
    #[error("{upstream} answered outside its contract: {detail}")]
    BadResponse {
        upstream: &'static str,
        detail: String,
    },
    #[error("{upstream} refused the request ({status})")]
    Rejected {
        upstream: &'static str,
        status: u16,
        problem: Option<Box<Problem>>,
    },
    #[error("{upstream} failed ({status})")]
    Failed { upstream: &'static str, status: u16 },
}

impl UpstreamError {
    pub fn upstream(&self) -> &'static str {
        match self {
            UpstreamError::Timeout { upstream }
            | UpstreamError::Unreachable { upstream, .. }
            | UpstreamError::CircuitOpen { upstream }
            | UpstreamError::BadResponse { upstream, .. }
            | UpstreamError::Rejected { upstream, .. }
            | UpstreamError::Failed { upstream, .. } => upstream,
        }
    }

    /// Whether the upstream may have acted on the request although the gateway did not get
    /// its answer (so a compensation must look for what it may have created).
    pub fn is_ambiguous(&self) -> bool {
        matches!(
            self,
            UpstreamError::Timeout { .. }
                | UpstreamError::Unreachable { .. }
                | UpstreamError::BadResponse { .. }
                | UpstreamError::Failed { .. }
        )
    }

    fn retryable(&self) -> bool {
        match self {
            UpstreamError::Timeout { .. } | UpstreamError::Unreachable { .. } => true,
            UpstreamError::Failed { status, .. } => matches!(status, 502..=504),
            UpstreamError::CircuitOpen { .. }
            | UpstreamError::BadResponse { .. }
            | UpstreamError::Rejected { .. } => false,
        }
    }

    fn label(&self) -> &'static str {
        match self {
            UpstreamError::Timeout { .. } => "timeout",
            UpstreamError::Unreachable { .. } => "unreachable",
            UpstreamError::CircuitOpen { .. } => "circuit_open",
            UpstreamError::BadResponse { .. } => "bad_response",
            UpstreamError::Rejected { .. } => "rejected",
            UpstreamError::Failed { .. } => "failed",
        }
    }
}

/// A request to an upstream.
pub struct Call<'a, B: Serialize> {
    /// The operation's `operationId` in the upstream's spec, for metrics and logs.
    pub operation: &'static str,
    pub method: Method,
    pub path: String,
    pub body: Option<&'a B>,
    pub idempotency_key: Option<&'a str>,
    /// The success status the spec declares for this operation.
    pub success: StatusCode,
}

impl Call<'_, ()> {
    /// A read: `GET`, answered 200.
    pub fn read(operation: &'static str, path: String) -> Self {
        Call {
            operation,
            method: Method::GET,
            path,
            body: None,
            idempotency_key: None,
            success: StatusCode::OK,
        }
    }

    /// An idempotent action without a body (cancel, void): `POST`, answered 200.
    pub fn action(operation: &'static str, path: String) -> Self {
        Call {
            method: Method::POST,
            ..Call::read(operation, path)
        }
    }
}

impl<'a, B: Serialize> Call<'a, B> {
    /// A write made safe to repeat by its idempotency key: `POST` with a JSON body.
    pub fn keyed(
        operation: &'static str,
        path: &str,
        body: &'a B,
        key: &'a str,
        success: StatusCode,
    ) -> Self {
        Call {
            operation,
            method: Method::POST,
            path: path.to_owned(),
            body: Some(body),
            idempotency_key: Some(key),
            success,
        }
    }
}

/// One upstream service.
#[derive(Debug)]
pub struct Upstream {
    pub name: &'static str,
    base: String,
    authorization: Option<HeaderValue>,
    http: reqwest::Client,
    policy: CallPolicy,
    breaker: Breaker,
    metrics: Metrics,
}

impl Upstream {
    /// A client for the service at `endpoint`, or why its URL cannot be called.
    pub fn new(
        name: &'static str,
        endpoint: &Endpoint,
        policy: CallPolicy,
        roots: &[reqwest::Certificate],
        metrics: Metrics,
    ) -> Result<Upstream, String> {
        let base = base_url(&endpoint.url)
            .map_err(|why| format!("{}_URL `{}` {why}", name.to_uppercase(), endpoint.url))?;
        let authorization = endpoint
            .token
            .as_deref()
            .map(|token| {
                let mut value =
                    HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                        format!(
                            "{}_TOKEN has characters a header cannot carry",
                            name.to_uppercase()
                        )
                    })?;
                value.set_sensitive(true);
                Ok::<_, String>(value)
            })
            .transpose()?;
        let http = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.hop_timeout)
            .pool_max_idle_per_host(64)
            // Below the services' idle timeout (HEADER_TIMEOUT_MS, 5 s by default), so the pool
            // never reuses a connection the service is closing.
            .pool_idle_timeout(Duration::from_secs(2))
            .tcp_nodelay(true)
            .no_proxy()
            .tls_certs_merge(roots.iter().cloned())
            // A service answers; it does not send the gateway elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| format!("cannot build the HTTP client for {name}: {error}"))?;
        Ok(Upstream {
            name,
            base,
            authorization,
            http,
            policy,
            breaker: Breaker::new(policy.breaker_threshold, policy.breaker_cooldown),
            metrics,
        })
    }

    /// Makes the call, retrying what is safe to retry, within `deadline`.
    pub async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        call: Call<'_, B>,
        deadline: Deadline,
    ) -> Result<T, UpstreamError> {
        let body = call
            .body
            .map(|body| serde_json::to_vec(body).expect("a request body serializes"));
        let mut backoff = self.policy.backoff;
        let mut attempt = 1;
        loop {
            let started = Instant::now();
            let result = self.attempt(&call, body.as_deref(), deadline).await;
            let outcome = match &result {
                Ok(_) => "ok",
                Err(error) => error.label(),
            };
            self.metrics
                .upstream(self.name, call.operation, outcome, started.elapsed());
            match result {
                Err(error) if error.retryable() && attempt < self.policy.attempts => {
                    let pause = jittered(backoff);
                    if pause >= deadline.remaining() {
                        return Err(error);
                    }
                    tracing::warn!(
                        upstream = self.name,
                        operation = call.operation,
                        "attempt {attempt} failed ({error}); retrying in {pause:?}"
                    );
                    tokio::time::sleep(pause).await;
                    backoff *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn attempt<B: Serialize, T: DeserializeOwned>(
        &self,
        call: &Call<'_, B>,
        body: Option<&[u8]>,
        deadline: Deadline,
    ) -> Result<T, UpstreamError> {
        let upstream = self.name;
        if !self.breaker.allow() {
            return Err(UpstreamError::CircuitOpen { upstream });
        }
        let budget = deadline.remaining().min(self.policy.hop_timeout);
        if budget.is_zero() {
            return Err(UpstreamError::Timeout { upstream });
        }
        let mut request = self
            .http
            .request(call.method.clone(), format!("{}{}", self.base, call.path))
            .timeout(budget);
        if let Some(current) = context::current() {
            request = request
                .header(REQUEST_ID, current.request_id)
                .header(TRACEPARENT, current.trace.child().header_value());
        }
        if let Some(authorization) = &self.authorization {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        if let Some(key) = call.idempotency_key {
            request = request.header("idempotency-key", key);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", HeaderValue::from_static("application/json"))
                .body(body.to_vec());
        }
        let answer = async {
            let response = request.send().await?;
            let status = response.status();
            let bytes = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, bytes))
        };
        let result = match tokio::time::timeout(budget, answer).await {
            Err(_) => Err(UpstreamError::Timeout { upstream }),
            Ok(Err(error)) if error.is_timeout() => Err(UpstreamError::Timeout { upstream }),
            Ok(Err(error)) => {
                tracing::debug!(upstream, "call failed: {}", root_cause(&error));
                Err(UpstreamError::Unreachable {
                    upstream,
                    detail: if error.is_connect() {
                        "no connection could be made"
                    } else {
                        "the connection failed before the answer"
                    },
                })
            }
            Ok(Ok((status, bytes))) => classify(upstream, call, status, &bytes),
        };
        // A 4xx is the upstream working as specified; anything else that failed counts
        // against it.
        let healthy = matches!(result, Ok(_) | Err(UpstreamError::Rejected { .. }));
        match self.breaker.record(healthy) {
            Some(Transition::Opened) => tracing::warn!(
                upstream,
                "{upstream} failed {} times in a row: failing calls to it fast for {:?}",
                self.policy.breaker_threshold.max(1),
                self.policy.breaker_cooldown
            ),
            Some(Transition::Closed) => tracing::info!(upstream, "{upstream} answers again"),
            None => {}
        }
        result
    }
}

fn classify<B: Serialize, T: DeserializeOwned>(
    upstream: &'static str,
    call: &Call<'_, B>,
    status: StatusCode,
    bytes: &[u8],
) -> Result<T, UpstreamError> {
    if status == call.success {
        return serde_json::from_slice(bytes).map_err(|error| UpstreamError::BadResponse {
            upstream,
            detail: format!("{} {status}: {error}", call.operation),
        });
    }
    let problem = || serde_json::from_slice::<Problem>(bytes).ok().map(Box::new);
    if status.is_client_error() {
        Err(UpstreamError::Rejected {
            upstream,
            status: status.as_u16(),
            problem: problem(),
        })
    } else if status.is_server_error() {
        Err(UpstreamError::Failed {
            upstream,
            status: status.as_u16(),
        })
    } else {
        Err(UpstreamError::BadResponse {
            upstream,
            detail: format!(
                "{} answered {status}, expected {}",
                call.operation, call.success
            ),
        })
    }
}

/// The base URL of a service: `http(s)://host[:port][/path]`, without a query or fragment.
fn base_url(url: &str) -> Result<String, &'static str> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "is not a URL")?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("is not an http:// or https:// URL");
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("has no host");
    }
    if parsed.query().is_some() || parsed.fragment().is_some() || !parsed.username().is_empty() {
        return Err("must not carry a query, a fragment or credentials");
    }
    Ok(url.trim_end_matches('/').to_owned())
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// `base` ±50%.
fn jittered(base: Duration) -> Duration {
    let bits = uuid::Uuid::new_v4().as_u128() as u64;
    let unit = (bits >> 11) as f64 / (1u64 << 53) as f64;
    base.mul_f64(0.5 + unit)
}

/// Counts consecutive failures; past the threshold, fails calls fast for the cooldown, then
/// lets a single probe through, whose outcome closes or reopens the circuit.
#[derive(Debug)]
struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<BreakerState>,
}

/// A change of the circuit worth a line in the log: one each way, not one per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transition {
    Opened,
    Closed,
}

#[derive(Debug, Clone, Copy)]
enum BreakerState {
    Closed { failures: u32 },
    Open { until: Instant },
    Probing { since: Instant },
}

impl Breaker {
    fn new(threshold: u32, cooldown: Duration) -> Breaker {
        Breaker {
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(BreakerState::Closed { failures: 0 }),
        }
    }

    fn allow(&self) -> bool {
        let mut state = self.state.lock().expect("breaker lock");
        let now = Instant::now();
        match *state {
            BreakerState::Closed { .. } => true,
            BreakerState::Open { until } if now >= until => {
                *state = BreakerState::Probing { since: now };
                true
            }
            BreakerState::Open { .. } => false,
            // A probe that never reported back (its caller went away) must not wedge the circuit.
            BreakerState::Probing { since } if now.duration_since(since) >= self.cooldown => {
                *state = BreakerState::Probing { since: now };
                true
            }
            BreakerState::Probing { .. } => false,
        }
    }

    fn record(&self, healthy: bool) -> Option<Transition> {
        let mut state = self.state.lock().expect("breaker lock");
        let was_closed = matches!(*state, BreakerState::Closed { .. });
        *state = match (*state, healthy) {
            (_, true) => BreakerState::Closed { failures: 0 },
            (BreakerState::Closed { failures }, false) if failures + 1 < self.threshold => {
                BreakerState::Closed {
                    failures: failures + 1,
                }
            }
            (_, false) => BreakerState::Open {
                until: Instant::now() + self.cooldown,
            },
        };
        match (was_closed, *state) {
            (true, BreakerState::Open { .. }) => Some(Transition::Opened),
            (false, BreakerState::Closed { .. }) => Some(Transition::Closed),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_after_the_threshold_and_probes_after_the_cooldown() {
        let breaker = Breaker::new(3, Duration::from_millis(30));
        for _ in 0..2 {
            assert!(breaker.allow());
            assert_eq!(breaker.record(false), None);
        }
        assert!(breaker.allow(), "two failures: still closed");
        assert_eq!(breaker.record(false), Some(Transition::Opened));
        assert!(!breaker.allow(), "three failures: open, fail fast");
        let waited = Instant::now();
        while !breaker.allow() {
            assert!(
                waited.elapsed() < Duration::from_secs(5),
                "the cooldown ends"
            );
            std::thread::yield_now();
        }
        assert!(!breaker.allow(), "one probe at a time");
        assert_eq!(breaker.record(true), Some(Transition::Closed));
        assert!(breaker.allow(), "a good probe closes it");
        assert_eq!(breaker.record(true), None, "said once");
    }

    #[test]
    fn a_failed_probe_reopens() {
        let breaker = Breaker::new(1, Duration::from_millis(10));
        breaker.record(false);
        let waited = Instant::now();
        while !breaker.allow() {
            assert!(waited.elapsed() < Duration::from_secs(5));
            std::thread::yield_now();
        }
        assert_eq!(breaker.record(false), None, "reopened: already said");
        assert!(!breaker.allow());
    }

    #[test]
    fn only_http_and_https_urls_are_taken() {
        assert_eq!(
            base_url("http://127.0.0.1:8081/").unwrap(),
            "http://127.0.0.1:8081"
        );
        assert_eq!(
            base_url("http://risk.internal/v1").unwrap(),
            "http://risk.internal/v1"
        );
        assert_eq!(
            base_url("https://risk.internal").unwrap(),
            "https://risk.internal"
        );
        for (bad, why) in [
            ("127.0.0.1:8081", "is not"),
            ("ftp://risk", "is not an http"),
            ("http://risk/?x=1", "must not"),
            ("http://u:p@risk", "must not"),
            ("not a url", "is not a URL"),
        ] {
            assert!(base_url(bad).unwrap_err().starts_with(why), "{bad}");
        }
    }

    #[test]
    fn jitter_stays_within_half_either_way() {
        for _ in 0..100 {
            let d = jittered(Duration::from_millis(100));
            assert!(
                d >= Duration::from_millis(50) && d <= Duration::from_millis(150),
                "{d:?}"
            );
        }
    }
}
