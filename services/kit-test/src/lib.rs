//! Test support shared by every crate's tests, a dev-dependency only: a fresh database on either
//! backend that removes itself when dropped (also when the test panics), an app served on
//! `127.0.0.1:0` with a client that calls it as the gateway does, service binaries to kill, and
//! the spec drift tests.
//!
//! PostgreSQL tests connect to `NFIP_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and create a database per test.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, header};
use sqlx::{Connection, Executor};
use tokio::net::TcpListener;
use uuid::Uuid;

use nfip_kit::auth::Callers;
pub use nfip_kit::db::Backend;
use nfip_kit::serve::Limits;

/// The key tests present to a service, as the gateway does, and the caller it names.
pub const CALLER_KEY: &str = "test-caller-key";
pub const CALLER: &str = "gateway";

/// The registry a service under test trusts: [`CALLER`] with [`CALLER_KEY`].
pub fn callers() -> Callers {
    Callers::single(CALLER, CALLER_KEY)
}

/// `Authorization: Bearer` [`CALLER_KEY`], for a test's HTTP client.
pub fn caller_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {CALLER_KEY}")).expect("an ASCII header"),
    );
    headers
}

/// Email addresses, each with whether the services take it: the cases kit's rule
/// (`nfip_kit::validate::email`) is tested on, and on which every spec's published pattern must
/// agree with it.
pub const EMAILS: &[(&str, bool)] = &[
    ("a@b.co", true),
    ("first.last+tag@example.org", true),
    ("o'brien@mail-1.example.ie", true),
    ("", false),
    ("a", false),
    ("a@b", false),
    ("@b.co", false),
    ("a@@b.co", false),
    ("a b@c.co", false),
    ("a@.co", false),
    ("a@b..co", false),
    ("a@b.co.", false),
    ("a,b@c.co", false),
    ("a<b@c.co", false),
    ("a(b)@c.co", false),
    ("\"a b\"@c.co", false),
    ("a@[127.0.0.1]", false),
    (".a@b.co", false),
    ("a.@b.co", false),
    ("a..b@c.co", false),
    ("a@-b.co", false),
    ("a@b-.co", false),
    ("a@b.123", false),
    ("a@b.1a", false),
    ("ä@b.co", false),
    ("a@b\u{202e}.co", false),
    ("a@b.co\n", false),
    ("Ada <a@b.co>", false),
];

pub const POSTGRES_ENV: &str = "NFIP_TEST_POSTGRES_URL";
pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// An empty database for one test, removed when dropped.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Files(PathBuf),
    Database { admin_url: String, name: String },
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> TestDatabase {
        sqlx::any::install_default_drivers();
        let id = Uuid::new_v4().simple().to_string();
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join("nfip-tests");
                std::fs::create_dir_all(&dir).expect("create the test database directory");
                let file = dir.join(format!("{id}.db"));
                TestDatabase {
                    url: format!("sqlite://{}", file.display()),
                    backend,
                    cleanup: Cleanup::Files(file),
                }
            }
            Backend::Postgres => {
                let admin_url =
                    std::env::var(POSTGRES_ENV).unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned());
                let name = format!("nfip_test_{id}");
                let mut admin = sqlx::AnyConnection::connect(&admin_url).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL tests need a server at {admin_url} ({e}); start it, or point \
                         {POSTGRES_ENV} at one"
                    )
                });
                admin
                    .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .expect("create the test database");
                let _ = admin.close().await;
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url.as_str(), |(base, _)| base);
                TestDatabase {
                    url: format!("{base}/{name}"),
                    backend,
                    cleanup: Cleanup::Database { admin_url, name },
                }
            }
        }
    }
}

/// Removes the database (its files, or the PostgreSQL database, forcing connections off) when the
/// test ends, however it ends.
impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Files(file) => {
                for suffix in ["", "-wal", "-shm", ".migrate-lock"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
                }
            }
            Cleanup::Database { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // On a thread of its own, with a runtime of its own: the test's runtime may be
                // single-threaded, or gone with a panic.
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime to drop the test database");
                    runtime.block_on(drop_database(&admin_url, &name));
                });
                let _ = dropped.join();
            }
        }
    }
}

async fn drop_database(admin_url: &str, name: &str) {
    if let Ok(mut admin) = sqlx::AnyConnection::connect(admin_url).await {
        let _ = admin
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .await;
        let _ = admin.close().await;
    }
}

/// An app served in the background on `127.0.0.1:0`.
#[derive(Debug)]
pub struct TestServer {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// Serves `app` as `main` does, with the default limits.
    pub async fn spawn(app: Router) -> TestServer {
        TestServer::spawn_with(app, Limits::default()).await
    }

