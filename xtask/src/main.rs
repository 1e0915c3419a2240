//! Developer tasks, run as `cargo xtask <task>` (an alias in `.cargo/config.toml`).
//!
//! `up` builds the gateway and every service, starts each as its own process on its default port
//! and database, waits until all answer `/readyz`, prints where their Swagger UIs are and the
//! gateway's development API key, prefixes their logs with their names, and stops them all on
//! Ctrl-C (or when one of them dies). `bench` is the purchase benchmark (see `bench.rs`).

mod bench;
mod breaking;
mod openapi30;

use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::signal::unix::{SignalKind, signal};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Start the whole stack; Ctrl-C stops it.
    Up {
        /// Build and run optimized binaries.
        #[arg(long)]
        release: bool,
        /// Use PostgreSQL instead of the SQLite files under data/: a server URL such as
        /// postgres://postgres@127.0.0.1:5432 (each service gets its own database, created
        /// if missing).
        #[arg(long, env = "NFIP_POSTGRES")]
        postgres: Option<String>,
    },
    /// Fail if a committed spec changed in a way that breaks existing clients since BASE
    /// (default: the spec's last release, the tag `<spec>-v<version>`; not released yet: the
    /// merge-base with main, or the previous commit), unless its major version was raised (a
    /// compatible change: its minor).
    OpenapiBreaking {
        /// A git revision.
        base: Option<String>,
    },
    /// Write CHANGELOG.md: for each spec whose version is newer than its last release, what
    /// changed since it; with --check, fail where it is out of date.
    Changelog {
        #[arg(long)]
        check: bool,
    },
    /// Tag each spec whose version is not released yet (`<spec>-v<version>`), once the tree is
    /// clean, the gate passes and CHANGELOG.md is current.
    Release,
    /// Write openapi/3.0/<name>.json, the OpenAPI 3.0 edition of each spec (for generators that
    /// read only 3.0); with --check, fail where a committed one is out of date.
    Openapi30 {
        #[arg(long)]
        check: bool,
    },
    /// Run a command against a fresh stack: build, start every process on its default port and
    /// a throwaway SQLite folder (warnings-only logs, no rate limit), wait until ready, run the
    /// command with NFIP_GATEWAY_URL, NFIP_API_KEY, NFIP_OTHER_API_KEY and NFIP_SERVICE_TOKEN
    /// set, stop the stack, exit with the command's status.
    WithStack {
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Benchmark POST /purchase against its floor (the same topology with trivial handlers):
    /// release builds, both driven by wrk at N connections in one run; prints throughput, p50,
    /// p99, p99.9, the fraction of the floor, each process's CPU per purchase and RSS.
    Bench {
        #[arg(long, default_value_t = 16)]
        connections: u32,
        /// How long to measure, after a 5 s warm-up (wrk syntax: 20s, 1m).
        #[arg(long, default_value = "20s")]
        duration: String,
        /// wrk threads.
        #[arg(long, default_value_t = 2)]
        threads: u32,
        /// Run the stack on PostgreSQL at this server (`postgres://user@host:port`), on fresh
        /// databases dropped afterwards, instead of SQLite.
        #[arg(long)]
        postgres: Option<String>,
    },
}

/// One process of the stack.
struct Service {
    name: &'static str,
    port: u16,
}

/// The API key of the development client `up` gives the gateway, printed for the developer.
const DEV_API_KEY: &str = "nfip-dev-key";
/// A second client's key, for checks that one client cannot reach another's purchases.
const OTHER_API_KEY: &str = "nfip-dev-key-2";
/// The key the gateway presents to every service in development (each service trusts it).
const DEV_SERVICE_TOKEN: &str = "nfip-dev-service-token";
/// The key of the public "web" client, which the gateway writes into the citizen's page.
const DEV_WEB_KEY: &str = "nfip-dev-web-key";

/// A registry entry, as `GATEWAY_API_KEYS` and `API_CALLERS` take them.
fn entry(name: &str, key: &str) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(key.as_bytes());
    let hex: String = hash.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{name}:sha256:{hex}")
}

