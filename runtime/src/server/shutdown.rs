//! Graceful shutdown: stop accepting, close every connection with 1001,
//! wait for them up to `drain_timeout`.

use std::sync::Arc;

use tokio::sync::watch;

/// Triggers the graceful shutdown of a running server. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ShutdownHandle(pub(crate) Arc<watch::Sender<bool>>);

impl ShutdownHandle {
    pub(crate) fn new() -> Self {
        ShutdownHandle(Arc::new(watch::channel(false).0))
    }

    /// Starts the shutdown (idempotent).
    pub fn shutdown(&self) {
        self.0.send_replace(true);
    }

    /// Resolves once the shutdown was started.
    pub(crate) async fn requested(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|down| *down).await;
    }
}