    pub async fn spawn_with(app: Router, limits: Limits) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(nfip_kit::serve::serve(
            listener,
            app,
            limits,
            std::future::pending(),
        ));
        TestServer { addr, task }
    }

    /// `http://127.0.0.1:<port><path>`
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops serving (the port is released; open connections are dropped).
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Declares each async test once and runs it on both backends:
/// `name::sqlite` and `name::postgres`. The test receives a fresh [`TestDatabase`], removed
/// when the test ends.
///
/// ```ignore
/// nfip_kit_test::backend_tests! {
///     async fn creates_a_policy(db) {
///         let app = spawn_app(&db).await;
///         ...
///     }
/// }
/// ```
#[macro_export]
macro_rules! backend_tests {
    ($(
        $(#[$meta:meta])*
        async fn $name:ident($db:ident) $body:block
    )*) => {$(
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($db: &$crate::TestDatabase) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::TestDatabase::create($crate::Backend::Sqlite).await;
                run(&db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = $crate::TestDatabase::create($crate::Backend::Postgres).await;
                run(&db).await;
            }
        }
    )*};
}

/// A service binary running as its own process, for tests that kill it.
#[derive(Debug)]
pub struct ServiceProcess {
    pub addr: SocketAddr,
    child: tokio::process::Child,
}

impl ServiceProcess {
    /// Starts `binary` with `args` (which should include `--listen 127.0.0.1:0`) and waits, up
    /// to 30 s, for the line in which it says where it listens.
    pub async fn start(binary: &str, args: &[&str]) -> ServiceProcess {
        ServiceProcess::start_with_env(binary, args, &[]).await
    }

    /// [`ServiceProcess::start`], with more environment variables.
    pub async fn start_with_env(
        binary: &str,
        args: &[&str],
        env: &[(&str, String)],
    ) -> ServiceProcess {
        use tokio::io::{AsyncBufReadExt, BufReader};

        let mut child = tokio::process::Command::new(binary)
            .args(args)
            .env("RUST_LOG", "info")
            .env("API_CALLERS", nfip_kit::auth::entry(CALLER, CALLER_KEY))
            .envs(env.iter().map(|(name, value)| (name, value)))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {binary}: {e}"));
        let mut lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
        let mut seen = Vec::new();
        let found = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or_default();
                    return addr.parse::<SocketAddr>().ok();
                }
                seen.push(line);
            }
            None
        })
        .await;
        let Ok(Some(addr)) = found else {
            panic!(
                "{binary} did not say where it listens; it printed:\n{}",
                seen.join("\n")
            );
        };
        // Keep draining its log so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        ServiceProcess { addr, child }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// SIGKILL: no shutdown, no flushing — what a crash looks like.
    pub async fn kill9(mut self) {
        self.child.kill().await.expect("kill the process");
    }

    /// SIGTERM, as an orchestrator stops a process; returns how it exited.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("the process is running");
        let pid = i32::try_from(pid).expect("a pid fits an i32");
        // SAFETY: kill(2) on a child this test started; no memory is involved.
        let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(sent, 0, "SIGTERM reaches the process");
        tokio::time::timeout(std::time::Duration::from_secs(20), self.child.wait())
            .await
            .expect("the process exits within 20 s of SIGTERM")
            .expect("its exit status")
    }
}

/// Polls `probe` every 10 ms until it returns `Some`, and fails the test with `what` if that
/// takes longer than `deadline`. For waiting on background work without sleeping blindly.
pub async fn eventually<T, F, Fut>(what: &str, deadline: std::time::Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = std::time::Instant::now();
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(10));
    loop {
        tick.tick().await;
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            started.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
    }
}

/// An app served on `127.0.0.1:0`, and a client that calls it as the gateway calls a service:
/// with [`CALLER_KEY`].
#[derive(Debug)]
pub struct TestClient {
    pub server: TestServer,
    pub http: reqwest::Client,
}

impl TestClient {
    pub async fn spawn(app: Router) -> TestClient {
        TestClient {
            server: TestServer::spawn(app).await,
            http: reqwest::Client::builder()
                .default_headers(caller_headers())
                .build()
                .expect("an HTTP client"),
        }
    }

