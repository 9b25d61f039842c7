//! [`shutdown_signal`]: what stops a server in production: Ctrl-C in a
//! terminal, SIGTERM from a container runtime, systemd or Kubernetes.

/// Resolves on the first Ctrl-C (SIGINT) or, on Unix, SIGTERM. What
/// [`App::serve`](crate::App::serve) waits for; give it to another server's
/// graceful shutdown (axum's `with_graceful_shutdown`) when embedding.
///
/// ```no_run
/// # async fn f() -> wirehub::Result<()> {
/// let app = wirehub::App::new().build().await?;
/// wirehub::shutdown_signal().await;
/// app.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No SIGINT handler could be installed: only SIGTERM stops us.
            std::future::pending::<()>().await;
        }
        tracing::info!("Ctrl-C: shutting down");
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
                tracing::info!("SIGTERM: shutting down");
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
