//! The access log says each failed request once, with what went wrong.

use axum::body::Body;
use axum::http::Request;
use nfip_kit::auth::Callers;
use nfip_kit::db::{Backend, Db};
use nfip_kit::{Problem, ProblemType};
use nfip_kit_test::{CapturedLogs, TestDatabase};
use tower::ServiceExt;
use utoipa_axum::router::OpenApiRouter;

#[tokio::test(flavor = "current_thread")]
async fn a_5xx_is_logged_once_with_its_detail() {
    let logs = CapturedLogs::default();
    let _logging = logs.install();
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
    let lines = logs.lines_with("/api/down");
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].contains("WARN"), "{lines:#?}");
    assert!(
        lines[0].contains("GET /api/down -> 503 in ")
            && lines[0].contains("ms: billing is unreachable: no connection could be made"),
        "{lines:#?}"
    );
}