/// The credentials every process of a development stack gets: the gateway's clients (two for
/// developers, one for the citizen's page) and its key for the services, which the services
/// trust. The gateway serves the page when `just web` has built it.
fn credentials(service: &str, root: &Path) -> Vec<(&'static str, String)> {
    if service != "gateway" {
        return vec![
            ("API_CALLERS", entry("gateway", DEV_SERVICE_TOKEN)),
            // The gateway's Swagger UI may "Try it out" against each service, in development.
            (
                "CORS_ALLOWED_ORIGINS",
                String::from("http://127.0.0.1:8080,http://localhost:8080"),
            ),
        ];
    }
    let mut env = vec![(
        "GATEWAY_API_KEYS",
        format!(
            "{},{},{}",
            entry("dev", DEV_API_KEY),
            entry("dev-other", OTHER_API_KEY),
            entry("web", DEV_WEB_KEY)
        ),
    )];
    let page = root.join("web/dist");
    if page.join("index.html").is_file() {
        env.push(("WEB_DIR", page.display().to_string()));
        env.push(("WEB_API_KEY", DEV_WEB_KEY.to_owned()));
    }
    for upstream in [
        "RISK_TOKEN",
        "POLICY_TOKEN",
        "BILLING_TOKEN",
        "NOTIFICATION_TOKEN",
    ] {
        env.push((upstream, DEV_SERVICE_TOKEN.to_owned()));
    }
    env
}

const SERVICES: [Service; 5] = [
    Service {
        name: "gateway",
        port: 8080,
    },
    Service {
        name: "risk",
        port: 8081,
    },
    Service {
        name: "policy",
        port: 8082,
    },
    Service {
        name: "billing",
        port: 8083,
    },
    Service {
        name: "notification",
        port: 8084,
    },
];

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Up { release, postgres } => up(release, postgres.as_deref()).await,
        Task::OpenapiBreaking { base } => breaking::run(base).await,
        Task::Changelog { check } => breaking::release::changelog(check).await,
        Task::Release => breaking::release::release().await,
        Task::Openapi30 { check } => openapi30::run(check),
        Task::WithStack { command } => with_stack(&command).await,
        Task::Bench {
            connections,
            duration,
            threads,
            postgres,
        } => bench::run(connections, &duration, threads, postgres.as_deref()).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn binary(root: &Path, release: bool, name: &str) -> PathBuf {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target
        .join(if release { "release" } else { "debug" })
        .join(format!("nfip-{name}"))
}

/// Builds every process of the stack, and `more` packages.
async fn build(root: &Path, release: bool, more: &[&str]) -> Result<(), String> {
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.current_dir(root).arg("build");
    if release {
        cargo.arg("--release");
    }
    for service in &SERVICES {
        cargo.args(["--package", &format!("nfip-{}", service.name)]);
    }
    for package in more {
        cargo.args(["--package", package]);
    }
    run_to_end(&mut cargo, "cannot run cargo", "the build failed").await
}

/// Runs `command` to its end: `Err(cannot_run: <why>)` if it cannot start, `Err(failed)` if it
/// exits with a failure.
async fn run_to_end(command: &mut Command, cannot_run: &str, failed: &str) -> Result<(), String> {
    let status = command
        .status()
        .await
        .map_err(|e| format!("{cannot_run}: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| failed.to_owned())
}

/// Each service's database URL: a SQLite file under data/, or its own PostgreSQL database.
async fn database_url(postgres: Option<&str>, service: &str) -> Result<String, String> {
    let Some(server) = postgres else {
        return Ok(format!("sqlite://data/{service}.db"));
    };
    let server = server.trim_end_matches('/');
    let database = format!("nfip_{service}");
    let psql = Command::new("psql")
        .args([&format!("{server}/postgres"), "-tAc"])
        .arg(format!(
            "SELECT 1 FROM pg_database WHERE datname = '{database}'"
        ))
        .output()
        .await
        .map_err(|e| format!("psql is needed to create the databases: {e}"))?;
    if !psql.status.success() {
        return Err(format!(
            "cannot reach PostgreSQL at {server}: {}",
            String::from_utf8_lossy(&psql.stderr).trim()
        ));
    }
    if String::from_utf8_lossy(&psql.stdout).trim() != "1" {
        let mut create = Command::new("psql");
        create
            .args([&format!("{server}/postgres"), "-qc"])
            .arg(format!("CREATE DATABASE {database}"));
        let failed = format!("cannot create database {database}");
        run_to_end(&mut create, "cannot run psql", &failed).await?;
    }
    Ok(format!("{server}/{database}"))
}

/// Copies a child's output to ours, each line prefixed with the service's name.
fn forward(name: &'static str, output: impl AsyncRead + Unpin + Send + 'static) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(output).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            println!("{name:>12} | {line}");
        }
    });
}

