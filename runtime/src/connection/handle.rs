//! [`Conn`]: the handle of one connection, cheap to clone and to keep.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use http::HeaderMap;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite;

use super::{CloseCode, CloseReason};
use super::{Env, RouteRt};
use crate::auth::{Handshake, Identity};
use crate::hub::Hub;
use crate::template::render_template;
use crate::message::{CloseFrame, Message};

/// A connection id, unique within the process and across the instances
/// sharing a backplane.
///
/// Opaque: it prints as a decimal number and serializes as a number (below
/// 2^53, so JavaScript clients read it exactly); either form parses back, for
/// clients that send an id back to address a connection:
///
/// ```
/// # fn f(conn: wirehub::Conn) {
/// let id = conn.id();
/// assert_eq!(id.to_string().parse::<wirehub::ConnId>(), Ok(id));
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ConnId(u64);

impl ConnId {
    /// The id with this wire form (the hub packs its instance and a counter
    /// into it; the Redis backplane carries it).
    pub(crate) const fn from_u64(raw: u64) -> Self {
        ConnId(raw)
    }

    /// The wire form.
    pub(crate) const fn to_u64(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for ConnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for ConnId {
    type Err = std::num::ParseIntError;

    /// Parses what `Display` printed.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse().map(ConnId)
    }
}

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Upgraded, not yet serving (the `on_open` hook runs in this state).
    Connecting,
    /// Serving messages.
    Open,
    /// A close was decided (by either side); no more messages are handled.
    Closing,
    /// Gone: the socket is released.
    Closed,
}

/// Why a message could not be queued for a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The connection is closing or closed.
    #[error("the connection is closed")]
    Closed,
    /// The connection's outbound queue is full (only from `try_send`).
    #[error("the connection's outbound queue is full")]
    Full,
}

/// The handle of one WebSocket connection.
///
/// Take it as a handler argument (`conn: Conn`); clone it freely and keep it
/// anywhere (a background task, another connection's handler). Once the
/// connection is gone, sends fail with [`SendError::Closed`].
#[derive(Clone)]
pub struct Conn(pub(crate) Arc<ConnInner>);

pub(crate) struct ConnInner {
    pub(crate) id: ConnId,
    pub(crate) route: Arc<RouteRt>,
    pub(crate) env: Arc<Env>,
    pub(crate) peer: SocketAddr,
    pub(crate) params: Box<[Box<str>]>,
    pub(crate) query: Option<Box<str>>,
    pub(crate) headers: Option<Box<HeaderMap>>,
    /// The room of `broadcast = "..."`, rendered from the params.
    pub(crate) room: Option<Arc<str>>,
    pub(crate) outbound: super::outbox::Sender,
    pub(crate) state: AtomicU8,
    pub(crate) close: Mutex<Option<(CloseReason, Option<CloseFrame>)>>,
    pub(crate) close_notify: Notify,
    /// Set (before the notify) once a close was requested.
    pub(crate) close_requested: AtomicBool,
    /// Rooms this connection is in, so leaving them all on close is cheap.
    pub(crate) rooms: Mutex<Vec<Arc<str>>>,
    /// Milliseconds since the app started, when a frame last arrived.
    pub(crate) last_seen: AtomicU64,
    /// The reader holds an unhandled message: the peer is alive.
    pub(crate) paused: AtomicBool,
    /// Last heartbeat round trip, in microseconds (`u64::MAX`: none yet).
    pub(crate) rtt_micros: AtomicU64,
    /// What the route's validator returned.
    pub(crate) identity: Option<Identity>,
    /// The negotiated subprotocol.
    pub(crate) protocol: Option<Box<str>>,
    /// The upgrade request, kept only for routes with `reauth`.
    pub(crate) handshake: Option<Box<Handshake>>,
    /// What the connection's own task sends it (see `replies`).
    pub(crate) replies: super::Replies,
    /// The connection's task, to tell its own sends from other tasks'.
    pub(crate) task: OnceLock<tokio::task::Id>,
}

