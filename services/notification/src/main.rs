use std::sync::Arc;
use std::time::Duration;

use nfip_notification::config::Cli;
use nfip_notification::delivery::{Deliver, Outbox, Relay, RetryPolicy, Smtp, Worker};
use nfip_notification::{AppState, NotificationStore};

nfip_kit::main!("notification", nfip_notification::openapi, run);

async fn run(cli: Cli) -> Result<(), String> {
    let from = cli
        .mail_from
        .parse()
        .map_err(|e| format!("MAIL_FROM `{}` is not a mailbox: {e}", cli.mail_from))?;
    let outbox = Outbox::new(&cli.outbox_dir, Clone::clone(&from));
    let channel: Arc<dyn Deliver> = match &cli.smtp_host {
        Some(host) => {
            let ca_file = cli.smtp_ca_file.as_deref();
            let relay = Relay {
                host: host.clone(),
                port: cli.smtp_port,
                security: cli.smtp_tls,
                credentials: cli.smtp_username.clone().zip(cli.smtp_password.clone()),
                ca_pem: nfip_kit::serve::read_setting_file("SMTP_CA_FILE", ca_file)?,
            };
            tracing::info!(
                "email goes through SMTP at {host}:{} ({:?}{}); SMS to the outbox folder {}",
                cli.smtp_port,
                cli.smtp_tls,
                if relay.credentials.is_some() {
                    ", authenticated"
                } else {
                    ""
                },
                cli.outbox_dir.display()
            );
            Arc::new(Smtp::new(&relay, from, outbox)?)
        }
        None => {
            tracing::info!(
                "email and SMS go to the outbox folder {}",
                cli.outbox_dir.display()
            );
            Arc::new(outbox)
        }
    };
    let notifications = NotificationStore::connect(&cli.database_url).await?;
    let retry = RetryPolicy {
        max_attempts: cli.max_attempts.max(1),
        base: Duration::from_millis(cli.retry_base_ms),
        cap: Duration::from_millis(cli.retry_cap_ms),
        lease: Duration::from_millis(cli.attempt_lease_ms),
    };
    let worker = Worker::spawn(notifications.clone(), channel, retry);
    let app = nfip_notification::app(
        AppState {
            notifications,
            handoff: worker.handoff(),
        },
        cli.service.callers.load()?,
    );
    let served = cli.service.serve("notification", cli.listen, app).await;
    worker.stop().await;
    served
}
