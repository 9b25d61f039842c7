//! [`TestClient`]: a WebSocket client on an in-memory pipe to a
//! [`TestServer`](super::TestServer), with receives that time out and say
//! what arrived instead.
//!
//! Invariants: every receive and send is bounded by the client's timeout
//! (5 s unless changed; under tokio's paused clock it elapses as soon as
//! nothing else can run); the server's pings are answered whenever the
//! client reads, and only then, so a client left unread looks dead to the
//! heartbeat; once the connection ended, every receive reports how.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::io::DuplexStream;
use tokio_tungstenite::WebSocketStream;

use super::error::TestError;
use super::history::{ClosedBy, Described, History};
use crate::close::CloseCode;
use crate::message::{CloseFrame, Message, Utf8Bytes};

/// A client connected to a [`TestServer`](super::TestServer) in memory.
/// Receives skip pings and pongs (the pings are answered); a receive that
/// gets something else than it expects fails with a [`TestError`] that
/// lists what the client received so far. The `expect_*` methods are the
/// same steps as assertions: they panic with that text.
///
/// ```
/// # use wirehub::prelude::*;
/// # #[ws_route("/client/echo")]
/// # async fn echo(text: String) -> String { text }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = wirehub::testing::TestServer::new(App::empty().route("/client/echo")).await?;
/// let mut client = server.connect("/client/echo").await?;
/// client.send_text("hi").await?;
/// assert_eq!(client.recv_text().await?, "hi");
/// client.recv_nothing(std::time::Duration::from_millis(10)).await?;
/// # Ok(())
/// # }
/// ```
pub struct TestClient {
    ws: WebSocketStream<DuplexStream>,
    /// Frames that arrived while [`connect`](super::TestServer::connect)
    /// waited for the connection to open: the next receives return them.
    early: VecDeque<Message>,
    history: History,
    /// How the connection ended, once it did.
    closed: Option<CloseFrame>,
    timeout: Duration,
    peer: SocketAddr,
    protocol: Option<String>,
}

impl std::fmt::Debug for TestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestClient")
            .field("peer", &self.peer)
            .field("protocol", &self.protocol)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

/// What a receive gets: a data message, or the end of the connection.
enum Event {
    Message(Message),
    Closed(CloseFrame),
}

/// What one read brought.
enum Read {
    Event(Event),
    /// A pong, which the open barrier looks for.
    Pong(bytes::Bytes),
    /// A ping (answered), or a raw frame.
    Skip,
}

impl TestClient {
    pub(super) fn new(
        ws: WebSocketStream<DuplexStream>,
        peer: SocketAddr,
        protocol: Option<String>,
        timeout: Duration,
    ) -> Self {
        TestClient { ws, early: VecDeque::new(), history: History::default(), closed: None, timeout, peer, protocol }
    }

    /// The address the server sees this client at (`Conn::peer_addr`).
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The subprotocol the server selected, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// How long each receive and send waits (5 s unless changed).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Changes how long each receive and send waits.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// How many pings the server sent so far (the heartbeat's); each was
    /// answered when the client read.
    pub fn pings(&self) -> u64 {
        self.history.pings()
    }

    /// How the connection ended, once a receive saw it end.
    pub fn closed(&self) -> Option<&CloseFrame> {
        self.closed.as_ref()
    }

