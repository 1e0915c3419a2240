//! One purchase is one trace across the five processes: each service binary and the gateway
//! started as its own process, exporting over OTLP/HTTP to a collector this test runs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use nfip_kit_test::{CALLER_KEY, Fetch, ServiceProcess, TestDatabase, eventually};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;

/// A span as the collector received it.
#[derive(Debug, Clone)]
struct Exported {
    service: String,
    name: String,
    kind: SpanKind,
    trace: String,
    id: String,
    parent: String,
}

type Received = Arc<Mutex<Vec<Exported>>>;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// An OTLP/HTTP collector on 127.0.0.1:0 that keeps every span it is sent.
async fn collector() -> (SocketAddr, Received) {
    let received = Received::default();
    let store = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| async move {
            let request = ExportTraceServiceRequest::decode(body).expect("an OTLP export");
            let mut spans = store.lock().unwrap();
            for resource in request.resource_spans {
                let service = resource
                    .resource
                    .iter()
                    .flat_map(|r| &r.attributes)
                    .find(|a| a.key == "service.name")
                    .and_then(|a| a.value.as_ref()?.value.as_ref())
                    .map(|value| match value {
                        Value::StringValue(name) => name.clone(),
                        other => format!("{other:?}"),
                    })
                    .unwrap_or_default();
                for span in resource.scope_spans.into_iter().flat_map(|s| s.spans) {
                    spans.push(Exported {
                        service: service.clone(),
                        kind: span.kind(),
                        name: span.name,
                        trace: hex(&span.trace_id),
                        id: hex(&span.span_id),
                        parent: hex(&span.parent_span_id),
                    });
                }
            }
            // An empty ExportTraceServiceResponse: everything accepted.
            (
                [("content-type", "application/x-protobuf")],
                Vec::<u8>::new(),
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, received)
}

/// The directory of the workspace's binaries, built (cargo only checks them when they are
/// current).
fn binaries() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_owned());
    let built = std::process::Command::new(cargo)
        .args(["build", "--quiet", "--locked", "--bins"])
        .args(["-p", "nfip-gateway", "-p", "nfip-risk", "-p", "nfip-policy"])
        .args(["-p", "nfip-billing", "-p", "nfip-notification"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo build");
    assert!(built.success(), "the service binaries build");
    // target/debug/deps/<this test> → target/debug
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_purchase_is_one_trace_across_the_five_processes() {
    let bin = binaries();
    let (collector, received) = collector().await;
    let otel = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector}")),
        ("OTEL_BSP_SCHEDULE_DELAY", String::from("50")),
    ];
    let outbox = std::env::temp_dir()
        .join("nfip-tests")
        .join(format!("outbox-{}", uuid::Uuid::new_v4()));
    let mut databases = Vec::new();
    let mut services = Vec::new();
    for name in ["risk", "policy", "billing", "notification"] {
        let db = TestDatabase::create(nfip_kit::db::Backend::Sqlite).await;
        let mut env = otel.to_vec();
        env.push(("OUTBOX_DIR", outbox.display().to_string()));
        let binary = bin.join(format!("nfip-{name}"));
        let args = ["--listen", "127.0.0.1:0", "--database-url", &db.url];
        services.push(ServiceProcess::start_with_env(binary.to_str().unwrap(), &args, &env).await);
        databases.push(db);
    }
    let journal = TestDatabase::create(nfip_kit::db::Backend::Sqlite).await;
    let mut env = otel.to_vec();
    env.push((
        "GATEWAY_API_KEYS",
        nfip_kit::auth::entry("tests", "trace-key"),
    ));
    let mut args = vec![
        String::from("--listen"),
        String::from("127.0.0.1:0"),
        String::from("--database-url"),
        journal.url.clone(),
    ];
    for (name, service) in ["risk", "policy", "billing", "notification"]
        .iter()
        .zip(&services)
    {
        args.extend([format!("--{name}-url"), service.url("")]);
        args.extend([format!("--{name}-token"), CALLER_KEY.to_owned()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let gateway =
        ServiceProcess::start_with_env(bin.join("nfip-gateway").to_str().unwrap(), &args, &env)
            .await;

    // Health checks make no spans.
    let health = reqwest::get(gateway.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);

    // The client's own trace: the purchase continues it.
    let (trace, client_span) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let answer = reqwest::Client::new()
        .post(gateway.url("/purchase"))
        .bearer_auth("trace-key")
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .header("traceparent", format!("00-{trace}-{client_span}-01"))
        .json(&serde_json::json!({
            "zipcode": "33101",
            "base_rate": 1200.00,
            "user": "Ada Lovelace",
            "contact": {"email": "ada@example.org"}
        }))
        .fetch()
        .await;
    assert_eq!(answer.status(), 201, "{}", answer.text().await.unwrap());

    // Each process exports its spans within a batch delay of finishing them.
    let wanted = ["gateway", "risk", "policy", "billing", "notification"];
    let spans = eventually(
        "the spans of all five processes",
        Duration::from_secs(20),
        || async {
            let spans = received.lock().unwrap().clone();
            let servers = |service: &str| {
                spans
                    .iter()
                    .any(|s| s.service == service && s.kind == SpanKind::Server)
            };
            wanted.iter().all(|s| servers(s)).then_some(spans)
        },
    )
    .await;
    assert!(
        !spans.iter().any(|s| s.name.contains("/healthz")),
        "{spans:#?}"
    );
    let spans: Vec<Exported> = spans.into_iter().filter(|s| s.trace == trace).collect();
    let by_id = |id: &str| spans.iter().find(|s| s.id == id);
    let listing = format!("{spans:#?}");

    // The gateway's server span hangs under the client's span.
    let purchase = spans
        .iter()
        .find(|s| s.service == "gateway" && s.kind == SpanKind::Server)
        .unwrap_or_else(|| panic!("no gateway server span in the trace: {listing}"));
    assert_eq!(purchase.name, "POST /purchase", "{listing}");
    assert_eq!(purchase.parent, client_span, "{listing}");

    // Each service's server span hangs under a client span of the gateway, which hangs under
    // the purchase.
    for service in ["risk", "policy", "billing", "notification"] {
        let served = spans
            .iter()
            .find(|s| s.service == service && s.kind == SpanKind::Server)
            .unwrap_or_else(|| panic!("no {service} server span in the trace: {listing}"));
        let call = by_id(&served.parent)
            .unwrap_or_else(|| panic!("{service}'s parent is not in the trace: {listing}"));
        assert_eq!(
            (call.service.as_str(), call.kind),
            ("gateway", SpanKind::Client),
            "{listing}"
        );
        assert_eq!(call.parent, purchase.id, "{listing}");
    }

    // Each process's writes are `db write` spans under the request that made them.
    for service in ["gateway", "policy", "billing", "notification"] {
        let writes: Vec<&Exported> = spans
            .iter()
            .filter(|s| s.service == service && s.name == "db write")
            .collect();
        assert!(!writes.is_empty(), "no {service} write: {listing}");
        for write in writes {
            let request = by_id(&write.parent).expect("a write's parent is in the trace");
            assert_eq!(
                (request.service.as_str(), request.kind),
                (service, SpanKind::Server),
                "{listing}"
            );
        }
    }

    drop(gateway);
    drop(services);
    let _ = std::fs::remove_dir_all(outbox);
}
