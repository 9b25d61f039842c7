//! [`Connect`]: an upgrade request to a [`TestServer`](super::TestServer),
//! with the headers, origin, subprotocols and client address of your
//! choosing, answered by the same HTTP code as on a real socket.
//!
//! Invariant: nothing but the transport differs from a TCP client: the
//! request goes through `Embedded::serve_connection` (hyper, the origin
//! policy, caps, validators, metrics) over `tokio::io::duplex`.

use std::net::SocketAddr;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue, SEC_WEBSOCKET_PROTOCOL};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::Error as WsError;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::client::TestClient;
use super::error::{Refused, TestError};
use crate::server::Embedded;

/// Bytes the in-memory pipe holds in each direction (a message larger
/// than this streams through it).
const PIPE_BYTES: usize = 64 * 1024;

/// The client's read chunk. tungstenite zero-fills its whole read chunk
/// before every read; with its default (128 KiB) that memset was 43% of a
/// kit round trip's time (perf), for test messages of a few bytes.
/// Larger messages take several reads.
const CLIENT_READ_BUFFER: usize = 4096;

/// An upgrade request being built: from
/// [`TestServer::request`](super::TestServer::request).
///
/// ```
/// # use wirehub::prelude::*;
/// # #[ws_route("/connect/echo", origins = ["https://app.example"])]
/// # async fn echo(text: String) -> String { text }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = wirehub::testing::TestServer::new(App::empty().route("/connect/echo")).await?;
/// let refused = server.request("/connect/echo").origin("https://evil.example").expect_refused().await;
/// assert_eq!(refused.status, 403);
/// let client = server.request("/connect/echo").origin("https://app.example").connect().await?;
/// # drop(client);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until `connect` or `expect_refused`"]
pub struct Connect<'s> {
    app: &'s Embedded,
    path: String,
    headers: Vec<(String, String)>,
    peer: SocketAddr,
    timeout: Duration,
    wait_open: bool,
}

impl<'s> Connect<'s> {
    pub(super) fn new(app: &'s Embedded, path: &str, peer: SocketAddr, timeout: Duration) -> Self {
        Connect { app, path: path.to_owned(), headers: Vec::new(), peer, timeout, wait_open: true }
    }

    /// Sets a request header (replacing one of the same name, `Host`
    /// included; the client sends `Host: localhost`).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sends `Origin: origin`, as a browser does.
    pub fn origin(self, origin: &str) -> Self {
        self.header("origin", origin)
    }

    /// Sends `Authorization: Bearer token`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// Offers these subprotocols (`Sec-WebSocket-Protocol`), in this order.
    pub fn protocols<S: AsRef<str>>(self, protocols: impl IntoIterator<Item = S>) -> Self {
        let list: Vec<String> = protocols.into_iter().map(|p| p.as_ref().to_owned()).collect();
        self.header(SEC_WEBSOCKET_PROTOCOL.as_str(), &list.join(", "))
    }

    /// The client's address as the server sees it (per-IP caps and rates,
    /// `Conn::peer_addr`, trusted proxies). Default: `127.0.0.1`, a port of
    /// its own per client.
    pub fn peer(mut self, peer: SocketAddr) -> Self {
        self.peer = peer;
        self
    }

    /// How long the client's receives and sends wait (default: the server's).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether [`connect`](Connect::connect) returns only once the server
    /// opened the connection (registered it, joined its `broadcast` room,
    /// ran `on_open`), which it learns from the pong of one ping. Default:
    /// yes. `false` returns right after the `101` answer; then the
    /// connection may not be in the hub yet, and the server never sees
    /// that ping (a handler taking `Message` would).
    pub fn wait_open(mut self, wait: bool) -> Self {
        self.wait_open = wait;
        self
    }

    /// Sends the upgrade request: a connected client, or
    /// [`TestError::Refused`] with the status and body of a refusal.
    pub async fn connect(self) -> Result<TestClient, TestError> {
        let request = self.request()?;
        let (client_io, server_io) = tokio::io::duplex(PIPE_BYTES);
        tokio::spawn(self.app.serve_connection(server_io, self.peer));
        let config = WebSocketConfig::default().read_buffer_size(CLIENT_READ_BUFFER);
        let handshake = tokio_tungstenite::client_async_with_config(request, client_io, Some(config));
        let (ws, response) = match tokio::time::timeout(self.timeout, handshake).await {
            Ok(Ok(done)) => done,
            Ok(Err(WsError::Http(response))) => {
                let status = response.status().as_u16();
                let body = response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default().into_owned();
                return Err(TestError::Refused(Refused { status, body }));
            }
            Ok(Err(e)) => return Err(TestError::Handshake(e.to_string())),
            Err(_) => return Err(TestError::Handshake(format!("no answer within {:?}", self.timeout))),
        };
        let protocol = response.headers().get(SEC_WEBSOCKET_PROTOCOL).and_then(|p| p.to_str().ok()).map(str::to_owned);
        let mut client = TestClient::new(ws, self.peer, protocol, self.timeout);
        if self.wait_open {
            client.wait_open().await?;
        }
        Ok(client)
    }

    /// Sends the upgrade request and returns the refusal; panics if the
    /// server accepted it (or the request failed otherwise).
    pub async fn expect_refused(self) -> Refused {
        let path = self.path.clone();
        match self.connect().await {
            Err(TestError::Refused(refused)) => refused,
            Ok(_) => panic!("expected the upgrade of {path} to be refused, but the server accepted it"),
            Err(other) => panic!("expected the upgrade of {path} to be refused, but {other}"),
        }
    }

    /// The upgrade request: the client handshake's, plus the headers asked for.
    fn request(&self) -> Result<http::Request<()>, TestError> {
        let invalid = |what: String| TestError::Handshake(what);
        if !self.path.starts_with('/') {
            return Err(invalid(format!("the path {:?} must start with `/`", self.path)));
        }
        let url = format!("ws://localhost{}", self.path);
        let mut request = url.into_client_request().map_err(|e| invalid(format!("path {:?}: {e}", self.path)))?;
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| invalid(format!("header {name:?}: {e}")))?;
            let value = HeaderValue::from_str(value).map_err(|e| invalid(format!("header {name}: {value:?}: {e}")))?;
            request.headers_mut().insert(name, value);
        }
        Ok(request)
    }
}
