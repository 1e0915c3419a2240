//! What the gateway runs with, and the one way to build it: [`Gateway::build`] is used by
//! `main` and by every test harness.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use nfip_kit::auth::Callers;
use nfip_kit::serve::read_setting_file;
use tokio::sync::Notify;

use crate::clients::RateLimit;
use crate::config::Cli;
use crate::journal::Journal;
pub use crate::upstream::Endpoint;
use crate::upstream::billing::BillingService;
use crate::upstream::notification::NotificationService;
use crate::upstream::policy::PolicyService;
use crate::upstream::risk::RiskService;
use crate::upstream::{self, CallPolicy, Upstream};
use crate::web::Site;

/// Where the services are, and how to call them.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub risk: Endpoint,
    pub policy: Endpoint,
    pub billing: Endpoint,
    pub notification: Endpoint,
}

/// How long finished purchases stay in the journal unless `JOURNAL_RETENTION_DAYS` says.
pub const JOURNAL_RETENTION_DEFAULT: Duration = Duration::from_secs(30 * 86_400);

/// Everything the gateway needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The purchase journal.
    pub database_url: String,
    pub endpoints: Endpoints,
    /// CA certificates (PEM) to trust for `https://` services besides the system's.
    pub upstream_ca_pem: Option<Vec<u8>>,
    pub calls: CallPolicy,
    /// The clients and their key hashes.
    pub clients: Callers,
    pub rate_limit: RateLimit,
    /// Longest a request (a purchase: all its calls and retries) may take.
    pub deadline: Duration,
    /// First delay before the follow-up worker tries again.
    pub followup_retry: Duration,
    /// How long a finished purchase stays in the journal (its Idempotency-Key honoured).
    pub journal_retention: Duration,
    /// The citizen's page, served at `/` when there is one.
    pub web: Option<Arc<Site>>,
}

impl Settings {
    /// Defaults for everything but where the journal and the services are: no clients yet
    /// (add them to `clients`), and the flags' defaults.
    pub fn new(database_url: &str, endpoints: Endpoints) -> Settings {
        Settings {
            database_url: database_url.to_owned(),
            endpoints,
            upstream_ca_pem: None,
            calls: CallPolicy::default(),
            clients: Callers::default(),
            rate_limit: RateLimit::DEFAULT,
            deadline: Duration::from_millis(8_000),
            followup_retry: Duration::from_millis(1_000),
            journal_retention: JOURNAL_RETENTION_DEFAULT,
            web: None,
        }
    }

    pub fn from_cli(cli: &Cli) -> Result<Settings, String> {
        let clients = Callers::load(cli.api_keys.as_deref(), cli.api_keys_file.as_deref())
            .map_err(|error| format!("GATEWAY_API_KEYS: {error}"))?;
        let endpoint = |url: &str, token: &Option<String>| Endpoint::new(url, token.as_deref());
        let positive = |name: &str, value: u32| {
            NonZeroU32::new(value).ok_or_else(|| format!("{name} must be at least 1"))
        };
        let upstream_ca_pem =
            read_setting_file("UPSTREAM_CA_FILE", cli.upstream_ca_file.as_deref())?;
        let web = crate::web::site(cli.web_dir.as_deref(), cli.web_api_key.as_deref(), &clients)?;
        Ok(Settings {
            database_url: cli.database_url.clone(),
            upstream_ca_pem,
            endpoints: Endpoints {
                risk: endpoint(&cli.risk_url, &cli.risk_token),
                policy: endpoint(&cli.policy_url, &cli.policy_token),
                billing: endpoint(&cli.billing_url, &cli.billing_token),
                notification: endpoint(&cli.notification_url, &cli.notification_token),
            },
            calls: CallPolicy {
                hop_timeout: Duration::from_millis(cli.hop_timeout_ms),
                attempts: cli.call_attempts.max(1),
                breaker_threshold: cli.breaker_threshold,
                breaker_cooldown: Duration::from_millis(cli.breaker_cooldown_ms),
                ..CallPolicy::default()
            },
            clients,
            rate_limit: RateLimit {
                per_second: positive("RATE_LIMIT_PER_SECOND", cli.rate_limit_per_second)?,
                burst: positive("RATE_LIMIT_BURST", cli.rate_limit_burst)?,
            },
            deadline: Duration::from_millis(cli.request_deadline_ms),
            followup_retry: Duration::from_millis(cli.followup_retry_ms),
            journal_retention: Duration::from_secs(
                u64::from(positive("JOURNAL_RETENTION_DAYS", cli.journal_retention_days)?.get())
                    * 86_400,
            ),
            web,
        })
    }
}

/// The four services, each behind its own client (its breaker and address) over one HTTP client.
#[derive(Debug)]
pub struct Services {
    pub risk: RiskService,
    pub policy: PolicyService,
    pub billing: BillingService,
    pub notification: NotificationService,
}

impl Services {
    /// Fails, saying which, when an endpoint's URL is not one the gateway can call, or the CA
    /// certificates do not parse.
    pub fn new(settings: &Settings) -> Result<Services, String> {
        let roots = match &settings.upstream_ca_pem {
            Some(pem) => match reqwest::Certificate::from_pem_bundle(pem) {
                Ok(roots) if !roots.is_empty() => roots,
                Ok(_) => return Err(String::from("UPSTREAM_CA_FILE holds no PEM certificate")),
                Err(error) => return Err(format!("UPSTREAM_CA_FILE is not PEM: {error}")),
            },
            None => Vec::new(),
        };
        let (endpoints, calls) = (&settings.endpoints, settings.calls);
        let http = upstream::http_client(calls, &roots)?;
        let upstream =
            |name, endpoint: &Endpoint| Upstream::new(name, endpoint, calls, http.clone());
        Ok(Services {
            risk: RiskService(upstream("risk", &endpoints.risk)?),
            policy: PolicyService(upstream("policy", &endpoints.policy)?),
            billing: BillingService(upstream("billing", &endpoints.billing)?),
            notification: NotificationService(upstream("notification", &endpoints.notification)?),
        })
    }
}

/// The citizen's page, for its handlers.
impl FromRef<AppState> for Option<Arc<Site>> {
    fn from_ref(state: &AppState) -> Self {
        state.settings.web.clone()
    }
}

/// What the handlers and workers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub services: Arc<Services>,
    pub journal: Journal,
    pub settings: Arc<Settings>,
    /// Wakes the follow-up worker.
    pub followups: Arc<Notify>,
}