    /// Sends a message (text, binary, or a control frame).
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), TestError> {
        if let Some(closed) = &self.closed {
            return Err(TestError::Send(format!("the connection is over: {}", ClosedBy(closed))));
        }
        let frame = message.into().into_wire();
        match tokio::time::timeout(self.timeout, self.ws.send(frame)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(TestError::Send(e.to_string())),
            Err(_) => Err(TestError::Send(format!("the server read nothing for {:?}", self.timeout))),
        }
    }

    /// Sends a text message.
    pub async fn send_text(&mut self, text: impl Into<Utf8Bytes>) -> Result<(), TestError> {
        self.send(Message::Text(text.into())).await
    }

    /// Sends a binary message.
    pub async fn send_binary(&mut self, bytes: impl Into<bytes::Bytes>) -> Result<(), TestError> {
        self.send(Message::Binary(bytes.into())).await
    }

    /// Sends `value` as a JSON text message.
    pub async fn send_json<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), TestError> {
        let text = serde_json::to_string(value).map_err(|e| TestError::Send(format!("not serializable: {e}")))?;
        self.send_text(text).await
    }

    /// The next text or binary message.
    pub async fn recv(&mut self) -> Result<Message, TestError> {
        match self.next_event(self.timeout).await {
            Some(Event::Message(message)) => Ok(message),
            Some(Event::Closed(closed)) => Err(self.unexpected("a message", ClosedBy(&closed))),
            None => Err(self.timed_out("a message", self.timeout)),
        }
    }

    /// The next message, which must be text.
    pub async fn recv_text(&mut self) -> Result<String, TestError> {
        match self.recv_kind("a text message").await? {
            Message::Text(text) => Ok(text.as_str().to_owned()),
            other => Err(self.unexpected("a text message", Described(&other))),
        }
    }

    /// The next message, which must be binary.
    pub async fn recv_binary(&mut self) -> Result<bytes::Bytes, TestError> {
        match self.recv_kind("a binary message").await? {
            Message::Binary(bytes) => Ok(bytes),
            other => Err(self.unexpected("a binary message", Described(&other))),
        }
    }

    /// The next message, which must be text (or binary) holding JSON of
    /// type `T`.
    pub async fn recv_json<T: DeserializeOwned>(&mut self) -> Result<T, TestError> {
        let expected = format!("JSON of type `{}`", std::any::type_name::<T>());
        let message = self.recv_kind(&expected).await?;
        let parsed = match &message {
            Message::Text(text) => serde_json::from_str(text.as_str()),
            Message::Binary(bytes) => serde_json::from_slice(bytes),
            other => return Err(self.unexpected(&expected, Described(other))),
        };
        parsed.map_err(|error| TestError::Json {
            expected,
            got: Described(&message).to_string(),
            error,
            received: self.history.to_string(),
        })
    }

    /// The end of the connection: the close frame's code and reason, code
    /// [`Status`](CloseCode::Status) (1005) for a frame without one, or
    /// [`Abnormal`](CloseCode::Abnormal) (1006) when the connection ended
    /// without a close frame (the reason then says what the client saw). A
    /// data message arriving first is an error.
    pub async fn recv_close(&mut self) -> Result<CloseFrame, TestError> {
        match self.next_event(self.timeout).await {
            Some(Event::Closed(closed)) => Ok(closed),
            Some(Event::Message(message)) => Err(self.unexpected("the close", Described(&message))),
            None => Err(self.timed_out("the close", self.timeout)),
        }
    }

    /// Succeeds when nothing arrives for `quiet` (pings are answered
    /// meanwhile); a message, or the end of the connection, is an error.
    pub async fn recv_nothing(&mut self, quiet: Duration) -> Result<(), TestError> {
        let expected = format!("nothing for {quiet:?}");
        match self.next_event(quiet).await {
            None => Ok(()),
            Some(Event::Message(message)) => Err(self.unexpected(&expected, Described(&message))),
            Some(Event::Closed(closed)) => Err(self.unexpected(&expected, ClosedBy(&closed))),
        }
    }

    /// Closes the connection with a close frame (code 1000) and waits for
    /// the server's answer, which it returns.
    pub async fn close(&mut self) -> Result<CloseFrame, TestError> {
        self.close_with(CloseCode::Normal, "").await
    }

    /// Closes the connection with this code and reason, and waits for the
    /// server's answer, which it returns (data messages that were already on
    /// their way are skipped).
    pub async fn close_with(&mut self, code: CloseCode, reason: &str) -> Result<CloseFrame, TestError> {
        if self.closed.is_none() {
            self.send(Message::Close(Some(CloseFrame::new(code, reason)))).await?;
        }
        loop {
            match self.next_event(self.timeout).await {
                Some(Event::Closed(closed)) => return Ok(closed),
                Some(Event::Message(_)) => continue,
                None => return Err(self.timed_out("the server's close", self.timeout)),
            }
        }
    }

    /// The next message for a receive that checks its kind: the close or a
    /// timeout is the error.
    async fn recv_kind(&mut self, expected: &str) -> Result<Message, TestError> {
        match self.next_event(self.timeout).await {
            Some(Event::Message(message)) => Ok(message),
            Some(Event::Closed(closed)) => Err(self.unexpected(expected, ClosedBy(&closed))),
            None => Err(self.timed_out(expected, self.timeout)),
        }
    }

    /// The next data message or the end of the connection, waiting at most
    /// `limit`; `None` when nothing came.
    async fn next_event(&mut self, limit: Duration) -> Option<Event> {
        if let Some(message) = self.early.pop_front() {
            return Some(Event::Message(message));
        }
        if let Some(closed) = &self.closed {
            return Some(Event::Closed(closed.clone()));
        }
        let read = async {
            loop {
                if let Read::Event(event) = self.read_frame().await {
                    return event;
                }
            }
        };
        tokio::time::timeout(limit, read).await.ok()
    }

    /// Waits until the server opened the connection: registered it, joined
    /// its room, ran `on_open`. The server's reader answers pings only then,
    /// so this sends one and waits for its pong; what arrives meanwhile is
    /// kept for the next receives. The end of the connection ends the wait
    /// too (the next receive reports it).
    pub(super) async fn wait_open(&mut self) -> Result<(), TestError> {
        const PAYLOAD: &[u8] = b"wirehub::testing open";
        self.send(Message::Ping(bytes::Bytes::from_static(PAYLOAD))).await?;
        let limit = self.timeout;
        let wait = async {
            loop {
                match self.read_frame().await {
                    Read::Pong(payload) if payload == PAYLOAD => return,
                    Read::Event(Event::Message(message)) => self.early.push_back(message),
                    Read::Event(Event::Closed(_)) => return,
                    Read::Pong(_) | Read::Skip => {}
                }
            }
        };
        match tokio::time::timeout(limit, wait).await {
            Ok(()) => Ok(()),
            Err(_) => Err(self.timed_out("the connection to open (the pong of the client's ping)", limit)),
        }
    }

    /// Reads one frame. A ping is answered by tungstenite on the next read
    /// or write.
    async fn read_frame(&mut self) -> Read {
        let frame = match self.ws.next().await {
            Some(Ok(frame)) => frame,
            Some(Err(e)) => return Read::Event(Event::Closed(self.dropped(&e.to_string()))),
            None => return Read::Event(Event::Closed(self.dropped("the connection ended"))),
        };
        let Some(message) = Message::from_wire(frame) else { return Read::Skip };
        self.history.record(&message);
        match message {
            Message::Ping(_) => Read::Skip,
            Message::Pong(payload) => Read::Pong(payload),
            Message::Close(frame) => {
                let closed = frame.unwrap_or_else(|| CloseFrame::new(CloseCode::Status, ""));
                self.closed = Some(closed.clone());
                // tungstenite queued our answer: send it now, so the server's
                // close phase ends (and its `on_close` runs) without waiting
                // for this client's next step.
                let _ = tokio::time::timeout(self.timeout, self.ws.flush()).await;
                Read::Event(Event::Closed(closed))
            }
            data => Read::Event(Event::Message(data)),
        }
    }

    /// Notes that the connection ended without a close frame.
    fn dropped(&mut self, what: &str) -> CloseFrame {
        let closed = CloseFrame::new(CloseCode::Abnormal, what);
        self.closed = Some(closed.clone());
        closed
    }

    /// The client's history, as failure messages show it.
    pub(super) fn history_text(&self) -> String {
        self.history.to_string()
    }

    fn unexpected(&self, expected: &str, got: impl std::fmt::Display) -> TestError {
        TestError::Unexpected {
            expected: expected.to_owned(),
            got: got.to_string(),
            received: self.history.to_string(),
        }
    }

    fn timed_out(&self, expected: &str, waited: Duration) -> TestError {
        TestError::Timeout { expected: expected.to_owned(), waited, received: self.history.to_string() }
    }
}
