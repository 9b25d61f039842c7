//! [`TestServer`]: an [`App`] built without a listener, which its clients
//! reach through in-memory pipes.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use super::client::TestClient;
use super::connect::Connect;
use super::error::TestError;
use crate::app::App;
use crate::hub::Hub;
use crate::server::Embedded;

/// How long receives, sends and handshakes wait unless told otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// An app served in memory: clients connect without a socket or a port,
/// through the same HTTP and connection code as on a listener.
///
/// ```
/// # use wirehub::prelude::*;
/// # #[ws_route("/server/room", broadcast = "lobby")]
/// # async fn lobby(text: String) -> String { text }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = wirehub::testing::TestServer::new(App::empty().route("/server/room")).await?;
/// let ann = server.connect("/server/room").await?;
/// assert_eq!(server.hub().members("lobby").len(), 1); // connect waits for the join
/// assert!(server.metrics().is_some_and(|text| text.contains("wirehub_connections_opened_total")));
/// drop(ann);
/// server.wait_idle().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TestServer {
    app: Embedded,
    timeout: Duration,
    /// The port of the next client's default address (`127.0.0.1:port`).
    next_port: AtomicU16,
}

impl TestServer {
    /// Builds `app` ([`App::build`]): its routes checked and mounted, its hub
    /// and drain ready. Fails as `build` does (a duplicate route, a missing
    /// state, ...).
    pub async fn new(app: App) -> crate::Result<TestServer> {
        Ok(TestServer { app: app.build().await?, timeout: DEFAULT_TIMEOUT, next_port: AtomicU16::new(1) })
    }

    /// Changes how long the clients connected from now on wait for each
    /// receive, send and handshake (default 5 s). Under tokio's paused
    /// clock (`#[tokio::test(start_paused = true)]`) a timeout elapses as
    /// soon as nothing else can run, so a long one costs no real time.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The app's hub: rooms, members, presence, sends from outside a handler.
    pub fn hub(&self) -> &Hub {
        self.app.hub()
    }

    /// The built app, to reach what the kit does not wrap.
    pub fn app(&self) -> &Embedded {
        &self.app
    }

    /// The Prometheus text exposition of the app's metrics (what
    /// `/metrics` serves), or `None` with `Config::metrics` off.
    pub fn metrics(&self) -> Option<String> {
        self.app.shared().metrics.as_ref().map(|metrics| metrics.render())
    }

    /// Connects a client to `path` (with its query, if any), waiting until
    /// the server opened the connection. A refused upgrade is
    /// [`TestError::Refused`]. For headers, an origin, subprotocols or
    /// another client address, see [`request`](TestServer::request).
    pub async fn connect(&self, path: &str) -> Result<TestClient, TestError> {
        self.request(path).connect().await
    }

    /// An upgrade request to `path` to complete before it is sent.
    pub fn request(&self, path: &str) -> Connect<'_> {
        // Skips port 0 when the counter wraps.
        let port = self.next_port.fetch_add(1, Ordering::Relaxed).max(1);
        Connect::new(&self.app, path, SocketAddr::from((Ipv4Addr::LOCALHOST, port)), self.timeout)
    }

    /// Waits until no connection is open (their close phases and cleanup
    /// done), within the timeout.
    pub async fn wait_idle(&self) -> Result<(), TestError> {
        let hub = &self.app.hub().0;
        match hub.wait_empty(self.timeout).await {
            true => Ok(()),
            false => Err(TestError::Timeout {
                expected: "every connection to end".to_owned(),
                waited: self.timeout,
                received: format!("{} connection(s) still open", hub.connections()),
            }),
        }
    }

    /// Shuts the app down as on a listener: every connection gets 1001,
    /// then up to `drain_timeout` to close. A client answers the close
    /// while it reads, so await its [`expect_close`](TestClient::expect_close)
    /// together with this (`tokio::join!`), or the drain waits for
    /// `close_timeout`.
    pub async fn shutdown(&self) {
        self.app.shutdown().await;
    }
}
