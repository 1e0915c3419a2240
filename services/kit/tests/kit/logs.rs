//! The access log says each failed request once, with what went wrong.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::Request;
use nfip_kit::auth::Callers;
use nfip_kit::db::{Backend, Db};
use nfip_kit::{Problem, ProblemType};
use nfip_kit_test::TestDatabase;
use tower::ServiceExt;
use utoipa_axum::router::OpenApiRouter;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_5xx_is_logged_once_with_its_detail() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);
    let database = TestDatabase::create(Backend::Sqlite).await;
    let db = Db::connect(&database.url, &[]).await.unwrap();
    let api = OpenApiRouter::new().route(
        "/api/down",
        axum::routing::get(|| async {
            Problem::new(ProblemType::UNAVAILABLE)
                .detail("billing is unreachable: no connection could be made")
        }),
    );
    let app = nfip_kit::service::app(api, (), db, Callers::single("gateway", "k"));
    let request = Request::get("/api/down")
        .header("authorization", "Bearer k")
        .body(Body::empty())
        .unwrap();
    let answer = app.oneshot(request).await.unwrap();
    assert_eq!(answer.status(), 503);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("/api/down")).collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].contains("WARN"), "{text}");
    assert!(
        lines[0].contains("GET /api/down -> 503 in ")
            && lines[0].contains("ms: billing is unreachable: no connection could be made"),
        "{text}"
    );
}
