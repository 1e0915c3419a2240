//! The security suite: one test for each way a hostile client or a stranger could hurt the
//! stack (issue 9), each of which failed on the code before the fix.

use nfip_kit::db::Backend;
use nfip_kit_test::{Fetch, caller_headers, problem};
use serde_json::{Value, json};

use crate::helpers::{KEY, OTHER_KEY, Stack, order};

async fn json(response: reqwest::Response) -> Value {
    response.json().await.expect("a JSON body")
}

#[tokio::test]
async fn another_clients_idempotency_key_is_another_purchase_and_tells_nothing() {
    let stack = Stack::start(Backend::Sqlite).await;
    let first = stack
        .purchase_as(KEY, &order("33139"), Some("shared"))
        .await;
    assert_eq!(first.status(), 201);
    let first = json(first).await;

    // The same key and body from another client: its own purchase, not a replay of the first.
    let same = stack
        .purchase_as(OTHER_KEY, &order("33139"), Some("shared"))
        .await;
    assert_eq!(same.status(), 201);
    assert!(same.headers().get("idempotent-replayed").is_none());
    let same = json(same).await;
    assert_ne!(same["policy_id"], first["policy_id"]);
    assert_ne!(same["invoice_id"], first["invoice_id"]);

    // Another body under a key another client used: no "key reused" that would betray it.
    stack
        .purchase_as(KEY, &order("33139"), Some("used-by-a"))
        .await;
    let mut grace = order("10001");
    grace["user"] = json!("Grace Hopper");
    let other_body = stack
        .purchase_as(OTHER_KEY, &grace, Some("used-by-a"))
        .await;
    assert_eq!(
        other_body.status(),
        201,
        "{}",
        other_body.text().await.unwrap()
    );

    // The first client still gets its own answer.
    let replay = stack
        .purchase_as(KEY, &order("33139"), Some("shared"))
        .await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(json(replay).await["policy_id"], first["policy_id"]);
    assert_eq!(stack.policies("active").await, 4);
    stack.stop().await;
}

#[tokio::test]
async fn a_client_reads_and_pays_only_what_it_bought() {
    let stack = Stack::start(Backend::Sqlite).await;
    let bought = json(stack.purchase_as(KEY, &order("33139"), Some("mine")).await).await;
    let (policy, invoice) = (
        bought["policy_id"].as_str().unwrap(),
        bought["invoice_id"].as_str().unwrap(),
    );
    let as_other = |method: reqwest::Method, path: String| {
        stack
            .http
            .request(method, stack.gateway.url(&path))
            .header("x-api-key", OTHER_KEY)
    };

    // Another client's policy reads exactly as one that does not exist.
    let missing = uuid::Uuid::now_v7().to_string();
    for (path, id) in [("policies", policy), ("invoices", invoice)] {
        let theirs = as_other(reqwest::Method::GET, format!("/{path}/{id}"))
            .fetch_problem(404)
            .await;
        let none = as_other(reqwest::Method::GET, format!("/{path}/{missing}"))
            .fetch_problem(404)
            .await;
        let without_ids = |mut body: Value, id: &str| {
            body["detail"] = json!(body["detail"].as_str().unwrap().replace(id, "<id>"));
            body.as_object_mut().unwrap().remove("request_id");
            body
        };
        assert_eq!(
            without_ids(theirs, id),
            without_ids(none, &missing),
            "{path}"
        );
    }

    // Nor can it pay it.
    as_other(
        reqwest::Method::POST,
        format!("/invoices/{invoice}/payments"),
    )
    .header("idempotency-key", "pay-theirs")
    .json(&json!({"card_number": "4242424242424242"}))
    .fetch_problem(404)
    .await;
    assert_eq!(stack.billing.count("payments", "1 = 1").await, 0);
    assert_eq!(stack.invoices("open").await, 1);

    // Its owner can.
    let read = stack.get(&format!("/policies/{policy}")).fetch().await;
    assert_eq!(read.status(), 200);
    let paid = stack
        .post(&format!("/invoices/{invoice}/payments"))
        .header("idempotency-key", "pay-mine")
        .json(&json!({"card_number": "4242424242424242"}))
        .fetch()
        .await;
    assert_eq!(paid.status(), 201);
    stack.stop().await;
}

#[tokio::test]
async fn no_key_a_client_sends_names_another_purchases_upstream_writes() {
    let stack = Stack::start(Backend::Sqlite).await;
    let long = "k".repeat(255);
    let first = json(stack.purchase_as(KEY, &order("33139"), Some(&long)).await).await;
    let upstream_key = stack
        .policy
        .proxy
        .seen()
        .into_iter()
        .find_map(|seen| seen.idempotency_key)
        .expect("the policy was created with a key");
    let stem = upstream_key.split('#').next().unwrap().to_owned();
    // Sending what the gateway sent upstream, in any form, is a purchase of its own.
    for key in [stem.clone(), format!("sha256:{stem}"), upstream_key.clone()] {
        let other = json(stack.purchase_as(KEY, &order("33139"), Some(&key)).await).await;
        assert_ne!(other["policy_id"], first["policy_id"], "{key}");
    }
    stack.stop().await;
}

