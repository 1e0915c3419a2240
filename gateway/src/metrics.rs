//! Prometheus metrics: requests and latency per route, calls and latency per upstream, served
//! as text at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use nfip_kit::auth::Caller;

/// Histogram bucket bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Debug, Clone, Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(i) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[i] += 1;
        }
        self.sum += seconds;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(self.buckets) {
            cumulative += n;
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Debug, Default)]
struct Series {
    /// (route, method, status, client) → answered
    requests: BTreeMap<(String, String, u16, String), u64>,
    /// (route, method) → latency
    request_latency: BTreeMap<(String, String), Histogram>,
    /// (upstream, operation, outcome) → calls
    upstream_calls: BTreeMap<(&'static str, &'static str, &'static str), u64>,
    /// (upstream, operation) → latency
    upstream_latency: BTreeMap<(&'static str, &'static str), Histogram>,
}

/// The gateway's metrics; cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct Metrics(Arc<Mutex<Series>>);

impl Metrics {
    /// One request answered; `client` is the client's name, `none` before one was known.
    pub fn request(&self, route: &str, method: &str, status: u16, client: &str, elapsed: Duration) {
        let mut series = self.0.lock().expect("metrics lock");
        *series
            .requests
            .entry((
                route.to_owned(),
                method.to_owned(),
                status,
                client.to_owned(),
            ))
            .or_default() += 1;
        series
            .request_latency
            .entry((route.to_owned(), method.to_owned()))
            .or_default()
            .observe(elapsed.as_secs_f64());
    }

    pub fn upstream(
        &self,
        upstream: &'static str,
        operation: &'static str,
        outcome: &'static str,
        elapsed: Duration,
    ) {
        let mut series = self.0.lock().expect("metrics lock");
        *series
            .upstream_calls
            .entry((upstream, operation, outcome))
            .or_default() += 1;
        series
            .upstream_latency
            .entry((upstream, operation))
            .or_default()
            .observe(elapsed.as_secs_f64());
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let series = self.0.lock().expect("metrics lock");
        let mut out = String::new();
        out.push_str(
            "# HELP nfip_gateway_requests_total Requests answered, by route, method, status and client.\n",
        );
        out.push_str("# TYPE nfip_gateway_requests_total counter\n");
        for ((route, method, status, client), n) in &series.requests {
            let _ = writeln!(
                out,
                "nfip_gateway_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\",client=\"{client}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP nfip_gateway_request_duration_seconds Time to answer, by route and method.\n",
        );
        out.push_str("# TYPE nfip_gateway_request_duration_seconds histogram\n");
        for ((route, method), histogram) in &series.request_latency {
            let labels = format!("route=\"{route}\",method=\"{method}\"");
            histogram.render(&mut out, "nfip_gateway_request_duration_seconds", &labels);
        }
        out.push_str("# HELP nfip_gateway_upstream_requests_total Calls to the services, by upstream, operation and outcome.\n");
        out.push_str("# TYPE nfip_gateway_upstream_requests_total counter\n");
        for ((upstream, operation, outcome), n) in &series.upstream_calls {
            let _ = writeln!(
                out,
                "nfip_gateway_upstream_requests_total{{upstream=\"{upstream}\",operation=\"{operation}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        out.push_str("# HELP nfip_gateway_upstream_duration_seconds Time for one call to a service, by upstream and operation.\n");
        out.push_str("# TYPE nfip_gateway_upstream_duration_seconds histogram\n");
        for ((upstream, operation), histogram) in &series.upstream_latency {
            let labels = format!("upstream=\"{upstream}\",operation=\"{operation}\"");
            histogram.render(&mut out, "nfip_gateway_upstream_duration_seconds", &labels);
        }
        out
    }
}

/// Middleware: counts and times every request to a matched route.
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or_else(
        || String::from("unmatched"),
        |path| path.as_str().to_owned(),
    );
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let client = response
        .extensions()
        .get::<Caller>()
        .map_or("none", |caller| caller.name());
    metrics.request(
        &route,
        &method,
        response.status().as_u16(),
        client,
        started.elapsed(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_histograms() {
        let metrics = Metrics::default();
        metrics.request("/purchase", "POST", 201, "web", Duration::from_millis(3));
        metrics.request("/purchase", "POST", 201, "web", Duration::from_millis(30));
        metrics.upstream("risk", "get_risk", "ok", Duration::from_micros(400));
        let text = metrics.render();
        assert!(text.contains(
            "nfip_gateway_requests_total{route=\"/purchase\",method=\"POST\",status=\"201\",client=\"web\"} 2"
        ));
        assert!(text.contains(
            "nfip_gateway_request_duration_seconds_bucket{route=\"/purchase\",method=\"POST\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "nfip_gateway_request_duration_seconds_bucket{route=\"/purchase\",method=\"POST\",le=\"+Inf\"} 2"
        ));
        assert!(text.contains(
            "nfip_gateway_upstream_requests_total{upstream=\"risk\",operation=\"get_risk\",outcome=\"ok\"} 1"
        ));
    }
}