/// What the server learned during the handshake, moved into the connection
/// (owned copies: nothing of the upgrade request is kept).
pub(crate) struct Opening {
    pub(crate) peer: SocketAddr,
    pub(crate) params: Box<[Box<str>]>,
    pub(crate) query: Option<Box<str>>,
    pub(crate) headers: Option<Box<HeaderMap>>,
    pub(crate) identity: Option<Identity>,
    pub(crate) protocol: Option<Box<str>>,
    pub(crate) handshake: Option<Box<Handshake>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("id", &self.0.id)
            .field("route", &self.0.route.path)
            .field("peer", &self.0.peer)
            .field("state", &self.state())
            .finish()
    }
}

impl Conn {
    /// A connection about to start: registered nowhere yet, `Connecting`.
    pub(crate) fn new(env: &Arc<Env>, route: &Arc<RouteRt>, opening: Opening, outbound: super::outbox::Sender) -> Conn {
        let Opening { peer, params, query, headers, identity, protocol, handshake } = opening;
        let room = route.opts.broadcast.map(|parts| Arc::from(render_template(parts, &params)));
        Conn(Arc::new(ConnInner {
            id: env.hub.next_id(),
            route: route.clone(),
            env: env.clone(),
            peer,
            params,
            query,
            headers,
            room,
            outbound,
            state: AtomicU8::new(0),
            close: Mutex::new(None),
            close_notify: Notify::new(),
            close_requested: AtomicBool::new(false),
            rooms: Mutex::new(Vec::new()),
            last_seen: AtomicU64::new(env.epoch.elapsed().as_millis() as u64),
            paused: AtomicBool::new(false),
            rtt_micros: AtomicU64::new(u64::MAX),
            identity,
            protocol,
            handshake,
            replies: super::Replies::new(route.opts.queue),
            task: OnceLock::new(),
        }))
    }

    /// The connection's id.
    pub fn id(&self) -> ConnId {
        self.0.id
    }