#[tokio::test]
async fn addresses_a_mailer_refuses_and_invisible_characters_are_422_everywhere() {
    let stack = Stack::start(Backend::Sqlite).await;
    let service = reqwest::Client::builder()
        .default_headers(caller_headers())
        .build()
        .unwrap();
    for email in ["a,b@c.co", "a<b@c.co", "a(b)@c.co"] {
        let mut bad = order("33139");
        bad["contact"] = json!({"email": email});
        let refused = problem(stack.purchase(&bad, None).await, 422).await;
        assert_eq!(
            refused["errors"][0]["pointer"], "/contact/email",
            "{refused}"
        );

        let policy = json!({"holder": "Ada", "contact": {"email": email}, "zipcode": "33139", "risk_score": 0.5});
        let url = stack.policy.server.url("/api/policies");
        let refused = service.post(url).json(&policy).fetch_problem(422).await;
        assert_eq!(
            refused["errors"][0]["pointer"], "/contact/email",
            "{refused}"
        );

        let message = json!({"channel": "email", "to": email, "subject": "Hi", "body": "Hello", "policy_id": uuid::Uuid::now_v7()});
        let url = stack.notification.server.url("/api/notifications");
        let refused = service.post(url).json(&message).fetch_problem(422).await;
        assert_eq!(refused["errors"][0]["pointer"], "/to", "{refused}");
    }
    for name in ["Ada\u{202E}ecalevoL", "A\u{200B}da", "\u{FEFF}Ada"] {
        let mut bad = order("33139");
        bad["user"] = json!(name);
        let refused = problem(stack.purchase(&bad, None).await, 422).await;
        assert_eq!(refused["errors"][0]["pointer"], "/user", "{refused}");
        let policy = json!({"holder": name, "zipcode": "33139", "risk_score": 0.5});
        let url = stack.policy.server.url("/api/policies");
        let refused = service.post(url).json(&policy).fetch_problem(422).await;
        assert_eq!(refused["errors"][0]["pointer"], "/holder", "{refused}");
    }
    assert_eq!(stack.policies("active").await, 0, "nothing was stored");
    stack.stop().await;
}

#[tokio::test]
async fn services_answer_only_a_caller_they_trust_but_health_and_docs_stay_open() {
    let stack = Stack::start(Backend::Sqlite).await;
    let id = uuid::Uuid::now_v7();
    let calls = [
        (&stack.risk, "/api/risk/33139".to_owned()),
        (&stack.policy, format!("/api/policies/{id}")),
        (&stack.billing, format!("/api/invoices/{id}")),
        (&stack.notification, format!("/api/notifications/{id}")),
    ];
    let http = reqwest::Client::new();
    for (service, path) in &calls {
        let url = service.server.url(path);
        let stranger = http.get(&url).fetch().await;
        assert_eq!(
            stranger.headers()["www-authenticate"],
            "Bearer realm=\"nfip\""
        );
        problem(stranger, 401).await;
        http.get(&url)
            .bearer_auth("guessed")
            .fetch_problem(401)
            .await;
        http.get(&url).bearer_auth(KEY).fetch_problem(401).await;
        let trusted = http.get(&url).headers(caller_headers()).fetch().await;
        assert_ne!(trusted.status(), 401, "{path}");
        for open in ["/healthz", "/readyz", "/openapi.json", "/docs/"] {
            let answer = http.get(service.server.url(open)).fetch().await;
            assert_eq!(answer.status(), 200, "{path} {open}");
        }
    }
    stack.stop().await;
}

