//! [`Conn`]: the handle of one connection, cheap to clone and to keep.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite;

use http::HeaderMap;

use super::conn::{ConnInner, Env, Hub, Opening, RouteRt};
use super::life::{CloseRequest, ConnState, Life};
use super::{CloseCode, CloseReason, Conn};
use crate::auth::Identity;
use crate::config::OnFull;
use crate::hub::{ConnId, Offer, Peer, SendError};
use crate::message::{serialized, CloseFrame, IntoMessage, Message};
use crate::metrics::RouteMetrics;
use crate::template::render_template;

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
            id: env.hub.0.next_id(),
            route: route.clone(),
            env: env.clone(),
            peer,
            params,
            query,
            headers,
            room,
            outbound,
            life: Life::new(env.epoch.elapsed().as_millis() as u64),
            rooms: Mutex::default(),
            identity,
            protocol,
            handshake,
            replies: super::Replies::new(route.opts.queue, route.opts.max_queue_bytes),
            task: OnceLock::new(),
            sessions: super::Sessions::default(),
            requests: crate::correlation::Requests::default(),
        }))
    }

    /// The connection's id.
    pub fn id(&self) -> ConnId {
        self.0.id
    }

    /// The client's address: the socket peer, or behind a trusted proxy
    /// (`Config::trusted_proxies`) the client it forwarded (port 0 when the
    /// proxy did not forward one).
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
    /// takes `Query<T>`; on a route with `auth`, without its `token` and
    /// `access_token` parameters.
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
        self.0.life.phase()
    }

    pub(crate) fn set_state(&self, state: ConnState) {
        self.0.life.enter(state);
    }

    /// The last heartbeat round-trip time (ping sent to pong received).
    pub fn rtt(&self) -> Option<Duration> {
        self.0.life.rtt()
    }

    /// Queues a message for this connection, waiting while its outbound
    /// queue is full. Takes a message, text, bytes, or `Json(value)`
    /// ([`IntoMessage`]).
    ///
    /// ```no_run
    /// # async fn f(conn: wirehub::Conn) -> Result<(), wirehub::SendError> {
    /// conn.send("hello").await?;
    /// conn.send(wirehub::Json(serde_json::json!({ "type": "welcome", "id": conn.id() }))).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] once the connection is closing;
    /// [`SendError::Serialize`] when a `Json` value does not serialize.
    pub async fn send(&self, message: impl IntoMessage) -> Result<(), SendError> {
        if self.is_closing() {
            return Err(SendError::Closed);
        }
        let wire = message.into_message()?.into_wire();
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
    ///
    /// ```no_run
    /// # fn f(conn: wirehub::Conn) {
    /// if let Err(e) = conn.try_send(wirehub::Json(["a", "b"])) {
    ///     eprintln!("not queued: {e}");
    /// }
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SendError::Full`] when its queue is full, [`SendError::Closed`]
    /// once it is closing, [`SendError::Serialize`] when a `Json` value does
    /// not serialize.
    pub fn try_send(&self, message: impl IntoMessage) -> Result<(), SendError> {
        if self.is_closing() {
            return Err(SendError::Closed);
        }
        self.push(message.into_message()?.into_wire())
    }

    pub(crate) fn push(&self, wire: tungstenite::Message) -> Result<(), SendError> {
        self.push_via(wire, self.own_task())
    }

    /// `fifo`: into the own task's reply FIFO (the caller is that task).
    fn push_via(&self, wire: tungstenite::Message, fifo: bool) -> Result<(), SendError> {
        if self.is_closing() {
            return Err(SendError::Closed);
        }
        if fifo {
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
        self.0.life.request_close(reason, frame);
    }

    /// Why the connection ends, once that is decided (the first close
    /// request wins); `None` while it serves. `on_close` gets the same value.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.close_request().map(|(reason, _)| reason)
    }

    pub(crate) fn close_request(&self) -> Option<CloseRequest> {
        self.0.life.close_request()
    }

    /// The hub: rooms, presence and sends to other connections.
    pub fn hub(&self) -> &Hub {
        &self.0.env.hub
    }

    /// Adds this connection to `room` (creating the room). Idempotent.
    /// Returns whether the connection is in the room: false once it is
    /// closed, or when it is already in `Config::max_rooms_per_conn` rooms
    /// (logged).
    ///
    /// Joining the route's own room (`broadcast`) on a route with `history`
    /// resumes from the `since` query parameter: see [`Position`](crate::hub::Position).
    pub fn join(&self, room: &str) -> bool {
        self.0.env.hub.0.join(self, room, self.resume(room))
    }

    /// How joining `room` resumes: only the route's own room keeps a history.
    fn resume(&self, room: &str) -> Option<crate::hub::room::Resume> {
        let count = self.0.route.opts.history?;
        (self.0.room.as_deref() == Some(room)).then(|| crate::hub::room::Resume {
            limits: crate::hub::history::Limits { count, ttl: self.0.route.opts.history_ttl },
            since: crate::hub::history::since_in_query(self.0.query.as_deref()),
        })
    }

    /// Like [`join`](Conn::join), then, with a backplane, waits (at most
    /// 2 s) until this instance receives what other instances publish to
    /// `room`, so nothing sent right after is missed. Without a backplane,
    /// or while it is down, it returns at once. Rooms of `broadcast = "..."`
    /// are joined this way before `on_open` runs.
    pub async fn join_synced(&self, room: &str) {
        self.join(room);
        self.0.env.hub.0.room_synced(self.0.id, room, std::time::Duration::from_secs(2)).await;
    }

    /// Sets this connection's presence metadata (route option `presence`):
    /// its identity's `meta` in the room's presence events, as JSON. Set
    /// in `on_open`, it is in the identity's join; later, other members get
    /// it as an update. An identity with several connections shows the last
    /// value any of them set. Nothing happens on routes without `presence`.
    ///
    /// ```no_run
    /// # fn f(conn: wirehub::Conn) -> Result<(), serde_json::Error> {
    /// conn.set_presence_meta(&serde_json::json!({ "name": "Ada", "status": "away" }))
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// When `meta` does not serialize as JSON (nothing changes then).
    pub fn set_presence_meta<T: serde::Serialize + ?Sized>(&self, meta: &T) -> Result<(), serde_json::Error> {
        let meta: std::sync::Arc<str> = serde_json::to_string(meta)?.into();
        self.0.env.hub.0.set_presence_meta(self, meta);
        Ok(())
    }

    /// Removes this connection from `room` (the room goes when it empties).
    pub fn leave(&self, room: &str) {
        self.0.env.hub.0.leave(self, room);
    }

    /// The rooms this connection is in, sorted.
    pub fn rooms(&self) -> Vec<String> {
        let mut rooms: Vec<String> = crate::sync::lock(&self.0.rooms).iter().map(|r| r.to_string()).collect();
        rooms.sort_unstable();
        rooms
    }

    /// Sends to every member of `room`, this connection included. Returns
    /// the number of members the message was queued for (0, logged, when a
    /// `Json` value does not serialize).
    ///
    /// ```no_run
    /// # fn f(conn: wirehub::Conn) {
    /// let n = conn.broadcast("lobby", wirehub::Json(serde_json::json!({ "type": "joined", "id": conn.id() })));
    /// # let _ = n;
    /// # }
    /// ```
    pub fn broadcast(&self, room: &str, message: impl IntoMessage) -> usize {
        serialized(message).map_or(0, |message| self.fan_out(room, message, None))
    }

    /// Sends to every member of `room` except this connection (0, logged,
    /// when a `Json` value does not serialize).
    ///
    /// ```no_run
    /// # fn f(conn: wirehub::Conn) {
    /// conn.broadcast_others("lobby", "someone typed");
    /// # }
    /// ```
    pub fn broadcast_others(&self, room: &str, message: impl IntoMessage) -> usize {
        serialized(message).map_or(0, |message| self.fan_out(room, message, Some(self.0.id)))
    }

    pub(crate) fn fan_out(&self, room: &str, message: Message, except: Option<ConnId>) -> usize {
        let queued = self.0.env.hub.0.fan_out(room, message.into_wire(), except);
        if let Some(m) = &self.0.route.metrics {
            m.fanout.observe(queued as f64);
        }
        queued
    }

    /// Sends to the connection with this id (`try_send` semantics).
    ///
    /// ```no_run
    /// # fn f(conn: wirehub::Conn, to: wirehub::ConnId) -> Result<(), wirehub::SendError> {
    /// conn.send_to(to, wirehub::Json(serde_json::json!({ "type": "dm", "from": conn.id() })))
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Hub::send_to`].
    pub fn send_to(&self, id: ConnId, message: impl IntoMessage) -> Result<(), SendError> {
        self.0.env.hub.send_to(id, message)
    }

    pub(crate) fn env(&self) -> &Env {
        &self.0.env
    }

    /// Notes that a frame arrived (for the heartbeat).
    pub(super) fn touch(&self) {
        let ms = self.env().epoch.elapsed().as_millis() as u64;
        self.0.life.heard(ms);
    }

    pub(super) fn last_seen(&self) -> Instant {
        let ms = self.0.life.last_heard_ms();
        self.env().epoch + Duration::from_millis(ms)
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.0.life.is_closing()
    }

    pub(crate) fn metrics(&self) -> Option<&RouteMetrics> {
        self.0.route.metrics.as_ref()
    }

    /// The payload of a heartbeat ping, recorded as the one in flight: a
    /// keyed hash of the connection and the time (SipHash under a key drawn
    /// once per process), so a peer can neither forge the pong of a ping it
    /// did not receive nor read the server's clock from it.
    pub(super) fn ping_payload(&self) -> Bytes {
        static KEY: OnceLock<RandomState> = OnceLock::new();
        let now_us = self.env().epoch.elapsed().as_micros() as u64;
        let nonce = KEY.get_or_init(RandomState::new).hash_one((self.0.id, now_us));
        self.0.life.ping_sent(nonce, now_us);
        Bytes::copy_from_slice(&nonce.to_be_bytes())
    }

    /// A pong arrived: records the round trip if it answers the heartbeat
    /// ping in flight, and says whether it did.
    pub(super) fn record_rtt(&self, payload: &Bytes) -> bool {
        let Ok(nonce) = <[u8; 8]>::try_from(payload.as_ref()) else { return false };
        let Some(sent) = self.0.life.pong(u64::from_be_bytes(nonce)) else { return false };
        let now = self.env().epoch.elapsed().as_micros() as u64;
        let rtt = now.saturating_sub(sent);
        self.0.life.set_rtt(Duration::from_micros(rtt));
        if let Some(m) = self.metrics() {
            m.rtt.observe(rtt as f64 / 1e6);
        }
        true
    }

    /// Whether the peer is heard from: the reader holds a message back, so
    /// a silent socket is our doing, not the peer's.
    pub(super) fn set_paused(&self, paused: bool) {
        self.0.life.set_paused(paused);
    }

    pub(super) fn is_paused(&self) -> bool {
        self.0.life.is_paused()
    }

    /// Records the connection's task, to tell its own sends from others'.
    pub(super) fn set_task(&self, id: tokio::task::Id) {
        let _ = self.0.task.set(id);
    }
}

/// The hub's view of a connection: the port it delivers through.
impl Peer for Conn {
    fn id(&self) -> ConnId {
        self.0.id
    }

    fn principal(&self) -> Option<&Arc<str>> {
        self.0.identity.as_ref().and_then(Identity::principal_arc)
    }

    fn rooms(&self) -> &Mutex<HashSet<Arc<str>>> {
        &self.0.rooms
    }

    fn max_rooms(&self) -> usize {
        self.0.route.opts.max_rooms
    }

    fn is_closed(&self) -> bool {
        self.state() == ConnState::Closed
    }

    fn is_opening(&self) -> bool {
        self.state() == ConnState::Connecting
    }

    fn presence(&self, room: &str) -> Option<crate::hub::presence::Tracking> {
        let opts = &self.0.route.opts;
        (opts.presence && self.0.room.as_deref() == Some(room))
            .then_some(crate::hub::presence::Tracking { interval: opts.presence_interval, limit: opts.presence_limit })
    }

    fn push(&self, wire: tungstenite::Message) -> Result<(), SendError> {
        Conn::push(self, wire)
    }

    fn offer(&self, wire: tungstenite::Message) -> Offer {
        self.offer_via(wire, false)
    }

    fn offer_in_order(&self, wire: tungstenite::Message) -> Offer {
        self.offer_via(wire, false)
    }

    fn offer_batch(&self, wires: Vec<tungstenite::Message>) -> bool {
        !self.is_closing() && self.0.outbound.try_send_all(wires).is_ok()
    }

    fn close(&self, reason: &CloseReason, frame: &CloseFrame) {
        self.request_close(reason.clone(), Some(frame.clone()));
    }
}

impl Conn {
    /// Offers a room's message, applying the route's `on_full` policy.
    fn offer_via(&self, wire: tungstenite::Message, fifo: bool) -> Offer {
        match self.push_via(wire, fifo) {
            Ok(()) => Offer::Queued,
            Err(SendError::Full) => match self.0.route.opts.on_full {
                OnFull::Close => {
                    let frame = CloseFrame::new(CloseCode::Again, "slow consumer: outbound queue full");
                    self.request_close(CloseReason::SlowConsumer, Some(frame));
                    Offer::Refused
                }
                OnFull::Drop => {
                    if let Some(m) = self.metrics() {
                        m.dropped_queue_full.inc();
                    }
                    Offer::Dropped
                }
            },
            Err(_closed) => Offer::Refused,
        }
    }
}
