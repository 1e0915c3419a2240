//! What keeps one client from starving the others: its rate, the connection cap, and the
//! deadlines on what it sends.

use std::num::NonZeroU32;
use std::time::Duration;

use nfip_gateway::clients::RateLimit;
use nfip_kit::auth::{Callers, entry};
use nfip_kit::serve::Limits;
use nfip_kit_test::{Fetch, TestServer, eventually};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{KEY, problem, spawn_with};

#[tokio::test]
async fn a_client_over_its_rate_gets_a_429_that_says_when_to_retry_and_others_go_on() {
    let gateway = spawn_with(|settings| {
        let clients = format!("{},{}", entry("a", KEY), entry("b", "other-key"));
        settings.clients = Callers::parse(&clients, "test").unwrap();
        settings.rate_limit = RateLimit {
            per_second: NonZeroU32::new(1).unwrap(),
            burst: NonZeroU32::new(2).unwrap(),
        };
    })
    .await;
    let get = |key: &'static str| {
        gateway
            .http
            .get(gateway.server.url("/risk/1"))
            .header("x-api-key", key)
            .send()
    };
    for remaining in [1, 0] {
        let answer = get(KEY).await.unwrap();
        assert_eq!(answer.status(), 400, "under the limit: the handler answers");
        assert_eq!(
            answer.headers()["ratelimit-policy"],
            "\"per-client\";q=2;w=2"
        );
        let state = answer.headers()["ratelimit"].to_str().unwrap().to_owned();
        assert!(
            state.starts_with(&format!("\"per-client\";r={remaining};t=")),
            "{state}"
        );
    }
    let limited = get(KEY).await.unwrap();
    assert_eq!(limited.headers()["retry-after"], "1");
    assert!(
        limited.headers()["ratelimit"]
            .to_str()
            .unwrap()
            .starts_with("\"per-client\";r=0;t=")
    );
    let body = problem(limited, 429).await;
    assert_eq!(body["type"], "urn:nfip:problem:too-many-requests");
    assert_eq!(
        get("other-key").await.unwrap().status(),
        400,
        "b has its own bucket"
    );
}

#[tokio::test]
async fn past_the_connection_cap_health_checks_are_answered_and_the_rest_told_to_retry() {
    let gateway = spawn_with(|_| {}).await;
    let limits = Limits {
        max_connections: 8,
        header_timeout: Duration::from_secs(30),
        ..Limits::default()
    };
    let server = TestServer::spawn_with(gateway.built.router.clone(), limits).await;
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // Each request on a connection of its own, as a new client would.
    let fresh = || {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
    };
    let refused = eventually("the cap to be reached", Duration::from_secs(10), || async {
        let answer = fresh()
            .get(server.url("/risk/33139"))
            .header("x-api-key", KEY)
            .send()
            .await
            .ok()?;
        (answer.status() == 503).then_some(answer)
    })
    .await;
    assert_eq!(refused.headers()["retry-after"], "1");
    let body = problem(refused, 503).await;
    assert_eq!(body["detail"], "too many connections; retry shortly");
    for probe in ["/healthz", "/readyz"] {
        let answer = fresh().get(server.url(probe)).fetch().await;
        assert_eq!(answer.status(), 200, "{probe}");
    }
    drop(held);
    eventually(
        "the held connections to be released",
        Duration::from_secs(10),
        || async {
            let answer = fresh().get(server.url("/metrics")).send().await.ok()?;
            (answer.status() == 200).then_some(())
        },
    )
    .await;
}

/// Sends a request head announcing 100 bytes of body, then only 5 of them.
async fn short_body(server: &TestServer, api_key: Option<&str>) -> String {
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let key = api_key.map_or(String::new(), |key| format!("x-api-key: {key}\r\n"));
    let head = format!(
        "POST /purchase HTTP/1.1\r\nhost: nfip\r\n{key}content-type: application/json\r\n\
         content-length: 100\r\nconnection: close\r\n\r\n{{\"zip"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer))
        .await
        .expect("an answer, not an endless wait")
        .unwrap();
    answer
}

#[tokio::test]
async fn a_body_shorter_than_announced_is_not_waited_for() {
    let gateway = spawn_with(|_| {}).await;
    let limits = Limits {
        body_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let server = TestServer::spawn_with(gateway.built.router.clone(), limits).await;
    let answer = short_body(&server, Some(KEY)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("application/problem+json") && answer.contains("request-timeout"),
        "{answer}"
    );
    // A stranger is refused before its body is read at all.
    let answer = short_body(&server, None).await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
}

#[tokio::test]
async fn an_upstream_the_gateway_cannot_call_is_refused_at_start_not_at_every_call() {
    use nfip_gateway::{Endpoint, Endpoints, Gateway, Settings};
    use nfip_kit::db::Backend;
    use nfip_kit_test::TestDatabase;

    let db = TestDatabase::create(Backend::Sqlite).await;
    let fine = Endpoint::new("http://127.0.0.1:8082", None);
    for (url, why) in [
        ("risk:8081", "is not an http:// or https:// URL"),
        (
            "http://risk/?debug=1",
            "must not carry a query, a fragment or credentials",
        ),
        ("http://", "is not a URL"),
    ] {
        let endpoints = Endpoints {
            risk: Endpoint::new(url, None),
            policy: fine.clone(),
            billing: fine.clone(),
            notification: fine.clone(),
        };
        let refused = Gateway::build(Settings::new(&db.url, endpoints))
            .await
            .err();
        assert_eq!(refused, Some(format!("RISK_URL `{url}` {why}")));
    }
    let mut settings = Settings::new(
        &db.url,
        Endpoints {
            risk: fine.clone(),
            policy: fine.clone(),
            billing: fine.clone(),
            notification: fine,
        },
    );
    settings.upstream_ca_pem = Some(b"not a certificate".to_vec());
    let refused = Gateway::build(settings).await.err().unwrap();
    assert!(refused.starts_with("UPSTREAM_CA_FILE"), "{refused}");
}