    /// `http://127.0.0.1:<port><path>`
    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// A request to `path`, not sent yet.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path).fetch().await
    }

    pub async fn post(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.request(reqwest::Method::POST, path)
            .json(body)
            .fetch()
            .await
    }

    /// A POST of `body` as it is, with `content_type` if any: what a typed client never sends.
    pub fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::RequestBuilder {
        let request = self.request(reqwest::Method::POST, path).body(body);
        match content_type {
            Some(content_type) => request.header("content-type", content_type),
            None => request,
        }
    }

    /// Checks that the undo (a cancel, a void) at `path` is idempotent: posted twice, it is
    /// answered 200 both times, the second time with the first answer unchanged. Returns that
    /// answer.
    pub async fn undone_twice(&self, path: &str) -> serde_json::Value {
        let first = self.post(path, &serde_json::Value::Null).await;
        assert_eq!(first.status(), 200, "{path}");
        let first: serde_json::Value = first.json().await.expect("the answer is JSON");
        let again = self.post(path, &serde_json::Value::Null).await;
        assert_eq!(again.status(), 200, "{path} again");
        let again: serde_json::Value = again.json().await.expect("the answer is JSON");
        assert_eq!(again, first, "unchanged");
        first
    }

    /// Checks kit's idempotent create on `path`: `body` posted twice with one Idempotency-Key
    /// is made once (201 or 202; the second answer has the first's status and is marked
    /// `Idempotent-Replayed`), and `other` with the same key is refused as the key reused.
    /// Returns the first and the second answer's bodies.
    pub async fn made_once(
        &self,
        path: &str,
        body: &serde_json::Value,
        other: &serde_json::Value,
    ) -> (serde_json::Value, serde_json::Value) {
        let send = |body| {
            let request = self.request(reqwest::Method::POST, path);
            request
                .header("idempotency-key", "purchase-1/made-once")
                .json(body)
                .fetch()
        };
        let first = send(body).await;
        let made = first.status();
        assert!(
            matches!(made.as_u16(), 201 | 202),
            "created, or accepted: {made}"
        );
        assert!(first.headers().get("idempotent-replayed").is_none());
        let again = send(body).await;
        assert_eq!(again.status(), made);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        let refused = problem(send(other).await, 422).await;
        assert_eq!(refused["type"], "urn:nfip:problem:idempotency-key-reused");
        let first = first.json().await.expect("the first answer is JSON");
        (first, again.json().await.expect("the replay is JSON"))
    }
}

/// A service's app served for a test: a [`TestClient`] that calls it as the gateway does (what
/// it derefs to), and the service's store, which the test reads and writes directly.
#[derive(Debug)]
pub struct TestApp<S> {
    pub client: TestClient,
    pub store: S,
}

impl<S: Clone> TestApp<S> {
    /// Opens the store on `db` with `connect`, and serves the app `app` builds on it.
    pub async fn spawn<E: std::fmt::Debug>(
        db: &TestDatabase,
        connect: impl AsyncFnOnce(&str) -> Result<S, E>,
        app: impl FnOnce(S) -> Router,
    ) -> TestApp<S> {
        let store = connect(&db.url).await.expect("the store opens");
        let client = TestClient::spawn(app(store.clone())).await;
        TestApp { client, store }
    }
}

impl<S> std::ops::Deref for TestApp<S> {
    type Target = TestClient;

    fn deref(&self) -> &TestClient {
        &self.client
    }
}

/// Runs `work` as another process would: on a thread of its own, in a runtime of its own.
/// For processes sharing one SQLite file: SQLite makes a writer wait for the write lock by
/// blocking its thread, which in a shared runtime could be the thread the lock's holder needs.
pub fn as_a_process<F>(work: F) -> std::thread::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(work)
    })
}

/// Rows in `from` (a table, and a `WHERE` if wanted), counted directly in the database.
pub async fn count_rows(db: &nfip_kit::Db, from: &str) -> i64 {
    nfip_kit::db::query(format!("SELECT COUNT(*) AS n FROM {from}"))
        .fetch_one(db)
        .await
        .expect("the rows are counted")
        .get("n")
}

/// A request sent, failing the test if it is not answered, and its answer read.
pub trait Fetch {
    fn fetch(self) -> impl Future<Output = reqwest::Response>;
    fn fetch_json<T: serde::de::DeserializeOwned>(self) -> impl Future<Output = T>;
    fn fetch_text(self) -> impl Future<Output = String>;
    /// The answer checked by [`problem`], and its body.
    fn fetch_problem(self, status: u16) -> impl Future<Output = serde_json::Value>;
}

impl Fetch for reqwest::RequestBuilder {
    async fn fetch(self) -> reqwest::Response {
        self.send().await.expect("the request is answered")
    }

    async fn fetch_json<T: serde::de::DeserializeOwned>(self) -> T {
        self.fetch().await.json().await.expect("the answer is JSON")
    }

