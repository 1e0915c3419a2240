//! The gateway against the risk service's published spec.

use nfip_contract_tests::{assert_contract, problem, states};

use crate::helpers::{Consumer, HOP_TIMEOUT, assert_answer, fails, happy_purchase, order, risk};

#[tokio::test]
async fn a_purchase_reads_the_risk_then_buys() {
    let consumer = Consumer::start().await;
    happy_purchase(&consumer.providers, &[]).await;
    let answered = consumer.purchase(order(), Some("contract-happy")).await;
    assert_eq!(answered.status, 201, "{}", answered.body);
    assert_contract!(consumer.providers, "purchase_happy_path", answered);
    consumer.stop().await;
}

#[tokio::test]
async fn a_zip_without_a_rating_is_a_422_and_nothing_else_is_called() {
    let consumer = Consumer::start().await;
    let unknown = problem(
        "not-found",
        "Not found",
        404,
        "00000 is not a U.S. ZIP code in use",
    );
    consumer
        .providers
        .risk
        .on("get_risk")
        .path("/api/risk/00000")
        .respond(404, unknown)
        .await;
    let mut order = order();
    order["zipcode"] = "00000".into();
    let answered = consumer.purchase(order, None).await;
    assert_eq!(answered.status, 422);
    assert_eq!(answered.body["errors"][0]["pointer"], "/zipcode");
    assert_contract!(consumer.providers, "purchase_unknown_zip", answered);
    consumer.stop().await;
}

#[tokio::test]
async fn a_failing_risk_service_is_a_502_not_retried() {
    let consumer = Consumer::start().await;
    fails(&consumer.providers.risk, "get_risk").await;
    let answered = consumer.purchase(order(), None).await;
    assert_answer(&answered, 502, "upstream", "risk");
    assert_contract!(consumer.providers, "purchase_risk_failing", answered);
    consumer.stop().await;
}

#[tokio::test]
async fn a_slow_risk_service_is_a_504_after_a_retry() {
    let consumer = Consumer::start().await;
    consumer
        .providers
        .risk
        .on("get_risk")
        .delay(HOP_TIMEOUT * 2)
        .given(states::RATED_33139)
        .respond(200, risk("33139"))
        .await;
    let answered = consumer.purchase(order(), None).await;
    assert_answer(&answered, 504, "type", "urn:nfip:problem:upstream-timeout");
    assert_contract!(consumer.providers, "purchase_risk_slow", answered);
    consumer.stop().await;
}

#[tokio::test]
async fn a_risk_answer_that_is_not_json_is_a_502() {
    let consumer = Consumer::start().await;
    consumer
        .providers
        .risk
        .on("get_risk")
        .off_contract("an HTML error page where JSON is due")
        .respond_raw(200, "text/html", "<html>Bad gateway</html>")
        .await;
    let answered = consumer.purchase(order(), None).await;
    assert_eq!(
        answered.body["type"],
        "urn:nfip:problem:upstream-bad-response"
    );
    assert_contract!(consumer.providers, "purchase_risk_not_json", answered);
    consumer.stop().await;
}

#[tokio::test]
async fn the_public_risk_lookup_passes_the_assessment_and_a_404_through() {
    let consumer = Consumer::start().await;
    let providers = &consumer.providers;
    providers
        .risk
        .on("get_risk")
        .path("/api/risk/33139")
        .given(states::RATED_33139)
        .respond(200, risk("33139"))
        .await;
    let unknown = problem(
        "not-found",
        "Not found",
        404,
        "00000 is not a U.S. ZIP code in use",
    );
    providers
        .risk
        .on("get_risk")
        .path("/api/risk/00000")
        .respond(404, unknown)
        .await;
    let found = consumer.send("GET", "/risk/33139", None, None).await;
    assert_eq!(
        (found.status, found.body["flood_zone"].as_str()),
        (200, Some("AE"))
    );
    let missing = consumer.send("GET", "/risk/00000", None, None).await;
    assert_eq!(
        (missing.status, missing.body["upstream"].as_str()),
        (404, Some("risk"))
    );
    assert_contract!(consumer.providers, "risk_lookup", missing);
    consumer.stop().await;
}
