//! The gateway's clients: who each is (an API key names a client, through the registry in
//! [`nfip_kit::auth`]), and how fast each may go (a token bucket per client). A request
//! without a valid key is answered 401, one over its client's rate 429, both before any handler
//! runs, so neither changes anything.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use nfip_kit::auth::Caller;
use nfip_kit::{Problem, ProblemType};

pub const TOO_MANY_REQUESTS: ProblemType = ProblemType::new(
    "too-many-requests",
    "Too many requests",
    StatusCode::TOO_MANY_REQUESTS,
);

/// How fast one client may go: `per_second` on average, in bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl RateLimit {
    /// What `RATE_LIMIT_PER_SECOND` and `RATE_LIMIT_BURST` default to.
    pub const DEFAULT: RateLimit = RateLimit {
        per_second: NonZeroU32::new(50).unwrap(),
        burst: NonZeroU32::new(100).unwrap(),
    };

    /// As good as none: for benchmarks and tests that are not about rates.
    pub const UNLIMITED: RateLimit = RateLimit {
        per_second: NonZeroU32::new(1_000_000).unwrap(),
        burst: NonZeroU32::new(1_000_000).unwrap(),
    };

    /// The IETF `RateLimit-Policy` value: `burst` requests per the window in which the bucket
    /// refills from empty.
    fn policy_header(self) -> String {
        format!("\"per-client\";q={};w={}", self.burst, self.window_secs())
    }

    fn window_secs(self) -> u32 {
        self.burst.get().div_ceil(self.per_second.get())
    }
}

type Buckets = RateLimiter<
    Arc<str>,
    DefaultKeyedStateStore<Arc<str>>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// A token bucket per client.
#[derive(Clone)]
pub struct Limiter {
    limit: RateLimit,
    policy: HeaderValue,
    buckets: Arc<Buckets>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Limiter({:?})", self.limit)
    }
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Limiter {
        let quota = Quota::per_second(limit.per_second).allow_burst(limit.burst);
        Limiter {
            limit,
            policy: HeaderValue::from_str(&limit.policy_header()).expect("an ASCII header"),
            buckets: Arc::new(RateLimiter::keyed(quota).with_middleware()),
        }
    }

    /// Takes a token from `client`'s bucket: `Ok` with what is left, or `Err` with how long
    /// until the next one.
    fn take(&self, client: &Caller) -> Result<u32, Duration> {
        match self.buckets.check_key(&client.0) {
            Ok(snapshot) => Ok(snapshot.remaining_burst_capacity()),
            Err(not_until) => Err(not_until.wait_time_from(self.buckets.clock().now())),
        }
    }

    fn headers(&self, headers: &mut HeaderMap, remaining: u32, reset: Duration) {
        let state = format!(
            "\"per-client\";r={remaining};t={}",
            reset.as_secs_f64().ceil() as u64
        );
        headers.insert("ratelimit-policy", self.policy.clone());
        if let Ok(state) = HeaderValue::from_str(&state) {
            headers.insert("ratelimit", state);
        }
    }
}

/// Middleware, inside the authentication: one token per request from the client's bucket; a
/// 429 problem with `Retry-After` when it is empty. Every answer carries `RateLimit-Policy`
/// and `RateLimit`.
pub async fn rate_limit(State(limiter): State<Limiter>, request: Request, next: Next) -> Response {
    let Some(client) = request.extensions().get::<Caller>().cloned() else {
        return next.run(request).await;
    };
    match limiter.take(&client) {
        Ok(remaining) => {
            let used = limiter.limit.burst.get() - remaining;
            let refill = Duration::from_secs_f64(
                f64::from(used) / f64::from(limiter.limit.per_second.get()),
            );
            let mut response = next.run(request).await;
            limiter.headers(response.headers_mut(), remaining, refill);
            response
        }
        Err(wait) => {
            // Counted per client in nfip_gateway_requests_total (status 429); a line per refused
            // request would let one client flood the log.
            tracing::debug!(client = client.name(), "rate limited");
            let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
            let mut response = Problem::new(TOO_MANY_REQUESTS)
                .detail(format!(
                    "this client may make {} requests a second (bursts of {}); retry in {seconds} s",
                    limiter.limit.per_second, limiter.limit.burst
                ))
                .into_response();
            let headers = response.headers_mut();
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            limiter.headers(headers, 0, wait);
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_over_its_rate_waits_and_others_do_not() {
        let limiter = Limiter::new(RateLimit {
            per_second: NonZeroU32::new(1).unwrap(),
            burst: NonZeroU32::new(3).unwrap(),
        });
        let (a, b) = (Caller("a".into()), Caller("b".into()));
        assert_eq!(limiter.take(&a), Ok(2));
        assert_eq!(limiter.take(&a), Ok(1));
        assert_eq!(limiter.take(&a), Ok(0));
        let wait = limiter.take(&a).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert_eq!(limiter.take(&b), Ok(2), "b has its own bucket");
        assert_eq!(limiter.limit.policy_header(), "\"per-client\";q=3;w=3");
    }
}
