//! Binding and serving: connection hygiene, limits, graceful shutdown.
//!
//! One client must not be able to stop a process from serving others, so every connection is
//! bounded:
//! - a request's headers must arrive within the header timeout, which also bounds how long a
//!   keep-alive connection may sit idle between requests (hyper measures both from the moment
//!   it waits for a request head);
//! - its body within the body timeout, in full (a body shorter than its `Content-Length` is not
//!   waited for beyond it: a 408 problem), and the whole request within the request timeout;
//! - at most `max_connections` connections are served at once. Past that, a small reserve of
//!   connections is still answered, one request each: `/healthz` and `/readyz` as usual, so
//!   orchestrators are not misled, anything else with a 503 problem; beyond the reserve, a
//!   connection is closed at once.
//!
//! Every answer these limits give is a problem+json, and so are hyper's own (see
//! [`crate::bare`]). The process also raises its soft limit
//! on open files to the hard limit, so the cap, not the file limit, is what binds.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use http_body::Body as _;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceBuilder;

use crate::bare::ProblemIo;
use crate::health::Draining;
use crate::problem::{Problem, ProblemType};

/// Connections answered past the cap, one request each (health checks, 503s).
const RESERVE: usize = 64;
/// The longest request target answered; longer ones get a 414 problem.
pub const MAX_URI: usize = 8 * 1024;
/// The most header bytes, and headers, a request may carry; more get a 431 problem.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
pub const MAX_HEADERS: usize = 100;

/// The limits every process serves with, from flags or the environment.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Longest a connection may take to send a request's headers, which is also the longest it
    /// may stay idle between requests, in milliseconds.
    #[arg(long, env = "HEADER_TIMEOUT_MS", default_value_t = 5_000)]
    pub header_timeout_ms: u64,

    /// Longest a request's body may take to arrive in full, in milliseconds.
    #[arg(long, env = "BODY_TIMEOUT_MS", default_value_t = 10_000)]
    pub body_timeout_ms: u64,

    /// Longest a request may take from its headers to its answer, in milliseconds.
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,

    /// Connections served at once; past this, only health checks are answered.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// On SIGTERM, how long to go on serving with `/readyz` answering 503 before no longer
    /// taking connections, in milliseconds: time for load balancers to stop sending requests
    /// here (a few seconds behind Kubernetes Services; 0 when nothing balances).
    #[arg(long, env = "SHUTDOWN_DELAY_MS", default_value_t = 0)]
    pub shutdown_delay_ms: u64,

    /// Then, how long the requests in flight may take to finish before their connections are
    /// closed, in milliseconds.
    #[arg(long, env = "DRAIN_TIMEOUT_MS", default_value_t = 10_000)]
    pub drain_timeout_ms: u64,

    /// Check the process already listening on LISTEN_ADDR instead of starting one: exit 0 if its
    /// `/readyz` answers 200 within 2 s, 1 otherwise (a container's HEALTHCHECK).
    #[arg(long)]
    pub probe: bool,
}

impl ServeArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            header_timeout: Duration::from_millis(self.header_timeout_ms.max(1)),
            body_timeout: Duration::from_millis(self.body_timeout_ms.max(1)),
            request_timeout: Duration::from_millis(self.request_timeout_ms.max(1)),
            max_connections: self.max_connections.max(1),
            shutdown_delay: Duration::from_millis(self.shutdown_delay_ms),
            drain_timeout: Duration::from_millis(self.drain_timeout_ms),
        }
    }
}

/// See the module documentation.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_delay: Duration,
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            shutdown_delay: Duration::ZERO,
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// Binds `addr`, with an error that says which address could not be taken.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|error| format!("cannot listen on {addr}: {error}"))
}