    async fn fetch_text(self) -> String {
        self.fetch().await.text().await.expect("the answer is text")
    }

    async fn fetch_problem(self, status: u16) -> serde_json::Value {
        problem(self.fetch().await, status).await
    }
}

/// Checks that `response` is a problem (`application/problem+json`) with `status`, and returns
/// its body.
pub async fn problem(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "status");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status, "{body}");
    body
}

/// Fails, with a diff and the command that fixes it, when the committed file is not what the
/// code generates.
pub fn assert_committed(openapi: &utoipa::openapi::OpenApi, committed: &std::path::Path) {
    let generated = nfip_kit::spec::to_json(openapi);
    let on_disk = std::fs::read_to_string(committed).unwrap_or_default();
    if on_disk == generated {
        return;
    }
    let diff = similar::TextDiff::from_lines(&on_disk, &generated)
        .unified_diff()
        .context_radius(3)
        .header(
            &committed.display().to_string(),
            "generated from the handlers",
        )
        .to_string();
    panic!(
        "\n{} is out of date with the code.\n\n{diff}\n\
         If the change is intended, run `just openapi` and commit the file \
         (check `just openapi-breaking` for breaking changes).\n",
        committed.display()
    );
}

/// The spec drift tests of a crate: the committed spec (at `$committed`, relative to the
/// crate) is what `$openapi()` generates, and what the app `$spawn` starts on a fresh SQLite
/// database `$db` serves at `/openapi.json`. `$spawn` evaluates to a future of anything with a
/// `get` like [`TestClient::get`].
///
/// ```ignore
/// nfip_kit_test::spec_tests!("../../openapi/billing.json", nfip_billing::openapi, |db| spawn_app(&db));
/// ```
#[macro_export]
macro_rules! spec_tests {
    ($committed:literal, $openapi:path, |$db:ident| $spawn:expr) => {
        const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/", $committed);

        #[test]
        fn committed_spec_is_up_to_date() {
            $crate::assert_committed(&$openapi(), std::path::Path::new(COMMITTED));
        }

        #[tokio::test]
        async fn served_spec_is_the_committed_file() {
            let $db = $crate::TestDatabase::create($crate::Backend::Sqlite).await;
            let app = $spawn.await;
            let served = app.get("/openapi.json").await.text().await.unwrap();
            assert_eq!(served, std::fs::read_to_string(COMMITTED).unwrap());
        }
    };
}

/// Log lines captured for a test to read: install it with [`CapturedLogs::install`] on a
/// current-thread runtime, so the tasks the test spawns log into it too.
///
/// One subscriber is set globally, once, and routes each line to the capture installed on the
/// thread that logs it (other threads' lines are dropped). A per-test `set_default` would
/// register and drop a dispatcher per test, and a callsite another test's thread registers at
/// that moment can cache "never enabled" for good: the line this test waits for never comes.
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<CapturedLogs>> = const { std::cell::RefCell::new(None) };
}

/// Routes this thread's lines to a [`CapturedLogs`] until dropped; then to the capture
/// installed before it, if any.
#[must_use = "lines are captured only while the guard lives"]
pub struct CaptureGuard(Option<CapturedLogs>);

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        let previous = self.0.take();
        let _ = CAPTURE.try_with(|capture| *capture.borrow_mut() = previous);
    }
}

impl CapturedLogs {
    /// Captures this thread's log lines until the guard is dropped.
    pub fn install(&self) -> CaptureGuard {
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_writer(ThreadCapture)
                .with_ansi(false)
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in a test binary that captures logs");
            // Callsites registered before the subscriber existed cached "never": ask again.
            tracing::callsite::rebuild_interest_cache();
        });
        CaptureGuard(CAPTURE.with(|capture| capture.borrow_mut().replace(self.clone())))
    }

    /// The lines so far that contain `text`.
    pub fn lines_with(&self, text: &str) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().expect("logs lock"))
            .lines()
            .filter(|line| line.contains(text))
            .map(str::to_owned)
            .collect()
    }
}

/// The global subscriber's writer: the calling thread's capture, if it has one.
struct ThreadCapture;

impl std::io::Write for ThreadCapture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        // A line logged while the thread's locals are torn down has nowhere to go.
        let _ = CAPTURE.try_with(|capture| {
            if let Some(logs) = capture.borrow().as_ref() {
                logs.0.lock().expect("logs lock").extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for ThreadCapture {
    type Writer = ThreadCapture;

    fn make_writer(&'a self) -> ThreadCapture {
        ThreadCapture
    }
}
