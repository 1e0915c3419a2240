use std::time::Duration;

use nfip_kit_test::eventually;
use serde_json::{Value, json};

use crate::helpers::{Stack, order};
use nfip_kit_test::{Fetch, problem};

nfip_kit_test::backend_tests! {
    async fn a_purchase_creates_a_policy_an_invoice_and_a_confirmation(db) {
        let stack = Stack::start(db.backend).await;
        let response = stack.purchase(&order("33139"), None).await;
        assert_eq!(response.status(), 201);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let receipt: Value = response.json().await.unwrap();
        assert_eq!(receipt["risk_score"], 0.9);
        assert_eq!(receipt["flood_zone"], "AE");
        assert_eq!((receipt["amount_cents"].as_i64(), receipt["amount"].as_str()), (Some(108_000), Some("1080.00")));
        assert_eq!(receipt["notification"], "queued");
        assert_eq!(location, format!("/policies/{}", receipt["policy_id"].as_str().unwrap()));

        let policy: Value = stack.get(&location).fetch_json().await;
        assert_eq!((policy["status"].as_str(), policy["holder"].as_str()), (Some("active"), Some("Ada Lovelace")));
        let invoice: Value = stack
            .get(&format!("/invoices/{}", receipt["invoice_id"].as_str().unwrap()))
            .fetch_json().await;
        assert_eq!((invoice["amount_cents"].as_i64(), invoice["status"].as_str()), (Some(108_000), Some("open")));
        assert_eq!(invoice["policy_id"], receipt["policy_id"]);

        let id = receipt["notification_id"].as_str().unwrap().to_owned();
        eventually("the confirmation to be delivered", Duration::from_secs(10), || async {
            let sent = stack.notification.count("notifications", &format!("id = '{id}' AND status = 'sent'")).await;
            (sent == 1).then_some(())
        })
        .await;
        stack.stop().await;
    }
}

#[tokio::test]
async fn invoices_are_paid_through_the_gateway_once_per_key() {
    let stack = Stack::start(nfip_kit::db::Backend::Sqlite).await;
    let receipt: Value = stack
        .purchase(&order("70112"), None)
        .await
        .json()
        .await
        .unwrap();
    let pay = format!(
        "/invoices/{}/payments",
        receipt["invoice_id"].as_str().unwrap()
    );
    let send = |card: &'static str, key: &'static str| {
        stack
            .post(&pay)
            .header("idempotency-key", key)
            .json(&json!({"card_number": card}))
            .send()
    };
    let declined = problem(send("4000000000000002", "try-1").await.unwrap(), 402).await;
    assert_eq!(
        (declined["type"].as_str(), declined["upstream"].as_str()),
        (Some("urn:nfip:problem:payment-declined"), Some("billing"))
    );
    let paid = send("4242424242424242", "try-2").await.unwrap();
    assert_eq!(paid.status(), 201);
    let paid: Value = paid.json().await.unwrap();
    assert_eq!(paid["amount_cents"], receipt["amount_cents"]);
    let again: Value = send("4242424242424242", "try-2")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        again["id"], paid["id"],
        "the same payment, not a second charge"
    );
    problem(send("4242424242424242", "try-3").await.unwrap(), 409).await;
    assert_eq!(
        stack
            .billing
            .count("payments", "status = 'succeeded'")
            .await,
        1
    );
    stack.stop().await;
}

#[tokio::test]
async fn public_reads_pass_upstream_answers_through() {
    let stack = Stack::start(nfip_kit::db::Backend::Sqlite).await;
    let risk: Value = stack.get("/risk/80302").fetch_json().await;
    assert_eq!(
        (risk["zipcode"].as_str(), risk["flood_zone"].as_str()),
        (Some("80302"), Some("AE"))
    );
    assert_eq!(risk["factors"].as_array().unwrap().len(), 4);
    assert_eq!(risk["source"], "table");
    // A client that holds this version is told so, without the body.
    let first = stack.get("/risk/80302").fetch().await;
    let tag = first.headers()["etag"].clone();
    let again = stack
        .get("/risk/80302")
        .header("if-none-match", tag)
        .fetch()
        .await;
    assert_eq!(again.status(), 304);
    let unknown = stack.get("/risk/00000").fetch_problem(404).await;
    assert_eq!(
        (unknown["upstream"].as_str(), unknown["detail"].as_str()),
        (Some("risk"), Some("00000 is not a U.S. ZIP code in use"))
    );
    let missing = stack
        .get("/policies/0192f0c1-7d4e-7cc2-9a8e-2f1d2b9a4c11")
        .fetch_problem(404)
        .await;
    assert_eq!(missing["upstream"], "policy");
    stack
        .get("/invoices/0192f0c1-7d4e-7cc2-9a8e-2f1d2b9a4c11")
        .fetch_problem(404)
        .await;
    stack.stop().await;
}

