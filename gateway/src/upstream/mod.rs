//! Calling the services: one client per upstream over a shared HTTP client (a connection pool per
//! service), built once, with per-hop timeouts
//! bounded by the caller's deadline, retries with jittered backoff (every call the gateway makes
//! is safe to repeat: reads, keyed creates, idempotent cancel/void), a circuit breaker that fails
//! fast while an upstream is known down, and errors classified for the caller.
//!
//! Each service has its own module with the gateway's consumer view of it: the request and
//! response types the gateway needs, written from the service's published spec, never imported
//! from the service's crate. The contract tests check those views against the specs.

pub mod billing;
mod breaker;
mod call;
mod error;
pub mod notification;
pub mod policy;
pub mod risk;

use breaker::{Breaker, Transition};
pub use call::{Call, CallPolicy, Deadline};
use call::{base_url, jittered, url_of};
pub use error::UpstreamError;
use error::classify;

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use nfip_kit::context::{self, REQUEST_ID, TRACEPARENT, Traceparent};
use reqwest::RequestBuilder;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

/// One upstream: where it is, and the key the gateway presents to it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: String,
    /// Sent as `Authorization: Bearer <token>`; the service must list its hash.
    pub token: Option<String>,
}

impl Endpoint {
    pub fn new(url: impl Into<String>, token: Option<&str>) -> Endpoint {
        Endpoint {
            url: url.into(),
            token: token.map(str::to_owned),
        }
    }
}

/// One upstream service.
#[derive(Debug)]
pub struct Upstream {
    pub name: &'static str,
    base: reqwest::Url,
    authorization: Option<HeaderValue>,
    http: reqwest::Client,
    policy: CallPolicy,
    breaker: Breaker,
}

/// The HTTP client every upstream calls through (it keeps a pool of connections per service):
/// `policy`'s timeouts, trusting `roots` besides the system's certificates for `https://`.
pub fn http_client(
    policy: CallPolicy,
    roots: &[reqwest::Certificate],
) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
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
        .map_err(|error| format!("cannot build the HTTP client for the services: {error}"))
}

impl Upstream {
    /// A client for the service at `endpoint`, calling through `http` (see [`http_client`]), or
    /// why its URL cannot be called.
    pub fn new(
        name: &'static str,
        endpoint: &Endpoint,
        policy: CallPolicy,
        http: reqwest::Client,
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
        Ok(Upstream {
            name,
            base,
            authorization,
            http,
            policy,
            breaker: Breaker::new(policy.breaker_threshold, policy.breaker_cooldown),
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
            .map(|body| Bytes::from(serde_json::to_vec(body).expect("a request body serializes")));
        let mut backoff = self.policy.backoff;
        let mut attempt = 1;
        loop {
            let started = Instant::now();
            let result = self.attempt(&call, body.as_ref(), deadline).await;
            let outcome = match &result {
                Ok(_) => "ok",
                Err(error) => error.label(),
            };
            crate::metrics::upstream(self.name, call.operation, outcome, started.elapsed());
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
        body: Option<&Bytes>,
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
        let result = match self.exchange(call, body, budget).await {
            None => Err(UpstreamError::Timeout { upstream }),
            Some(Err(error)) if error.is_timeout() => Err(UpstreamError::Timeout { upstream }),
            Some(Err(error)) => {
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
            Some(Ok((status, bytes))) => classify(upstream, call, status, &bytes),
        };
        // A 4xx is the upstream working as specified; anything else that failed counts
        // against it.
        self.record(matches!(
            result,
            Ok(_) | Err(UpstreamError::Rejected { .. })
        ));
        result
    }

    /// Sends `call` in a client span of its own and waits up to `budget` for the whole answer
    /// (`None`: it did not come in time).
    async fn exchange<B: Serialize>(
        &self,
        call: &Call<'_, B>,
        body: Option<&Bytes>,
        budget: Duration,
    ) -> Option<Result<(StatusCode, Bytes), reqwest::Error>> {
        // Exported with the trace, its id is the parent the callee sees.
        let span = tracing::debug_span!(
            "upstream call",
            otel.name = tracing::field::Empty,
            otel.kind = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
            upstream = self.name,
        );
        nfip_kit::telemetry::label(&span, || call.operation.to_owned(), "client");
        let traceparent = nfip_kit::telemetry::outgoing(&span);
        let request = self.request(call, body, traceparent).timeout(budget);
        let answer = async {
            let response = request.send().await?;
            let status = response.status();
            Ok((status, response.bytes().await?))
        };
        let answered = tokio::time::timeout(budget, answer.instrument(span.clone()))
            .await
            .ok();
        if let Some(Ok((status, _))) = &answered {
            nfip_kit::telemetry::outcome(&span, status.as_u16());
        }
        answered
    }

    /// The HTTP request for `call`: the request id and the call's place in the trace, the
    /// credential, the idempotency key, the JSON body.
    fn request<B: Serialize>(
        &self,
        call: &Call<'_, B>,
        body: Option<&Bytes>,
        trace: Option<Traceparent>,
    ) -> RequestBuilder {
        let mut request = self
            .http
            .request(call.method.clone(), url_of(&self.base, &call.path));
        if let Some(request_id) = context::current_request_id() {
            request = request.header(REQUEST_ID, request_id);
        }
        if let Some(trace) = trace {
            request = request.header(TRACEPARENT, trace.header_value());
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
                .body(body.clone());
        }
        request
    }

    /// Tells the breaker how the call went; says so when that opens or closes the circuit.
    fn record(&self, healthy: bool) {
        let upstream = self.name;
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
    }
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
