//! `LOG_FORMAT=json`: one JSON object a line, each line of a request with its id, trace and span.

use std::process::Stdio;
use std::time::Duration;

use nfip_kit_test::Fetch;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{ChildStderr, Command};

const BINARY: &str = env!("CARGO_BIN_EXE_nfip-policy");

/// The next line that is JSON and passes `wanted`; every line before it must be JSON too.
async fn next_json(
    lines: &mut Lines<BufReader<ChildStderr>>,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let object: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            assert!(
                object["timestamp"].is_string() && object["level"].is_string(),
                "{line}"
            );
            if wanted(&object) {
                return object;
            }
        }
        panic!("the process ended");
    })
    .await
    .expect("the line within 30 s")
}

#[tokio::test]
async fn json_lines_carry_the_request_id_trace_and_span() {
    let db = nfip_kit_test::TestDatabase::create(nfip_kit::db::Backend::Sqlite).await;
    let mut child = Command::new(BINARY)
        .args(["--listen", "127.0.0.1:0", "--database-url", &db.url])
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env(
            "API_CALLERS",
            nfip_kit::auth::entry(nfip_kit_test::CALLER, nfip_kit_test::CALLER_KEY),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let listening = next_json(&mut lines, |line| {
        line["message"]
            .as_str()
            .is_some_and(|m| m.contains("listening on http://"))
    })
    .await;
    let message = listening["message"].as_str().unwrap();
    let addr = message.split("listening on http://").nth(1).unwrap();
    let addr = addr.split_whitespace().next().unwrap();

    let answer = reqwest::Client::new()
        .get(format!(
            "http://{addr}/api/policies/0192f0c1-7d4e-7cc2-9a8e-2f1d2b9a4c11"
        ))
        .headers(nfip_kit_test::caller_headers())
        .header("x-request-id", "json-log-1")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .fetch()
        .await;
    assert_eq!(answer.status(), 404);
    let logged = next_json(&mut lines, |line| line["span"]["id"] == "json-log-1").await;
    assert_eq!(logged["span"]["trace"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(logged["span"]["span"], "00f067aa0ba902b7");
    assert!(logged["message"].is_string(), "{logged}");
    child.kill().await.unwrap();
}
