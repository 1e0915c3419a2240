//! The contract harness for providers and consumers written in any language, over HTTP:
//!
//! - `contract-tests verify <service> <base-url>` replays the interactions the gateway's
//!   contract snapshots recorded against a running implementation of `<service>`, setting up
//!   the provider states they name, and prints a pass/fail table;
//! - `contract-tests mock <spec> --port N` serves a provider from its published spec, checks
//!   every request it receives, and reports the violations at `GET /__contract/report` and
//!   when it stops.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use nfip_contract_tests::mock_server::{REPORT_PATH, Report, Script, ValidatingMock};
use nfip_contract_tests::spec::published_dir;
use nfip_contract_tests::states::Target;
use nfip_contract_tests::verify::{self, States};
use nfip_contract_tests::{Spec, replay};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};

#[derive(Parser)]
#[command(name = "contract-tests", about, version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify a running provider, in any language, against the interactions the gateway's
    /// contract snapshots recorded: status, body against the spec, recorded shape.
    Verify {
        /// The service it implements: risk, policy, billing or notification.
        service: String,
        /// Where it runs, e.g. http://127.0.0.1:8081.
        base_url: String,
        /// Set provider states up by POSTing {"state", "params"} to this URL (or path of
        /// BASE_URL) instead of through the service's public API.
        #[arg(long)]
        state_hook: Option<String>,
        /// A bearer token the provider trusts.
        #[arg(long, env = "NFIP_SERVICE_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// The spec to hold it to (default: the published openapi/<service>.json).
        #[arg(long)]
        spec: Option<PathBuf>,
        /// Where the recorded interactions are (insta snapshots).
        #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/contract/snapshots"))]
        snapshots: PathBuf,
    },
    /// Serve a provider from its spec for a consumer in any language, validating every request
    /// it receives. Stop it with Ctrl-C or SIGTERM: it prints its report, and exits 1 if it
    /// found a violation.
    Mock {
        /// A published spec's name (gateway, risk, ...) or the path of an OpenAPI 3.1 JSON file.
        spec: String,
        /// The port on 127.0.0.1 (0: any free one; the URL is printed).
        #[arg(long, default_value_t = 4010)]
        port: u16,
        /// Scripted answers: {"answers": [{"operation", "path"?, "status", "body"?, "headers"?}]}.
        /// Without a body, the spec's example for that status.
        #[arg(long)]
        answers: Option<PathBuf>,
        /// Check request bodies as if every object schema were closed.
        #[arg(long)]
        closed_schemas: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Verify {
            service,
            base_url,
            state_hook,
            token,
            spec,
            snapshots,
        } => verify(service, base_url, state_hook, token, spec, snapshots).await,
        Command::Mock {
            spec,
            port,
            answers,
            closed_schemas,
        } => mock(spec, port, answers, closed_schemas).await,
    };
    result.unwrap_or_else(|error| {
        eprintln!("contract-tests: {error}");
        ExitCode::from(2)
    })
}

async fn verify(
    service: String,
    base_url: String,
    state_hook: Option<String>,
    token: Option<String>,
    spec: Option<PathBuf>,
    snapshots: PathBuf,
) -> Result<ExitCode, String> {
    let path = spec.unwrap_or_else(|| published_dir().join(format!("{service}.json")));
    let spec = Spec::load(&service, &path)?;
    let interactions = replay::recorded(&snapshots, &service);
    if interactions.is_empty() {
        return Err(format!(
            "no recorded interactions with {service} under {}",
            snapshots.display()
        ));
    }
    let mut headers = HeaderMap::new();
    if let Some(token) = token {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| "the token has characters a header cannot carry")?;
        headers.insert(AUTHORIZATION, value);
    }
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let base = base_url.trim_end_matches('/').to_owned();
    let states = match state_hook {
        Some(hook) if hook.starts_with('/') => States::Hook(format!("{base}{hook}")),
        Some(hook) => States::Hook(hook),
        None => States::PublicApi,
    };
    let how = match &states {
        States::PublicApi => String::from("through its public API"),
        States::Hook(hook) => format!("through {hook}"),
    };
    println!(
        "verifying {service} at {base} against {} recorded interactions (provider states set up {how})",
        interactions.len()
    );
    let target = Target { base, http };
    let verdicts = verify::verify(&spec, &interactions, &target, &states).await;
    print!("{}", verify::table(&verdicts));
    Ok(if verdicts.iter().any(verify::Verdict::failed) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn mock(
    spec: String,
    port: u16,
    answers: Option<PathBuf>,
    closed_schemas: bool,
) -> Result<ExitCode, String> {
    let spec = if spec.ends_with(".json") {
        let path = PathBuf::from(&spec);
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or(spec);
        Spec::load(&name, &path)?
    } else {
        Spec::load(&spec, &published_dir().join(format!("{spec}.json")))?
    };
    let spec = if closed_schemas {
        spec.closing_open_schemas()
    } else {
        spec
    };
    let name = spec.name.clone();
    let script = match answers {
        Some(file) => Script::load(&file)?,
        None => Script::default(),
    };
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let mock = ValidatingMock::start(spec, script, listener)
        .await
        .map_err(|problems| {
            format!(
                "the answers contradict the {name} spec:\n{}",
                problems.join("\n")
            )
        })?;
    println!(
        "mock of {name} serving on {} (report at {REPORT_PATH})",
        mock.uri()
    );
    stopped().await;
    let Report {
        requests,
        violations,
    } = mock.report();
    eprintln!(
        "mock of {name}: {requests} requests, {} violations of the spec",
        violations.len()
    );
    for violation in &violations {
        eprintln!("  - {violation}");
    }
    Ok(if violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Ctrl-C or SIGTERM.
async fn stopped() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
