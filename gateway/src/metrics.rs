//! What the gateway measures besides kit's metrics of every process: its calls to the services
//! (`nfip_upstream_requests_total{upstream, operation, outcome}`,
//! `nfip_upstream_duration_seconds{upstream, operation}`) and its purchases by state
//! (`nfip_purchases{state}`, read from the journal when Prometheus scrapes).

use std::time::Duration;

use nfip_kit::metrics::Gauges;

use crate::journal::PurchaseState;

/// One call to a service, and how it ended.
pub fn upstream(
    upstream: &'static str,
    operation: &'static str,
    outcome: &'static str,
    took: Duration,
) {
    ::metrics::counter!(
        "nfip_upstream_requests_total",
        "upstream" => upstream,
        "operation" => operation,
        "outcome" => outcome,
    )
    .increment(1);
    ::metrics::histogram!(
        "nfip_upstream_duration_seconds",
        "upstream" => upstream,
        "operation" => operation,
    )
    .record(took.as_secs_f64());
}

/// The journal's purchases by state, when Prometheus scrapes.
pub fn purchases() -> Gauges {
    ::metrics::describe_counter!(
        "nfip_upstream_requests_total",
        "Calls to the services, by upstream, operation and outcome"
    );
    ::metrics::describe_histogram!(
        "nfip_upstream_duration_seconds",
        ::metrics::Unit::Seconds,
        "Time for one call to a service, by upstream and operation"
    );
    ::metrics::describe_gauge!("nfip_purchases", "Purchases in the journal, by state");
    Gauges::new(|db| async move {
        let counted =
            nfip_kit::db::query("SELECT state, COUNT(*) AS n FROM purchase_journal GROUP BY state")
                .fetch_all(&db)
                .await;
        let Ok(rows) = counted else {
            return;
        };
        for state in PurchaseState::ALL {
            let n = rows
                .iter()
                .find(|row| {
                    row.try_get::<String, _>("state")
                        .is_ok_and(|s| s == state.as_str())
                })
                .and_then(|row| row.try_get::<i64, _>("n").ok())
                .unwrap_or(0);
            ::metrics::gauge!("nfip_purchases", "state" => state.as_str()).set(n as f64);
        }
    })
}