/// Serves `app` within `limits` until `shutdown` resolves; then `/readyz` answers 503 while it
/// goes on serving for the shutdown delay, and after that it stops accepting and lets the
/// connections finish their requests (for at most the drain timeout).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    raise_open_file_limit();
    let draining = Draining::default();
    let app = crate::service::around(
        app,
        ServiceBuilder::new()
            .layer(middleware::from_fn_with_state(limits, guard))
            .layer(Extension(draining.clone())),
    );
    let shutdown = async {
        shutdown.await;
        draining.start();
        if !limits.shutdown_delay.is_zero() {
            tracing::info!(
                "/readyz answers 503 now; still serving for {:?}",
                limits.shutdown_delay
            );
            tokio::time::sleep(limits.shutdown_delay).await;
        }
    };
    let reserve_app = crate::service::around(app.clone(), middleware::from_fn(health_only));
    let regular = Arc::new(Semaphore::new(limits.max_connections));
    let reserve = Arc::new(Semaphore::new(RESERVE));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_headers(MAX_HEADERS * 2);
    let mut one_request = builder.clone();
    one_request.keep_alive(false);
    let graceful = GracefulShutdown::new();
    let mut accept_errors = AcceptErrors::default();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    accept_errors.pause(&error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let (permit, service, http) = match Arc::clone(&regular).try_acquire_owned() {
            Ok(permit) => (permit, app.clone(), &builder),
            Err(_) => match Arc::clone(&reserve).try_acquire_owned() {
                Ok(permit) => (permit, reserve_app.clone(), &one_request),
                Err(_) => continue, // dropped: closed at once
            },
        };
        let _ = stream.set_nodelay(true);
        let connection = graceful.watch(http.serve_connection(
            TokioIo::new(ProblemIo::new(stream)),
            TowerToHyperService::new(service),
        ));
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still in flight after {:?}; closing their connections",
            limits.drain_timeout
        );
    }
}

/// Accept errors (out of file descriptors, mostly) pause accepting briefly instead of spinning,
/// and are logged at most once a second.
#[derive(Default)]
struct AcceptErrors {
    last_logged: Option<Instant>,
}

impl AcceptErrors {
    async fn pause(&mut self, error: &std::io::Error) {
        if self
            .last_logged
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(1))
        {
            tracing::warn!("cannot accept a connection: {error}; pausing accepts for 50 ms");
            self.last_logged = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Per request: the target and header sizes, a deadline on the body (read by the handler,
/// after authentication, so a stranger cannot make the process buffer bodies), and the answer
/// within the request timeout. Each refusal is a problem.
async fn guard(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let uri = request.uri();
    let target = uri
        .path_and_query()
        .map_or(0, |target| target.as_str().len())
        + uri
            .authority()
            .map_or(0, |authority| authority.as_str().len());
    if target > MAX_URI {
        return Problem::new(ProblemType::URI_TOO_LONG)
            .detail(format!("the request target is over {MAX_URI} bytes"))
            .into_response();
    }
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES || request.headers().len() > MAX_HEADERS {
        return Problem::new(ProblemType::HEADERS_TOO_LARGE)
            .detail(format!(
                "send at most {MAX_HEADERS} headers and {MAX_HEADER_BYTES} bytes of them"
            ))
            .into_response();
    }
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let request = if request.body().is_end_stream() {
        request
    } else {
        request.map(|body| Body::new(DeadlineBody::new(body, limits.body_timeout)))
    };
    match tokio::time::timeout(limits.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!("{method} {path}: not answered within the request timeout");
            Problem::new(ProblemType::UNAVAILABLE)
                .detail(format!(
                    "the request was not answered within {} ms",
                    limits.request_timeout.as_millis()
                ))
                .into_response()
        }
    }
}

/// The body did not arrive in full within the body timeout.
#[derive(Debug)]
pub struct BodyTimeout;

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the body did not arrive in time")
    }
}

impl std::error::Error for BodyTimeout {}

/// Whether `error`, or what caused it, is a [`BodyTimeout`].
pub fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if error.is::<BodyTimeout>() {
            return true;
        }
        cause = error.source();
    }
    false
}

