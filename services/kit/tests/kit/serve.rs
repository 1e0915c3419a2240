//! Stopping as an orchestrator expects: unready first, then drained, then closed.

use std::time::Duration;

use tokio::net::TcpListener;
use utoipa_axum::router::OpenApiRouter;

use nfip_kit::auth::Callers;
use nfip_kit::db::{Backend, Db};
use nfip_kit::serve::{Limits, ready, serve};
use nfip_kit_test::{TestDatabase, eventually};

async fn ready_at(addr: std::net::SocketAddr) -> Result<(), String> {
    tokio::task::spawn_blocking(move || ready(addr))
        .await
        .unwrap()
}

#[tokio::test]
async fn told_to_stop_it_turns_unready_serves_the_delay_out_then_closes() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let db = Db::connect(&database.url, &[]).await.unwrap();
    let api = OpenApiRouter::new().route("/api/ping", axum::routing::get(|| async { "pong" }));
    let app = nfip_kit::service::app(api, (), db, Callers::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let limits = Limits {
        shutdown_delay: Duration::from_secs(3),
        ..Limits::default()
    };
    let server = tokio::spawn(serve(listener, app, limits, async {
        let _ = stopped.await;
    }));
    assert_eq!(ready_at(addr).await, Ok(()));

    stop.send(()).unwrap();
    let why = eventually("/readyz to answer 503", Duration::from_secs(2), || async {
        ready_at(addr).await.err()
    })
    .await;
    assert!(why.contains("503 Service Unavailable"), "{why}");
    // Still serving: a load balancer that has not noticed yet loses nothing.
    assert!(tokio::net::TcpStream::connect(addr).await.is_ok());

    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops after the delay")
        .unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    let why = ready_at(addr).await.unwrap_err();
    assert!(why.contains("no answer"), "{why}");
}
