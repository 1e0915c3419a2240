//! The queue survives the process being killed: what was accepted is delivered after a restart.

use std::time::Duration;

use nfip_kit_test::{Fetch, ServiceProcess, eventually};
use serde_json::Value;

use crate::helpers::{email, outbox_dir};

const BINARY: &str = env!("CARGO_BIN_EXE_nfip-notification");

nfip_kit_test::backend_tests! {
    async fn a_queued_notification_is_delivered_after_kill_9(db) {
        let dir = outbox_dir();
        let outbox = dir.to_str().unwrap();
        // A short lease: if the kill lands mid-attempt, the second life may retry soon.
        let common = [
            "--listen", "127.0.0.1:0", "--database-url", db.url.as_str(), "--outbox-dir", outbox,
            "--attempt-lease-ms", "300",
        ];
        // First life: the SMTP relay is down (nothing listens on port 9), so the message stays queued.
        let down = [&common[..], &["--smtp-host", "127.0.0.1", "--smtp-port", "9", "--retry-base-ms", "5", "--retry-cap-ms", "50", "--max-attempts", "1000"]].concat();
        let http = reqwest::Client::builder().default_headers(nfip_kit_test::caller_headers()).build().unwrap();
        let process = ServiceProcess::start(BINARY, &down).await;
        let response = http.post(process.url("/api/notifications")).json(&email("ada@example.org")).fetch().await;
        assert_eq!(response.status(), 202);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let queued: Value = http.get(process.url(&location)).fetch_json().await;
        assert_eq!(queued["status"], "queued");
        process.kill9().await;

        // Second life: email goes to the outbox, and the queued message with it.
        let process = ServiceProcess::start(BINARY, &common).await;
        let sent = eventually("delivery after the restart", Duration::from_secs(20), || async {
            let body: Value = http.get(process.url(&location)).fetch_json().await;
            (body["status"] == "sent").then_some(body)
        })
        .await;
        assert!(sent["attempts"].as_u64().unwrap() >= 1);
        let mbox = std::fs::read_to_string(dir.join("email.mbox")).unwrap();
        assert!(mbox.contains(&format!("<{}@nfip.invalid>", sent["id"].as_str().unwrap())));
        let _ = std::fs::remove_dir_all(dir);
    }
}