/// A request body that fails with [`BodyTimeout`] once its deadline passes, however the bytes
/// trickle in: one deadline for the whole body, counted from when the request arrived.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl DeadlineBody {
    fn new(inner: Body, timeout: Duration) -> DeadlineBody {
        DeadlineBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

impl http_body::Body for DeadlineBody {
    type Data = axum::body::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|frame| frame.map_err(Into::into))),
            Poll::Pending if this.deadline.as_mut().poll(cx).is_ready() => {
                Poll::Ready(Some(Err(Box::new(BodyTimeout))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A connection past the cap: health checks as usual, anything else a 503.
async fn health_only(request: Request, next: Next) -> Response {
    if matches!(request.uri().path(), "/healthz" | "/readyz") {
        return next.run(request).await;
    }
    let mut response = Problem::new(ProblemType::UNAVAILABLE)
        .detail("too many connections; retry shortly")
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// Lets this process open as many files (and so sockets) as the hard limit allows.
fn raise_open_file_limit() {
    // SAFETY: getrlimit/setrlimit with a valid resource and a pointer to a local struct.
    unsafe {
        let mut limit = std::mem::zeroed::<libc::rlimit>();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}

/// One process of the federation, as its `main` starts it: a service's `main` is
/// `nfip_kit::main!("billing", nfip_billing::openapi, run);` (see [`crate::main!`]), the
/// gateway builds its own.
#[derive(Debug, Clone)]
pub struct Process {
    /// Its name in logs and traces: `gateway`, `risk`, ...
    pub name: &'static str,
    pub listen: SocketAddr,
    pub print_openapi: bool,
    pub openapi: fn() -> utoipa::openapi::OpenApi,
    pub serve: ServeArgs,
    pub db: crate::db::DbArgs,
    pub log: crate::telemetry::LogArgs,
}

impl Process {
    /// What every `main` does, in order: with `--probe`, check the process already listening
    /// and exit with its verdict; with `--print-openapi`, print the spec and exit; otherwise
    /// apply the database settings, start logging (and tracing), and `run`, turning its error
    /// into a logged line and a failing exit code.
    pub async fn main(
        self,
        run: impl Future<Output = Result<(), String>>,
    ) -> std::process::ExitCode {
        if self.serve.probe {
            return probe(self.listen);
        }
        if self.print_openapi {
            print!("{}", crate::spec::to_json(&(self.openapi)()));
            return std::process::ExitCode::SUCCESS;
        }
        self.db.apply();
        let telemetry = crate::telemetry::init(&self.log, self.name);
        let outcome = run.await;
        if let Err(error) = &outcome {
            tracing::error!("{error}");
        }
        telemetry.shutdown();
        match outcome {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(_) => std::process::ExitCode::FAILURE,
        }
    }
}

/// [`ready`], as an exit code and a line on stderr.
pub fn probe(listen: SocketAddr) -> std::process::ExitCode {
    match ready(listen) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("{why}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `GET /readyz` on the process listening at `listen` (on loopback when it listens on every
/// address): ready only for a 200.
pub fn ready(listen: SocketAddr) -> Result<(), String> {
    use std::io::{BufRead, BufReader, Read, Write};
    let target = match listen.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => {
            SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, listen.port()))
        }
        ip if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, listen.port()))
        }
        _ => listen,
    };
    let ask = || -> std::io::Result<String> {
        let wait = Some(Duration::from_secs(2));
        let mut stream = std::net::TcpStream::connect_timeout(&target, Duration::from_secs(2))?;
        stream.set_read_timeout(wait)?;
        stream.set_write_timeout(wait)?;
        stream
            .write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
        let mut status = String::new();
        BufReader::new(stream.take(256)).read_line(&mut status)?;
        Ok(status.trim_end().to_owned())
    };
    match ask() {
        Ok(status) if status.starts_with("HTTP/1.1 200 ") => Ok(()),
        Ok(status) => Err(format!("{target}/readyz: not ready ({status})")),
        Err(error) => Err(format!("{target}/readyz: no answer ({error})")),
    }
}

unsafe extern "C" {
    /// mimalloc's: returns the memory it holds free to the system.
    fn mi_collect(force: bool);
}

/// Hands the heap that starting up used and freed (migrations, building the OpenAPI documents)
/// back to the system, so an idle process holds only what it uses. Both allocators keep freed
/// memory otherwise: glibc's, which SQLite uses, and mimalloc, every process's own
/// ([`crate::Allocator`]; where it is not the global allocator, it holds nothing to return).
fn release_startup_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it touches no live memory.
    unsafe {
        libc::malloc_trim(0);
    }
    // SAFETY: mi_collect only returns free memory; it touches no live allocation.
    unsafe { mi_collect(true) }
}

/// Binds `addr`, says where the service and its docs are, and serves until told to stop.
pub async fn run(name: &str, addr: SocketAddr, app: Router, limits: Limits) -> Result<(), String> {
    let listener = bind(addr).await?;
    let local = listener
        .local_addr()
        .map_err(|error| format!("cannot read the listening address: {error}"))?;
    tracing::info!("{name} listening on http://{local} (Swagger UI: http://{local}/docs)");
    release_startup_memory();
    serve(listener, app, limits, shutdown_signal()).await;
    tracing::info!("{name} stopped");
    Ok(())
}

/// The contents of the file a setting names, if it names one; what could not be read says
/// which setting named it, for the exit line.
pub fn read_setting_file(
    setting: &str,
    file: Option<&std::path::Path>,
) -> Result<Option<Vec<u8>>, String> {
    let read = |file: &std::path::Path| {
        std::fs::read(file).map_err(|e| format!("cannot read {setting} {}: {e}", file.display()))
    };
    file.map(read).transpose()
}