#[tokio::test]
async fn the_http_layers_own_refusals_are_problems_and_say_nothing_of_the_host() {
    let stack = Stack::start(Backend::Sqlite).await;
    stack
        .get(&format!("/risk/{}", "1".repeat(9_000)))
        .fetch_problem(414)
        .await;
    let mut many = stack.get("/risk/33139");
    for n in 0..120 {
        many = many.header(format!("x-filler-{n}"), "1");
    }
    many.fetch_problem(431).await;
    let large = stack
        .get("/risk/33139")
        .header("x-large", "a".repeat(20_000));
    large.fetch_problem(431).await;

    // What hyper refuses itself, before any handler: a header line it cannot parse, and more
    // headers than it reads at all.
    let broken = raw(
        stack.gateway.addr,
        "GET /healthz HTTP/1.1\r\nhost: nfip\r\nno colon here\r\n\r\n",
    )
    .await;
    assert!(
        broken.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{broken}"
    );
    assert!(
        broken.contains("content-type: application/problem+json"),
        "{broken}"
    );
    assert!(
        broken.contains("urn:nfip:problem:malformed-request"),
        "{broken}"
    );
    let flood: String = (0..300).map(|n| format!("x-filler-{n}: 1\r\n")).collect();
    let huge = raw(
        stack.gateway.addr,
        &format!("GET /healthz HTTP/1.1\r\nhost: nfip\r\n{flood}\r\n"),
    )
    .await;
    assert!(huge.starts_with("HTTP/1.1 431"), "{huge}");
    assert!(
        huge.contains("urn:nfip:problem:headers-too-large"),
        "{huge}"
    );

    // A service nobody answers for: the problem names it, not the operating system's error.
    stack.policy.proxy.server.stop();
    let down = problem(stack.purchase(&order("33139"), None).await, 503).await;
    let detail = down["detail"].as_str().unwrap();
    assert_eq!(detail, "policy is unreachable: no connection could be made");
    stack.stop().await;
}

/// Sends `request` as it is on a connection of its own; answers all the gateway wrote back.
async fn raw(addr: std::net::SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_string(&mut answer),
    )
    .await
    .expect("an answer, then the connection closed")
    .unwrap();
    answer
}

#[tokio::test]
async fn no_spec_prefills_an_idempotency_key() {
    for name in ["gateway", "policy", "billing", "notification"] {
        let path = format!("{}/../openapi/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let spec: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for (route, item) in spec["paths"].as_object().unwrap() {
            for operation in item.as_object().unwrap().values() {
                for parameter in operation["parameters"].as_array().into_iter().flatten() {
                    if parameter["name"] == "Idempotency-Key" {
                        assert!(
                            parameter.get("example").is_none()
                                && parameter.get("examples").is_none(),
                            "{name} {route}: two people trying the docs would share the key"
                        );
                    }
                }
            }
        }
    }
}

/// Serves `app` over TLS on 127.0.0.1:0, with a certificate for `localhost` from a CA made for
/// the test; answers the port and the CA's certificate (PEM).
async fn serve_tls(app: axum::Router) -> (u16, String) {
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio_rustls::rustls::{ServerConfig, crypto::aws_lc_rs};

    let mut authority = CertificateParams::new(Vec::<String>::new()).unwrap();
    authority.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(authority, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let certificate = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let config =
        ServerConfig::builder_with_provider(std::sync::Arc::new(aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![certificate.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(stream).await {
                    let service = TowerToHyperService::new(app);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                }
            });
        }
    });
    (port, ca.pem())
}

#[tokio::test]
async fn the_gateway_calls_a_service_over_https_trusting_a_private_ca() {
    use nfip_gateway::{Endpoint, Endpoints, Gateway, Settings};
    use nfip_kit_test::{CALLER_KEY, Fetch, TestDatabase, TestServer, callers};

    let db = TestDatabase::create(Backend::Sqlite).await;
    let ratings = nfip_risk::RatingStore::connect(&db.url).await.unwrap();
    nfip_risk::seed_if_empty(&ratings).await.unwrap();
    let (port, ca) = serve_tls(nfip_risk::app(
        nfip_risk::AppState::new(ratings).unwrap(),
        callers(),
    ))
    .await;
    let journal = TestDatabase::create(Backend::Sqlite).await;
    let gateway = |trusted: Option<&str>| {
        let risk = Endpoint::new(format!("https://localhost:{port}"), Some(CALLER_KEY));
        let nowhere = Endpoint::new("http://127.0.0.1:9", None);
        let endpoints = Endpoints {
            risk,
            policy: nowhere.clone(),
            billing: nowhere.clone(),
            notification: nowhere,
        };
        Settings {
            clients: nfip_kit::auth::Callers::single("tls-test", KEY),
            upstream_ca_pem: trusted.map(|pem| pem.as_bytes().to_vec()),
            ..Settings::new(&journal.url, endpoints)
        }
    };

    // The gateway built with `settings`, and its answer to a risk lookup.
    let lookup = async |settings| {
        let gateway = Gateway::build(settings).await.unwrap();
        let server = TestServer::spawn(gateway.router.clone()).await;
        let request = reqwest::Client::new().get(server.url("/risk/33139"));
        (request.header("x-api-key", KEY).fetch().await, gateway)
    };
    let (answer, trusting) = lookup(gateway(Some(&ca))).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(json(answer).await["flood_zone"], "AE");

    // Without the CA, the service's certificate is not trusted: nothing is sent to it.
    let (answer, doubting) = lookup(gateway(None)).await;
    let refused = problem(answer, 503).await;
    assert_eq!(refused["upstream"], "risk");
    trusting.stop().await;
    doubting.stop().await;
}
