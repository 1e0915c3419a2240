//! What a 2xx acknowledged survives the process being killed with SIGKILL.

use nfip_kit::testing::ServiceProcess;
use serde_json::Value;

use crate::helpers::new_policy;

const BINARY: &str = env!("CARGO_BIN_EXE_nfip-policy");

nfip_kit::backend_tests! {
    async fn an_acknowledged_policy_survives_kill_9(db) {
        let args = ["--listen", "127.0.0.1:0", "--database-url", db.url.as_str()];
        let http = reqwest::Client::builder().default_headers(nfip_kit::testing::caller_headers()).build().unwrap();
        let process = ServiceProcess::start(BINARY, &args).await;
        let created: Value = http
            .post(process.url("/api/policies"))
            .json(&new_policy("Ada Lovelace"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        process.kill9().await;

        let process = ServiceProcess::start(BINARY, &args).await;
        let id = created["id"].as_str().unwrap();
        let read = http.get(process.url(&format!("/api/policies/{id}"))).send().await.unwrap();
        assert_eq!(read.status(), 200);
        assert_eq!(read.json::<Value>().await.unwrap(), created);
    }
}