struct Running {
    name: &'static str,
    child: Child,
}

/// Starts one process of the stack on its default port, its output forwarded to ours.
fn start(
    root: &Path,
    release: bool,
    service: &Service,
    database_url: &str,
    env: &[(&str, String)],
    log: &str,
) -> Result<Running, String> {
    let mut command = Command::new(binary(root, release, service.name));
    command
        .envs(credentials(service.name, root))
        .current_dir(root)
        .env("LISTEN_ADDR", format!("127.0.0.1:{}", service.port))
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", log)
        .envs(env.iter().map(|(k, v)| (k, v)));
    spawn(service.name, command)
}

/// Spawns `command` as the process `name`, its output forwarded to ours.
fn spawn(name: &'static str, mut command: Command) -> Result<Running, String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {name}: {e}"))?;
    forward(name, child.stdout.take().expect("piped"));
    forward(name, child.stderr.take().expect("piped"));
    Ok(Running { name, child })
}

async fn up(release: bool, postgres: Option<&str>) -> Result<(), String> {
    let root = workspace_root();
    build(&root, release, &[]).await?;

    let log = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    let mut running = Vec::new();
    for service in &SERVICES {
        let url = database_url(postgres, service.name).await?;
        running.push(start(&root, release, service, &url, &[], &log)?);
    }

    let outcome = tokio::select! {
        ready = wait_until_ready(&mut running) => match ready {
            Ok(()) => {
                print_banner();
                watch(&mut running).await
            }
            Err(error) => Err(error),
        },
        () = interrupted() => Ok(()),
    };
    stop(&mut running).await;
    outcome
}

/// Starts every process on a fresh SQLite folder under target/stack/, with `log` as RUST_LOG;
/// returns them and the folder (to remove once they stop).
/// The stack on fresh databases: SQLite files in a new folder under target/stack (returned, to
/// remove), or the `databases` given, one URL per service in [`SERVICES`]' order.
fn start_fresh(
    root: &Path,
    release: bool,
    log: &str,
    databases: Option<&[String]>,
) -> Result<(Vec<Running>, PathBuf), String> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let data = root.join("target").join("stack").join(stamp.to_string());
    std::fs::create_dir_all(&data).map_err(|e| format!("cannot create {}: {e}", data.display()))?;
    let outbox = ("OUTBOX_DIR", data.join("outbox").display().to_string());
    let mut running = Vec::new();
    for (i, service) in SERVICES.iter().enumerate() {
        let url = match databases {
            Some(urls) => urls[i].clone(),
            None => format!("sqlite://{}/{}.db", data.display(), service.name),
        };
        // Tests and benchmarks are not about rates: no client is limited.
        let env = match service.name {
            "notification" => vec![outbox.clone()],
            "gateway" => vec![
                ("RATE_LIMIT_PER_SECOND", String::from("1000000")),
                ("RATE_LIMIT_BURST", String::from("1000000")),
            ],
            _ => Vec::new(),
        };
        running.push(start(root, release, service, &url, &env, log)?);
    }
    Ok((running, data))
}