#[tokio::test]
async fn one_request_id_and_trace_follow_a_purchase_to_every_service() {
    let stack = Stack::start(nfip_kit::db::Backend::Sqlite).await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let response = stack
        .post("/purchase")
        .header("x-request-id", "follow-me-1")
        .header("traceparent", traceparent)
        .json(&order("33139"))
        .fetch()
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["x-request-id"], "follow-me-1");
    for service in [
        &stack.risk,
        &stack.policy,
        &stack.billing,
        &stack.notification,
    ] {
        let seen = service.proxy.seen();
        assert!(!seen.is_empty());
        for request in seen {
            assert_eq!(
                request.request_id.as_deref(),
                Some("follow-me-1"),
                "{request:?}"
            );
            let trace = request.traceparent.unwrap();
            assert!(
                trace.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
                "same trace: {trace}"
            );
            assert!(
                !trace.contains("00f067aa0ba902b7"),
                "a span of its own: {trace}"
            );
        }
    }
    let metrics = stack.get("/metrics").fetch_text().await;
    for line in [
        // Counts are shared by every test of this process (one recorder a process): only that
        // each series is there is checked.
        "nfip_requests_total{route=\"/purchase\",method=\"POST\",status=\"201\",client=\"system-tests\"} ",
        "nfip_upstream_requests_total{upstream=\"billing\",operation=\"create_invoice\",outcome=\"ok\"} ",
        "nfip_upstream_duration_seconds_count{upstream=\"risk\",operation=\"get_risk\"} ",
        "nfip_purchases{state=\"done\"} ",
        "nfip_db_connections{state=\"idle\"} ",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    stack.stop().await;
}

#[tokio::test]
async fn a_zip_code_outside_the_rating_table_is_rated_by_the_model_and_sold() {
    let stack = Stack::start(nfip_kit::db::Backend::Sqlite).await;
    // College Park, MD: the seed's own example.
    let risk: Value = stack.get("/risk/20740").fetch_json().await;
    assert_eq!(
        (risk["source"].as_str(), risk["flood_zone"].as_str()),
        (Some("model"), Some("X"))
    );
    assert!(
        risk["data_version"]
            .as_str()
            .unwrap()
            .starts_with("model 1 on "),
        "{risk}"
    );
    let response = stack.purchase(&order("20740"), None).await;
    assert_eq!(response.status(), 201);
    let receipt: Value = response.json().await.unwrap();
    assert_eq!(receipt["risk_score"], risk["risk_score"]);
    stack.stop().await;
}

#[tokio::test]
async fn an_unknown_zip_is_a_422_and_creates_nothing() {
    let stack = Stack::start(nfip_kit::db::Backend::Sqlite).await;
    let body = problem(stack.purchase(&order("00000"), None).await, 422).await;
    assert_eq!(body["errors"][0]["pointer"], "/zipcode");
    assert_eq!(
        body["errors"][0]["detail"],
        "00000 is not a U.S. ZIP code in use"
    );
    let unauthenticated = stack.http.post(stack.gateway.url("/purchase"));
    unauthenticated
        .json(&order("33139"))
        .fetch_problem(401)
        .await;
    assert_eq!(stack.policy.count("policies", "1 = 1").await, 0);
    assert!(
        stack.policy.proxy.seen().is_empty(),
        "the policy service was never called"
    );
    stack.stop().await;
}

/// The metric names `deploy/grafana/nfip.json` and `deploy/prometheus/alerts.yml` query.
fn queried_metrics() -> Vec<String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/");
    let mut names = Vec::new();
    for file in ["grafana/nfip.json", "prometheus/alerts.yml"] {
        let text = std::fs::read_to_string(format!("{root}{file}")).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find("nfip_") {
            let name: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            rest = &rest[at + name.len()..];
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// The dashboard and the alert rules ask for series the processes really serve: after a
/// purchase and its confirmation's delivery, each name they query is in a scrape.
#[tokio::test]
async fn the_dashboard_and_the_alerts_query_metrics_that_exist() {
    let stack = Stack::start(nfip_kit::db::Backend::Sqlite).await;
    let bought = stack.post("/purchase").json(&order("33139")).fetch().await;
    assert_eq!(bought.status(), 201);
    let scrape = |url: String| {
        let http = stack.http.clone();
        async move { http.get(url).fetch().await.text().await.unwrap() }
    };
    // The notification service's scrape sets its queue gauge; the recorder is the process's,
    // so the gateway's scrape then shows every in-process service's series too.
    scrape(stack.notification.server.url("/metrics")).await;
    let metrics = nfip_kit_test::eventually(
        "the confirmation's delivery to be counted",
        std::time::Duration::from_secs(10),
        || async {
            let text = scrape(stack.gateway.url("/metrics")).await;
            text.contains("nfip_notification_deliveries_total{")
                .then_some(text)
        },
    )
    .await;
    let queried = queried_metrics();
    assert!(queried.len() >= 9, "{queried:?}");
    for name in queried {
        assert!(
            metrics.contains(&format!("\n{name}")),
            "{name} is queried but not served:\n{metrics}"
        );
    }
    stack.stop().await;
}
