//! Binding and serving with graceful shutdown.

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;

/// Binds `addr`, with an error that says which address could not be taken.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|error| format!("cannot listen on {addr}: {error}"))
}

/// Serves until SIGINT or SIGTERM, then stops accepting and lets in-flight requests finish.
pub async fn serve(listener: TcpListener, app: Router) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
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

/// What every `main` does: with `--print-openapi`, print the spec and exit; otherwise start
/// logging and `run`, turning its error into a logged line and a failing exit code.
pub async fn main(
    print_openapi: bool,
    openapi: fn() -> utoipa::openapi::OpenApi,
    run: impl Future<Output = Result<(), String>>,
) -> std::process::ExitCode {
    if print_openapi {
        print!("{}", crate::spec::to_json(&openapi()));
        return std::process::ExitCode::SUCCESS;
    }
    crate::telemetry::init();
    match run.await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Binds `addr`, says where the service and its docs are, and serves until told to stop.
pub async fn run(name: &str, addr: SocketAddr, app: Router) -> Result<(), String> {
    let listener = bind(addr).await?;
    let local = listener
        .local_addr()
        .map_err(|error| format!("cannot read the listening address: {error}"))?;
    tracing::info!("{name} listening on http://{local} (Swagger UI: http://{local}/docs)");
    serve(listener, app)
        .await
        .map_err(|error| format!("serving on {local} failed: {error}"))?;
    tracing::info!("{name} stopped");
    Ok(())
}
