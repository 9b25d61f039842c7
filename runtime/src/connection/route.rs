//! What a connection knows about its route: the resolved settings
//! ([`Resolved`], one field per row of the option table plus the app-wide
//! settings a connection uses) and [`RouteRt`], built once per route when
//! the app starts and shared by every connection of the route.
//!
//! The route table the macro emits (`crate::route`) sits above this module:
//! it names the connection's types (hooks take a [`Conn`]), and resolves
//! itself into a [`Resolved`].

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::{CloseReason, Conn};
use crate::auth::{Handshake, Identity, Origins, Reject};
use crate::config::OnFull;
use crate::limits::{PerIp, Rate};
use crate::message::Kinds;
use crate::metrics::RouteMetrics;
use crate::template::TemplatePart;

/// The generated wrapper of a route's `on_open` hook.
pub type OnOpenFn = fn(Conn) -> BoxFuture<'static, ()>;

/// The generated wrapper of a route's `on_close` hook.
pub type OnCloseFn = fn(Conn, CloseReason) -> BoxFuture<'static, ()>;

/// The generated wrapper of a route's validator.
pub type AuthFn =
    for<'a> fn(&'a Handshake) -> BoxFuture<'a, Result<Identity, Reject>>;

macro_rules! resolved_struct {
    ($($key:ident : $kind:ident {
        example: $example:literal,
        takes: $takes:literal,
        meaning: $meaning:literal,
        default: $default:literal,
        requires: [$($required:ident),*],
        runtime: $runtime:ty,
        app: [$($app_ty:ty = $app_default:expr)?],
        resolve: $resolve:expr,
        resolved: $resolved:ty,
    }),* $(,)?) => {
        /// Everything the runtime reads about a route's settings: each option
        /// with the app's default filled in, and the app-wide settings a
        /// connection uses. Nothing reads the macro's `RouteOptions` after
        /// this is built.
        #[derive(Debug, Clone)]
        pub(crate) struct Resolved {
            $(pub(crate) $key: $resolved,)*
            pub(crate) read_buffer: usize,
            pub(crate) batch: usize,
            pub(crate) handler_timing: bool,
        }
    };
}

wirehub_options::route_options!(resolved_struct);

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
    pub(crate) ws: WebSocketConfig,
    pub(crate) metrics: Option<RouteMetrics>,
    /// Connections open on this route (for `max_connections`).
    pub(crate) open: Arc<AtomicUsize>,
    /// Connections per client IP on this route, when it caps them.
    pub(crate) per_ip: Option<Arc<PerIp>>,
}

impl RouteRt {
    pub(crate) fn new(path: &'static str, params: &'static [&'static str], kinds: Kinds, opts: Resolved, metrics: Option<RouteMetrics>) -> Self {
        let ws = WebSocketConfig::default()
            .read_buffer_size(opts.read_buffer)
            .max_message_size(Some(opts.max_message))
            .max_frame_size(Some(opts.max_message));
        let per_ip = opts.max_connections_per_ip.map(|_| Arc::default());
        RouteRt { path, params, kinds, opts, ws, metrics, open: Arc::default(), per_ip }
    }
}