    /// The peer's socket address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.0.peer
    }

    /// The route pattern this connection was accepted on (`/chat/{room}`).
    pub fn route(&self) -> &'static str {
        self.0.route.path
    }

    /// The value of the path parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        let index = self.route_params().iter().position(|p| *p == name)?;
        self.0.params.get(index).map(|v| &**v)
    }

    /// The path parameter values, in pattern order.
    pub fn params(&self) -> &[Box<str>] {
        &self.0.params
    }

    pub(crate) fn route_params(&self) -> &'static [&'static str] {
        self.0.route.params
    }

    /// The query string of the upgrade request, kept only when the handler
    /// takes `Query<T>`.
    pub fn query(&self) -> Option<&str> {
        self.0.query.as_deref()
    }

    /// The upgrade request's headers, kept only when the handler takes `Headers`.
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.0.headers.as_deref()
    }

    /// The room of the route's `broadcast = "..."` option, if any.
    pub fn room(&self) -> Option<&str> {
        self.0.room.as_deref()
    }

    /// The identity the route's `auth` validator returned.
    pub fn identity(&self) -> Option<&Identity> {
        self.0.identity.as_ref()
    }

    /// The identity's principal key (see [`Principal`](crate::Principal)).
    pub fn principal(&self) -> Option<&str> {
        self.0.identity.as_ref().and_then(Identity::principal)
    }

    /// The subprotocol negotiated at the handshake.
    pub fn protocol(&self) -> Option<&str> {
        self.0.protocol.as_deref()
    }

    /// The connection's state.
    pub fn state(&self) -> ConnState {
        match self.0.state.load(Ordering::Acquire) {
            0 => ConnState::Connecting,
            1 => ConnState::Open,
            2 => ConnState::Closing,
            _ => ConnState::Closed,
        }
    }

    pub(crate) fn set_state(&self, state: ConnState) {
        let n = match state {
            ConnState::Connecting => 0,
            ConnState::Open => 1,
            ConnState::Closing => 2,
            ConnState::Closed => 3,
        };
        self.0.state.store(n, Ordering::Release);
    }

    /// The last heartbeat round-trip time (ping sent to pong received).
    pub fn rtt(&self) -> Option<Duration> {
        match self.0.rtt_micros.load(Ordering::Relaxed) {
            u64::MAX => None,
            us => Some(Duration::from_micros(us)),
        }
    }

    /// Queues a message for this connection, waiting while its outbound
    /// queue is full.
    pub async fn send(&self, message: impl Into<Message>) -> Result<(), SendError> {
        if self.is_closing() {
            return Err(SendError::Closed);
        }
        let wire = message.into().into_wire();
        if self.own_task() {
            self.0.replies.push(wire).await;
            return Ok(());
        }
        self.0.outbound.send(wire).await.map_err(|_| SendError::Closed)
    }

    /// Whether the caller runs on this connection's own task (a handler or
    /// hook of this connection).
    fn own_task(&self) -> bool {
        tokio::task::try_id().is_some_and(|id| self.0.task.get() == Some(&id))
    }

    /// Queues a message for this connection without waiting.
    pub fn try_send(&self, message: impl Into<Message>) -> Result<(), SendError> {
        self.push(message.into().into_wire())
    }

    pub(crate) fn push(&self, wire: tungstenite::Message) -> Result<(), SendError> {
        if self.is_closing() {
            return Err(SendError::Closed);
        }
        if self.own_task() {
            return self.0.replies.try_push(wire).map_err(|_| SendError::Full);
        }
        self.0.outbound.try_send(wire).map_err(|e| match e {
            super::outbox::TrySendError::Full => SendError::Full,
            super::outbox::TrySendError::Closed => SendError::Closed,
        })
    }

    /// Closes the connection with a code and a reason (cut to 123 bytes).
    /// Messages already queued are written first. Returns at once; the close
    /// handshake happens on the connection's task.
    pub fn close(&self, code: CloseCode, reason: &str) {
        self.request_close(CloseReason::Local { code }, Some(CloseFrame::new(code, reason)));
    }

    /// Records why the connection ends (the first reason wins) and wakes its task.
    pub(crate) fn request_close(&self, reason: CloseReason, frame: Option<CloseFrame>) {
        let mut slot = match self.0.close.lock() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        if slot.is_none() {
            *slot = Some((reason, frame));
            drop(slot);
            self.0.close_requested.store(true, Ordering::Release);
            self.0.close_notify.notify_one();
        }
    }

    /// Why the connection ends, once that is decided (the first close
    /// request wins); `None` while it serves. `on_close` gets the same value.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.close_request().map(|(reason, _)| reason)
    }

    pub(crate) fn close_request(&self) -> Option<(CloseReason, Option<CloseFrame>)> {
        match self.0.close.lock() {
            Ok(slot) => slot.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The hub: rooms, presence and sends to other connections.
    pub fn hub(&self) -> &Hub {
        &self.0.env.hub
    }

    /// Adds this connection to `room` (creating the room). Idempotent.
    pub fn join(&self, room: &str) {
        self.0.env.hub.join(self, room);
    }

    /// Like [`join`](Conn::join), then, with a backplane, waits (at most
    /// 2 s) until this instance receives what other instances publish to
    /// `room`, so nothing sent right after is missed. Without a backplane,
    /// or while it is down, it returns at once. Rooms of `broadcast = "..."`
    /// are joined this way before `on_open` runs.
    pub async fn join_synced(&self, room: &str) {
        self.join(room);
        self.0.env.hub.room_synced(room, std::time::Duration::from_secs(2)).await;
    }

    /// Removes this connection from `room` (the room goes when it empties).
    pub fn leave(&self, room: &str) {
        self.0.env.hub.leave(self, room);
    }

    /// The rooms this connection is in.
    pub fn rooms(&self) -> Vec<String> {
        crate::sync::lock(&self.0.rooms).iter().map(|r| r.to_string()).collect()
    }

    /// Sends to every member of `room`, this connection included. Returns
    /// the number of members the message was queued for.
    pub fn broadcast(&self, room: &str, message: impl Into<Message>) -> usize {
        self.fan_out(room, message.into(), None)
    }

    /// Sends to every member of `room` except this connection.
    pub fn broadcast_others(&self, room: &str, message: impl Into<Message>) -> usize {
        self.fan_out(room, message.into(), Some(self.0.id))
    }

    pub(crate) fn fan_out(&self, room: &str, message: Message, except: Option<ConnId>) -> usize {
        let queued = self.0.env.hub.fan_out(room, message.into_wire(), except);
        if let Some(m) = &self.0.route.metrics {
            m.fanout.observe(queued as f64);
        }
        queued
    }

    /// Sends to the connection with this id (`try_send` semantics).
    pub fn send_to(&self, id: ConnId, message: impl Into<Message>) -> Result<(), SendError> {
        self.0.env.hub.send_to(id, message)
    }

    pub(crate) fn env(&self) -> &Env {
        &self.0.env
    }
}
