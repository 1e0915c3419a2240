//! What a 2xx acknowledged survives the process being killed with SIGKILL.

use nfip_kit_test::{Fetch, ServiceProcess};
use serde_json::Value;

use crate::helpers::new_policy;

const BINARY: &str = env!("CARGO_BIN_EXE_nfip-policy");

nfip_kit_test::backend_tests! {
    async fn an_acknowledged_policy_survives_kill_9(db) {
        let args = ["--listen", "127.0.0.1:0", "--database-url", db.url.as_str()];
        let http = reqwest::Client::builder().default_headers(nfip_kit_test::caller_headers()).build().unwrap();
        let process = ServiceProcess::start(BINARY, &args).await;
        let created: Value = http
            .post(process.url("/api/policies"))
            .json(&new_policy("Ada Lovelace"))
            .fetch_json().await;
        process.kill9().await;

        let process = ServiceProcess::start(BINARY, &args).await;
        let id = created["id"].as_str().unwrap();
        let read = http.get(process.url(&format!("/api/policies/{id}"))).fetch().await;
        assert_eq!(read.status(), 200);
        assert_eq!(read.json::<Value>().await.unwrap(), created);
    }
}

/// What a container runtime or Kubernetes does with the binary: `--probe` as its health check,
/// SIGTERM to stop it.
#[tokio::test]
async fn the_binary_probes_its_readiness_and_stops_cleanly_on_sigterm() {
    let db = nfip_kit_test::TestDatabase::create(nfip_kit::db::Backend::Sqlite).await;
    let args = ["--listen", "127.0.0.1:0", "--database-url", db.url.as_str()];
    let process = ServiceProcess::start(BINARY, &args).await;
    let listen = process.addr.to_string();
    let probe = || {
        std::process::Command::new(BINARY)
            .args(["--probe", "--listen", &listen])
            .output()
            .unwrap()
    };
    assert!(probe().status.success(), "{:?}", probe());

    let status = process.terminate().await;
    assert!(status.success(), "exits 0 on SIGTERM: {status}");
    let after = probe();
    assert!(!after.status.success());
    let said = String::from_utf8_lossy(&after.stderr);
    assert!(said.contains("/readyz: no answer"), "{said}");
}
