use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use nfip_gateway::config::Cli;
use nfip_gateway::followups::Followups;
use nfip_gateway::upstream::CallPolicy;
use nfip_gateway::{ApiKeys, AppState, Journal, Metrics, ServiceUrls, Services, Settings};
use tokio::sync::Notify;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    nfip_kit::serve::main(cli.print_openapi, nfip_gateway::openapi, run(cli)).await
}

async fn run(cli: Cli) -> Result<(), String> {
    let mut keys = ApiKeys::new(cli.api_keys.clone());
    if keys.is_empty() {
        let generated = uuid::Uuid::new_v4().simple().to_string();
        tracing::warn!(
            "GATEWAY_API_KEYS is not set; generated an API key for this run: {generated}"
        );
        keys = ApiKeys::new([generated]);
    }
    let journal = Journal::connect(&cli.database_url)
        .await
        .map_err(|e| e.to_string())?;
    let metrics = Metrics::default();
    let policy = CallPolicy {
        hop_timeout: Duration::from_millis(cli.hop_timeout_ms),
        attempts: cli.call_attempts.max(1),
        breaker_threshold: cli.breaker_threshold,
        breaker_cooldown: Duration::from_millis(cli.breaker_cooldown_ms),
        ..CallPolicy::default()
    };
    let urls = ServiceUrls {
        risk: cli.risk_url,
        policy: cli.policy_url,
        billing: cli.billing_url,
        notification: cli.notification_url,
    };
    tracing::info!(
        "services: risk {}, policy {}, billing {}, notification {}",
        urls.risk,
        urls.policy,
        urls.billing,
        urls.notification
    );
    let deadline = Duration::from_millis(cli.request_deadline_ms);
    let state = AppState {
        services: Arc::new(Services::new(&urls, policy, &metrics)),
        journal,
        config: Arc::new(Settings {
            request_deadline: deadline,
            purchase_deadline: deadline,
            followup_retry: Duration::from_millis(cli.followup_retry_ms),
        }),
        metrics,
        followups: Arc::new(Notify::new()),
    };
    let followups = Followups::spawn(state.clone());
    let app = nfip_gateway::app(state, keys);
    let served = nfip_kit::serve::run("gateway", cli.listen, app).await;
    followups.stop().await;
    served
}
