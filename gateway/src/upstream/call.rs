//! What a call to an upstream is: its operation, body and key, the deadline it shares with
//! the rest of the request, and how calls are made (timeouts, retries, the circuit breaker).

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde::Serialize;

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
    /// A write made safe to repeat by its idempotency key: `POST` with a JSON body, answered
    /// 201 unless [`answered`](Call::answered) says otherwise.
    pub fn keyed(
        operation: &'static str,
        path: impl Into<String>,
        body: &'a B,
        key: &'a str,
    ) -> Self {
        Call {
            operation,
            method: Method::POST,
            path: path.into(),
            body: Some(body),
            idempotency_key: Some(key),
            success: StatusCode::CREATED,
        }
    }

    /// The same call, its spec declaring `success` instead.
    pub fn answered(self, success: StatusCode) -> Self {
        Call { success, ..self }
    }
}

/// `base` ±50%.
pub(super) fn jittered(base: Duration) -> Duration {
    let bits = uuid::Uuid::new_v4().as_u128() as u64;
    let unit = (bits >> 11) as f64 / (1u64 << 53) as f64;
    base.mul_f64(0.5 + unit)
}

/// The base URL of a service: `http(s)://host[:port][/path]`, without a query or fragment,
/// parsed once so that each call sets only its path.
pub(super) fn base_url(url: &str) -> Result<reqwest::Url, &'static str> {
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
    Ok(parsed)
}

/// `base` with `path` (absolute, from the service's spec) after its own path, set without
/// parsing the scheme and host again at every call.
pub(super) fn url_of(base: &reqwest::Url, path: &str) -> reqwest::Url {
    let mut url = base.clone();
    url.set_path(&format!("{}{path}", base.path().trim_end_matches('/')));
    url
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn only_http_and_https_urls_are_taken() {
        for (url, path, called) in [
            (
                "http://127.0.0.1:8081/",
                "/api/risk/33139",
                "http://127.0.0.1:8081/api/risk/33139",
            ),
            (
                "http://risk.internal/v1",
                "/api/risk/33139",
                "http://risk.internal/v1/api/risk/33139",
            ),
            (
                "https://risk.internal/v1/",
                "/api/policies/1/cancel",
                "https://risk.internal/v1/api/policies/1/cancel",
            ),
        ] {
            let base = base_url(url).unwrap();
            assert_eq!(url_of(&base, path).as_str(), called, "{url}");
        }
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
}
