//! Test support shared by every crate's tests: a fresh database on either backend, and an app
//! served on `127.0.0.1:0`.
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

use crate::auth::Callers;
use crate::db::Backend;
use crate::serve::Limits;

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

pub const POSTGRES_ENV: &str = "NFIP_TEST_POSTGRES_URL";
pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// An empty database for one test. Call [`TestDatabase::drop`] at the end to remove it.
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

    /// Removes the database (its files, or the PostgreSQL database, forcing connections off).
    pub async fn drop(self) {
        match self.cleanup {
            Cleanup::Files(file) => {
                for suffix in ["", "-wal", "-shm", ".migrate-lock"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
                }
            }
            Cleanup::Database { admin_url, name } => {
                if let Ok(mut admin) = sqlx::AnyConnection::connect(&admin_url).await {
                    let _ = admin
                        .execute(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .await;
                    let _ = admin.close().await;
                }
            }
        }
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
        let task = tokio::spawn(crate::serve::serve(
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
/// `name::sqlite` and `name::postgres`. The test receives a fresh [`TestDatabase`], dropped
/// after it passes.
///
/// ```ignore
/// nfip_kit::backend_tests! {
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

            async fn run($db: &$crate::testing::TestDatabase) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::testing::TestDatabase::create($crate::db::Backend::Sqlite).await;
                run(&db).await;
                db.drop().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = $crate::testing::TestDatabase::create($crate::db::Backend::Postgres).await;
                run(&db).await;
                db.drop().await;
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
        use tokio::io::{AsyncBufReadExt, BufReader};

        let mut child = tokio::process::Command::new(binary)
            .args(args)
            .env("RUST_LOG", "info")
            .env("API_CALLERS", crate::auth::entry(CALLER, CALLER_KEY))
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
