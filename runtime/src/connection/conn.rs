//! The connection's data: [`Conn`] and what it holds. These types refer to
//! one another (a route's hooks take a `Conn`, a `Conn` holds its route and
//! the app's [`Hub`], the hub holds `Conn`s), so they are declared together
//! here, as data; their behaviour is in `handle.rs` (every `impl Conn`),
//! `life.rs` (the connection's state) and `crate::hub` (the registry, which
//! only knows its members through the `Peer` port).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::future::BoxFuture;
use http::HeaderMap;

use super::life::Life;
use super::upgrade::{HandshakeCx, Needs};
use super::StateMap;
use crate::auth::{Handshake, Identity, Origins, Reject};
use crate::close::CloseReason;
use crate::config::OnFull;
use crate::contract::MessageFn;
use crate::hub::id::ConnId;
use crate::hub::registry::Registry;
use crate::limits::{PerIp, Rate};
use crate::message::Kinds;
use crate::metrics::RouteMetrics;
use crate::reply::{ErrorBody, OnError};
use crate::template::TemplatePart;

/// The handle of one WebSocket connection.
///
/// Take it as a handler argument (`conn: Conn`); clone it freely and keep it
/// anywhere (a background task, another connection's handler). Once the
/// connection is gone, sends fail with [`SendError::Closed`](crate::SendError::Closed).
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
    /// Its phase, why it ends, what the heartbeat knows (one state, one owner).
    pub(crate) life: Life,
    /// Rooms this connection is in, so leaving them all on close is cheap.
    pub(crate) rooms: Mutex<HashSet<Arc<str>>>,
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
    /// Its own values (`Session<T>`).
    pub(crate) sessions: super::Sessions,
    /// Its requests awaiting the client's answer (`Conn::request`).
    pub(crate) requests: crate::correlation::Requests,
}

/// The reader's waker: the connection task is polled as a whole, and its
/// reader only when this waker was used (a socket read, a handler's
/// wake-up, a timer of the reader's), not on every wake-up the writer gets
/// from broadcasts (issue 19: at 20 broadcasts a second, polling an idle
/// read side took about a quarter of the runtime's own CPU per delivery).
/// No allocation: the connection's `Arc` is the waker.
impl std::task::Wake for ConnInner {
    fn wake(self: Arc<Self>) {
        self.life.wake_reader();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.life.wake_reader();
    }
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

/// The registry of connections and rooms of one app. Cheap to clone.
///
/// There is no detached hub: each [`App`](crate::App) makes its own, reached
/// through [`App::hub`](crate::App::hub), [`Server::hub`](crate::Server::hub)
/// or [`Conn::hub`].
#[derive(Clone)]
pub struct Hub(pub(crate) Arc<Registry<Conn>>);

/// The app-wide context of every connection.
#[derive(Debug)]
pub(crate) struct Env {
    pub(crate) hub: Hub,
    pub(crate) state: StateMap,
    /// The instant timestamps of the app count from: tokio's clock, like
    /// every deadline (tests with a paused clock see virtual time).
    pub(crate) epoch: tokio::time::Instant,
    /// Set once shutdown began: connections opening now close at once.
    pub(crate) draining: Arc<AtomicBool>,
    /// Set when the drain time is up: connections still closing drop their
    /// TCP connection, and plain HTTP connections end.
    pub(crate) hard_stop: tokio::sync::watch::Sender<bool>,
    /// The validator's time limit, for `reauth` too.
    pub(crate) handshake_timeout: Duration,
    /// What a handler's error that does not choose does (`Config::on_error`).
    pub(crate) on_error: OnError,
    /// The body of every error answer (`App::error_body`).
    pub(crate) error_body: ErrorBody,
}

impl Env {
    /// Resolves once the drain time is up (at once if it already is).
    pub(crate) async fn hard_stopped(&self) {
        let mut stop = self.hard_stop.subscribe();
        let _ = stop.wait_for(|stopped| *stopped).await;
    }
}

/// The generated wrapper of a route's `on_open` hook.
pub type OnOpenFn = fn(Conn) -> BoxFuture<'static, ()>;

/// The generated wrapper of a route's `on_close` hook.
pub type OnCloseFn = fn(Conn, CloseReason) -> BoxFuture<'static, ()>;

/// The generated wrapper of a route's validator.
pub type AuthFn = for<'a> fn(HandshakeCx<'a>) -> BoxFuture<'a, Result<Identity, Reject>>;

macro_rules! resolved_struct {
    ($($key:ident { resolved: $resolved:ty }),* $(,)?) => {
        /// Everything the runtime reads about a route's settings: each option
        /// with the app's default filled in, and the app-wide settings a
        /// connection uses. Nothing reads the macro's `RouteOptions` after
        /// this is built.
        #[derive(Debug, Clone)]
        pub(crate) struct Resolved {
            $(pub(crate) $key: $resolved,)*
            pub(crate) read_buffer: usize,
            pub(crate) write_buffer: usize,
            /// `Config::max_write_buffer`, raised to fit one `max_message`
            /// message after a full `write_buffer`.
            pub(crate) max_write_buffer: usize,
            pub(crate) fragment_timeout: Duration,
            pub(crate) max_rooms: usize,
            pub(crate) batch: usize,
            pub(crate) handler_timing: bool,
        }
    };
}

wirehub_options::route_options!(resolved: resolved_struct);

/// A route as its connections see it, built once when the app starts.
#[derive(Debug)]
pub(crate) struct RouteRt {
    /// The path pattern as written, e.g. `/chat/{room}`.
    pub(crate) path: &'static str,
    /// The names of the `{param}` segments, in order.
    pub(crate) params: &'static [&'static str],
    /// The message kinds the handler takes.
    pub(crate) kinds: Kinds,
    pub(crate) opts: Resolved,
    /// What its sockets enforce and how they buffer.
    pub(crate) socket: super::socket::Limits,
    pub(crate) metrics: Option<RouteMetrics>,
    /// Connections open on this route (for `max_connections`).
    pub(crate) open: Arc<AtomicUsize>,
    /// Connections per client IP on this route, when it caps them.
    pub(crate) per_ip: Option<Arc<PerIp>>,
    /// What its connections keep of the upgrade request (handler and hooks).
    pub(crate) needs: Needs,
    /// The session values its connections hold.
    pub(crate) sessions: super::SessionPlan,
}

impl RouteRt {
    pub(crate) fn new(
        path: &'static str,
        params: &'static [&'static str],
        kinds: Kinds,
        opts: Resolved,
        metrics: Option<RouteMetrics>,
        needs: Needs,
        sessions: super::SessionPlan,
    ) -> Self {
        let socket = super::socket::Limits {
            max_message: opts.max_message,
            read_chunk: opts.read_buffer,
            write_buffer: opts.write_buffer,
            max_write_buffer: opts.max_write_buffer,
        };
        let per_ip = opts.max_connections_per_ip.map(|_| Arc::default());
        RouteRt { path, params, kinds, opts, socket, metrics, open: Arc::default(), per_ip, needs, sessions }
    }

    /// What the frame guard enforces on this route's connections.
    pub(crate) fn guard_limits(&self) -> super::guard::Limits {
        super::guard::Limits { control_rate: self.opts.control_rate, fragment_timeout: self.opts.fragment_timeout }
    }
}

impl Hub {
    /// A new, empty hub (one per app).
    pub(crate) fn new() -> Self {
        Hub(Registry::new())
    }
}