async fn with_stack(command: &[String]) -> Result<(), String> {
    let root = workspace_root();
    build(&root, false, &[]).await?;
    let (mut running, data) = start_fresh(&root, false, "warn", None)?;
    let outcome = match wait_until_ready(&mut running).await {
        Err(error) => Err(error),
        Ok(()) => {
            let status = Command::new(&command[0])
                .args(&command[1..])
                .current_dir(&root)
                .env("NFIP_GATEWAY_URL", "http://127.0.0.1:8080")
                .env("NFIP_API_KEY", DEV_API_KEY)
                .env("NFIP_OTHER_API_KEY", OTHER_API_KEY)
                .env("NFIP_SERVICE_TOKEN", DEV_SERVICE_TOKEN)
                .status()
                .await
                .map_err(|e| format!("cannot run {}: {e}", command[0]))?;
            if status.success() {
                Ok(())
            } else {
                Err(format!("`{}` failed ({status})", command.join(" ")))
            }
        }
    };
    stop(&mut running).await;
    let _ = std::fs::remove_dir_all(&data);
    outcome
}

async fn wait_until_ready(running: &mut [Running]) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    for (process, service) in running.iter_mut().zip(&SERVICES) {
        let url = format!("http://127.0.0.1:{}/readyz", service.port);
        loop {
            tick.tick().await;
            if let Ok(Some(status)) = process.child.try_wait() {
                return Err(format!(
                    "{} exited before it was ready ({status})",
                    process.name
                ));
            }
            let ready = http.get(&url).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} was not ready within 60 s ({url})",
                    process.name
                ));
            }
        }
    }
    Ok(())
}

fn print_banner() {
    println!();
    if workspace_root().join("web/dist/index.html").is_file() {
        println!("  nfip is up. The citizen's page: http://127.0.0.1:8080/");
        println!();
    } else {
        println!("  nfip is up (no citizen's page: `just web` builds it, `just up` does both).");
        println!();
    }
    println!("  Swagger UI of each process:");
    for service in &SERVICES {
        println!(
            "    {:<13} http://127.0.0.1:{}/docs",
            service.name, service.port
        );
    }
    println!();
    println!(
        "  Development API key for the gateway: {DEV_API_KEY} (a second client: {OTHER_API_KEY})"
    );
    println!(
        "  The services trust the gateway's development key: curl -H 'authorization: Bearer {DEV_SERVICE_TOKEN}' localhost:8081/api/risk/33139"
    );
    println!(
        "  Try: curl -s localhost:8080/purchase -H 'x-api-key: {DEV_API_KEY}' \\\n         -H 'content-type: application/json' -d '{{\"zipcode\":\"33139\",\"base_rate\":1200,\"user\":\"Ada\"}}'"
    );
    println!();
    println!("  Press Ctrl-C to stop them all.");
    println!();
}

/// Runs until Ctrl-C / SIGTERM (fine) or until a service exits on its own (an error).
async fn watch(running: &mut [Running]) -> Result<(), String> {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let interrupted = interrupted();
    tokio::pin!(interrupted);
    loop {
        tokio::select! {
            () = &mut interrupted => return Ok(()),
            _ = tick.tick() => {
                for process in running.iter_mut() {
                    if let Ok(Some(status)) = process.child.try_wait() {
                        return Err(format!("{} exited unexpectedly ({status}); stopping the others", process.name));
                    }
                }
            }
        }
    }
}

async fn interrupted() {
    let mut terminate = signal(SignalKind::terminate()).expect("install a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

/// SIGTERM to every child still running, then up to 15 s for them to finish before SIGKILL.
async fn stop(running: &mut [Running]) {
    for process in running.iter_mut() {
        if let Some(pid) = process.child.id() {
            // SAFETY: kill(2) with a pid we spawned and a valid signal number.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGTERM);
            }
        }
    }
    for process in running.iter_mut() {
        match tokio::time::timeout(Duration::from_secs(15), process.child.wait()).await {
            Ok(_) => println!("{:>12} | stopped", process.name),
            Err(_) => {
                let _ = process.child.kill().await;
                println!("{:>12} | killed: it did not stop within 15 s", process.name);
            }
        }
    }
}
