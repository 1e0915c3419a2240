//! The floor `just bench` measures the stack against: the same five processes on the same
//! ports and paths, with handlers that answer fixed JSON — no storage, no validation, no
//! authentication — and a gateway that makes the same four sequential loopback calls with
//! reqwest. What the real stack costs above this is durability, validation and safety; what
//! this costs is the topology itself (processes, HTTP, JSON).

use std::net::SocketAddr;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::{Parser, ValueEnum};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Role {
    Gateway,
    Risk,
    Policy,
    Billing,
    Notification,
}

/// One process of the benchmark's floor.
#[derive(Debug, Parser)]
#[command(name = "nfip-floor")]
struct Cli {
    #[arg(long, value_enum)]
    role: Role,
    #[arg(long)]
    listen: SocketAddr,
    /// The services, for the gateway: risk, policy, billing, notification.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "http://127.0.0.1:8081,http://127.0.0.1:8082,http://127.0.0.1:8083,http://127.0.0.1:8084"
    )]
    services: Vec<String>,
}

const CREATED: &str = "2026-11-25T10:00:00.000000Z";
const ID: &str = "019a7b4e-8f1c-7d2a-9b3e-4c5d6e7f8a9b";

async fn ready() -> Json<Value> {
    Json(json!({"status": "ready"}))
}

async fn risk(Path(zipcode): Path<String>) -> Json<Value> {
    Json(json!({
        "zipcode": zipcode, "risk_score": 0.9, "flood_zone": "AE", "state": "FL",
        "source": "table", "data_version": "nfip sample table of 2026-11-25", "elevation_ft": 4.0, "distance_to_water_mi": 0.1, "flood_claims_10y": 214,
        "factors": [{"factor": "flood_zone", "contribution": 0.4, "explanation": "flood zone AE"}]
    }))
}

async fn policy() -> (StatusCode, Json<Value>) {
    let policy = json!({
        "id": ID, "holder": "Bench User", "contact": {"email": "bench@example.org"},
        "zipcode": "33139", "risk_score": 0.9, "status": "active", "created_at": CREATED
    });
    (StatusCode::CREATED, Json(policy))
}

async fn invoice() -> (StatusCode, Json<Value>) {
    let invoice = json!({
        "id": ID, "policy_id": ID, "base_rate_cents": 120000, "risk_score": 0.9,
        "amount_cents": 108000, "currency": "USD", "status": "open", "created_at": CREATED
    });
    (StatusCode::CREATED, Json(invoice))
}

async fn notification() -> (StatusCode, Json<Value>) {
    let notification = json!({
        "id": ID, "channel": "email", "to": "bench@example.org", "status": "queued",
        "attempts": 0, "created_at": CREATED
    });
    (StatusCode::ACCEPTED, Json(notification))
}

#[derive(Clone)]
struct Upstreams {
    http: reqwest::Client,
    urls: Vec<String>,
}

impl Upstreams {
    /// GET (no body) or POST `body` to service `index`'s `path`, the answer's JSON.
    async fn call(
        &self,
        index: usize,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, StatusCode> {
        let url = format!("{}{path}", self.urls[index]);
        let request = match body {
            Some(body) => self.http.post(url).json(&body),
            None => self.http.get(url),
        };
        let answer = request.send().await.map_err(|_| StatusCode::BAD_GATEWAY)?;
        answer.json().await.map_err(|_| StatusCode::BAD_GATEWAY)
    }
}

async fn purchase(
    State(up): State<Upstreams>,
    Json(order): Json<Value>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    let zipcode = order["zipcode"].as_str().unwrap_or("33139");
    let risk = up.call(0, &format!("/api/risk/{zipcode}"), None).await?;
    let policy = json!({"holder": order["user"], "contact": order["contact"], "zipcode": zipcode,
                        "risk_score": risk["risk_score"]});
    let policy = up.call(1, "/api/policies", Some(policy)).await?;
    let invoice = json!({"policy_id": policy["id"], "base_rate_cents": 120000,
                         "risk_score": risk["risk_score"]});
    let invoice = up.call(2, "/api/invoices", Some(invoice)).await?;
    let message = json!({"channel": "email", "to": "bench@example.org", "subject": "Your policy",
                         "body": "Your policy is active.", "policy_id": policy["id"]});
    let sent = up.call(3, "/api/notifications", Some(message)).await?;
    let receipt = json!({
        "policy_id": policy["id"], "invoice_id": invoice["id"],
        "amount_cents": invoice["amount_cents"], "amount": "1080.00", "currency": "USD",
        "risk_score": risk["risk_score"], "flood_zone": risk["flood_zone"],
        "notification_id": sent["id"], "notification": "queued"
    });
    Ok((StatusCode::CREATED, Json(receipt)))
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let app = match cli.role {
        Role::Risk => Router::new().route("/api/risk/{zipcode}", get(risk)),
        Role::Policy => Router::new().route("/api/policies", post(policy)),
        Role::Billing => Router::new().route("/api/invoices", post(invoice)),
        Role::Notification => Router::new().route("/api/notifications", post(notification)),
        Role::Gateway => {
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .tcp_nodelay(true)
                .no_proxy()
                .build()
                .expect("an HTTP client");
            Router::new()
                .route("/purchase", post(purchase))
                .with_state(Upstreams {
                    http,
                    urls: cli.services,
                })
        }
    };
    let app = app.route("/readyz", get(ready));
    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .unwrap_or_else(|e| panic!("cannot listen on {}: {e}", cli.listen));
    axum::serve(listener, app).await.expect("serve");
}
