use serde_json::Value;

use crate::helpers::{Policies, new_policy, problem, spawn_app};

nfip_kit_test::backend_tests! {
    async fn creates_then_reads_a_policy(db) {
        let app = spawn_app(db).await;
        let response = app.post("/api/policies", &new_policy("Ada Lovelace")).await;
        assert_eq!(response.status(), 201);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let created: Value = response.json().await.unwrap();
        assert_eq!(location, format!("/api/policies/{}", created["id"].as_str().unwrap()));
        assert_eq!(created["status"], "active");
        assert_eq!(created["contact"]["phone"], "+15555550123");
        assert!(created.get("cancelled_at").is_none());
        let read: Value = app.get(&location).await.json().await.unwrap();
        assert_eq!(read, created);
    }

    async fn lists_a_holders_policies_page_by_page(db) {
        let app = spawn_app(db).await;
        let mut ids = Vec::new();
        for _ in 0..5 {
            ids.push(app.create("Ada Lovelace").await["id"].clone());
        }
        app.create("Grace Hopper").await;
        let mut seen = Vec::new();
        let mut url = String::from("/api/policies?holder=Ada%20Lovelace&limit=2");
        let mut pages = 0;
        loop {
            let page: Value = app.get(&url).await.json().await.unwrap();
            pages += 1;
            seen.extend(page["items"].as_array().unwrap().iter().map(|p| p["id"].clone()));
            match page["next_cursor"].as_str() {
                Some(cursor) => url = format!("/api/policies?holder=Ada%20Lovelace&limit=2&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!((pages, seen), (3, ids), "every policy once, oldest first");
        let page: Value = app.get("/api/policies?holder=Nobody").await.json().await.unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 0);
    }

    async fn cancelling_is_idempotent(db) {
        let app = spawn_app(db).await;
        let id = app.create("Ada Lovelace").await["id"].as_str().unwrap().to_owned();
        let cancelled = app.undone_twice(&format!("/api/policies/{id}/cancel")).await;
        assert_eq!(cancelled["status"], "cancelled");
        assert!(cancelled["cancelled_at"].is_string());
        let unknown = "0192f0c1-7d4e-7cc2-9a8e-2f1d2b9a4c11";
        problem(app.post(&format!("/api/policies/{unknown}/cancel"), &Value::Null).await, 404).await;
    }

    async fn an_idempotency_key_creates_once(db) {
        let app = spawn_app(db).await;
        let (policy, other) = (new_policy("Ada Lovelace"), new_policy("Grace Hopper"));
        let (first, again) = app.made_once("/api/policies", &policy, &other).await;
        assert_eq!(again, first);
        assert_eq!(app.stored().await, 1);
    }

    async fn concurrent_retries_with_one_key_create_one_policy(db) {
        let app = spawn_app(db).await;
        let requests = (0..20).map(|_| {
            app.request(reqwest::Method::POST, "/api/policies")
                .header("idempotency-key", "same-key")
                .json(&new_policy("Ada Lovelace"))
                .send()
        });
        let responses = futures_join_all(requests).await;
        let mut ids = std::collections::BTreeSet::new();
        for response in responses {
            let response = response.unwrap();
            assert_eq!(response.status(), 201);
            ids.insert(response.json::<Value>().await.unwrap()["id"].to_string());
        }
        assert_eq!(ids.len(), 1, "every retry answers the same policy");
        assert_eq!(app.stored().await, 1);
    }
}

/// Runs the futures concurrently and collects their outputs in order.
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.expect("task completes"));
    }
    outputs
}
