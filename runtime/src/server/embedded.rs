//! [`Embedded`]: an app built and running without a listener of its own.
//! Whatever accepts connections (axum, a hyper server, a TLS acceptor, a
//! test with an in-memory pipe) hands them or their requests to it; it owns
//! the hub, the routes and the graceful drain. [`App::start`](crate::App::start)
//! is this plus wirehub's own accept loop.
//!
//! ```no_run
//! # async fn f() -> wirehub::Result<()> {
//! let app = wirehub::App::new().build().await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let (tcp, peer) = listener.accept().await?;
//! tokio::spawn(app.serve_connection(tcp, peer)); // HTTP/1.1: pages, upgrades
//! app.shutdown().await; // every connection gets 1001, then up to `drain_timeout`
//! # Ok(())
//! # }
//! ```
//!
//! Invariants: the drain runs once, when the first shutdown is asked for
//! (from any clone or [`ShutdownHandle`]); every caller of
//! [`Embedded::shutdown`] waits for that same drain.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use prometheus::Registry;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::Instant;

use super::http::{serve_io, Via};
use super::state::{mount, Shared};
use super::{listen, HttpReply, Page, ShutdownHandle};
use crate::auth::AllowedHosts;
use crate::backplane::{Backplane, StartCx};
use crate::close::{CloseCode, CloseReason};
use crate::config::Config;
use crate::connection::{Env, StateMap};
use crate::error::{Error, Result, RouteError};
use crate::hub::Hub;
use crate::limits::Gate;
use crate::message::CloseFrame;
use crate::metrics::Metrics;
use crate::reply::ErrorBody;
use crate::route::RouteDef;
use crate::router::Router;

/// What an [`App`](crate::App) was built with.
pub(crate) struct Parts {
    /// The address the app is bound to, when known: its IP is one of the
    /// hosts the default origin policy accepts.
    pub(crate) bound: Option<SocketAddr>,
    pub(crate) config: Config,
    pub(crate) state: StateMap,
    pub(crate) hub: Hub,
    pub(crate) routes: Vec<&'static RouteDef>,
    pub(crate) pages: HashMap<String, Page>,
    pub(crate) registry: Option<Registry>,
    pub(crate) backplane: Box<dyn Backplane>,
    pub(crate) error_body: ErrorBody,
}

/// An app built without a listener (from [`App::build`](crate::App::build)):
/// feed it connections with [`serve_connection`](Embedded::serve_connection),
/// requests with [`service`](Embedded::service), or mount it in axum with
/// `router()` (feature `axum`). Cheap to clone; every clone is the same app.
///
/// ```no_run
/// # async fn f() -> wirehub::Result<()> {
/// let app = wirehub::App::new().build().await?;
/// let hub = app.hub().clone(); // publish from anywhere
/// let (client, server) = tokio::io::duplex(4096); // any AsyncRead + AsyncWrite
/// tokio::spawn(app.serve_connection(server, "127.0.0.1:9".parse().expect("addr")));
/// # drop((client, hub));
/// app.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Embedded(Arc<Inner>);

/// The routes the app was built with, for its contract (feature `contract`).
#[cfg(feature = "contract")]
impl crate::contract::RouteSet for Embedded {
    fn route_defs(&self) -> &[&'static RouteDef] {
        &self.0.shared.defs
    }
}

struct Inner {
    shared: Arc<Shared>,
    shutdown: ShutdownHandle,
    drained: watch::Receiver<bool>,
    metrics_addr: Option<SocketAddr>,
    warned_unknown_peer: AtomicBool,
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let routes: Vec<&str> = self.0.shared.defs.iter().map(|def| def.path).collect();
        f.debug_struct("Embedded")
            .field("routes", &routes)
            .field("hub", &self.0.shared.env.hub)
            .field("metrics_addr", &self.0.metrics_addr)
            .finish_non_exhaustive()
    }
}

impl Embedded {
    /// The app's hub: rooms, presence, sends (from REST handlers, background tasks).
    ///
    /// ```no_run
    /// # async fn f(app: wirehub::Embedded) {
    /// app.hub().broadcast("news", "published from a background task");
    /// # }
    /// ```
    pub fn hub(&self) -> &Hub {
        &self.0.shared.env.hub
    }

    /// The address of `/metrics` and `/healthz` when `Config::metrics_addr`
    /// gives them a listener of their own.
    ///
    /// ```no_run
    /// # async fn f() -> wirehub::Result<()> {
    /// let app = wirehub::App::new().config(|c| c.metrics_addr = Some("127.0.0.1:0".into())).build().await?;
    /// println!("metrics on http://{:?}/metrics", app.metrics_addr());
    /// # Ok(())
    /// # }
    /// ```
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.0.metrics_addr
    }

    /// Serves HTTP/1.1 on one accepted connection of any kind (TCP, TLS,
    /// a Unix socket, `tokio::io::duplex`) until it closes, upgrades, or
    /// the drain time of a shutdown is up: the pages, the refusals and the
    /// upgrades of the app's routes. `peer` is the client's address (for
    /// per-IP caps, logs, `Conn::peer_addr` and trusted-proxy checks). On a
    /// TCP stream, set `TCP_NODELAY` first, as wirehub's own listener does:
    /// small frames then go out at once.
    ///
    /// ```no_run
    /// # async fn f(app: wirehub::Embedded) -> std::io::Result<()> {
    /// let listener = tokio::net::UnixListener::bind("/tmp/wirehub.sock")?;
    /// loop {
    ///     let (stream, _) = listener.accept().await?;
    ///     tokio::spawn(app.serve_connection(stream, "127.0.0.1:0".parse().expect("addr")));
    /// }
    /// # }
    /// ```
    pub fn serve_connection<I>(&self, io: I, peer: SocketAddr) -> impl Future<Output = ()> + Send + 'static
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        serve_io(io, Via { peer, tls: false }, self.0.shared.clone())
    }

    /// A handle that starts the shutdown from anywhere (a signal handler);
    /// [`drained`](Embedded::drained) then tells when it is over.
    ///
    /// ```no_run
    /// # async fn f(app: wirehub::Embedded) {
    /// let stop = app.shutdown_handle();
    /// tokio::spawn(async move {
    ///     wirehub::shutdown_signal().await;
    ///     stop.shutdown();
    /// });
    /// app.drained().await;
    /// # }
    /// ```
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.0.shutdown.clone()
    }

    /// Shuts down gracefully and waits until done: new upgrades are closed
    /// at once and `/healthz` answers 503, every connection gets 1001 and
    /// up to `drain_timeout` to close, then the rest are cut. Safe to call
    /// from several places: all wait for the one drain.
    ///
    /// ```no_run
    /// # async fn f(app: wirehub::Embedded) {
    /// app.shutdown().await;
    /// assert_eq!(app.hub().connections(), 0);
    /// # }
    /// ```
    pub async fn shutdown(&self) {
        self.0.shutdown.shutdown();
        self.drained().await;
    }

    /// Waits until a shutdown (started anywhere) has drained the app (see
    /// [`shutdown_handle`](Embedded::shutdown_handle) for an example).
    pub async fn drained(&self) {
        let mut drained = self.0.drained.clone();
        // An error means the drain task is gone (the runtime is shutting down).
        let _ = drained.wait_for(|done| *done).await;
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.0.shared
    }

    /// How a request that arrived without wirehub's listener reached the
    /// app: `peer` if its server said (`PeerAddr`, axum's `ConnectInfo`),
    /// else the unspecified address (logged once: every client then counts
    /// as one under per-IP caps).
    pub(crate) fn via(&self, peer: Option<SocketAddr>) -> Via {
        let peer = peer.unwrap_or_else(|| {
            if !self.0.warned_unknown_peer.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "a request reached wirehub without the client's address: insert `wirehub::PeerAddr` (or with \
                     axum, serve with `into_make_service_with_connect_info::<SocketAddr>()`); until then every \
                     client is 0.0.0.0 for per-IP caps and logs"
                );
            }
            SocketAddr::from(([0, 0, 0, 0], 0))
        });
        Via { peer, tls: false }
    }
}

/// Builds the app's running parts: metrics, backplane, routes, the hub's
/// environment, the separate metrics listener if any, and the task that
/// drains the app once a shutdown is asked for.
pub(crate) async fn build(parts: Parts) -> Result<Embedded> {
    let Parts { bound, config, state, hub, routes, mut pages, registry, backplane, error_body } = parts;
    let metrics = match config.metrics {
        true => Some(Metrics::new(registry.unwrap_or_default()).map_err(Error::Metrics)?),
        false => None,
    };
    // Every check runs before anything binds or starts.
    let router = check(&config, &state, &routes, &pages, metrics.as_ref())?;
    let draining = Arc::new(AtomicBool::new(false));
    let ops = match &config.metrics_addr {
        Some(ops_addr) => {
            let mut ops_pages = HashMap::new();
            add_builtin_pages(&config, &mut ops_pages, metrics.as_ref(), &draining);
            Some((listen(ops_addr, 128).await?, ops_pages))
        }
        None => {
            add_builtin_pages(&config, &mut pages, metrics.as_ref(), &draining);
            None
        }
    };
    let cx = StartCx {
        #[cfg(feature = "redis")]
        hub: hub.clone(),
        #[cfg(feature = "redis")]
        registry: metrics.as_ref().map(|m| m.registry.clone()),
    };
    if let Some(relay) = backplane.start(cx).await? {
        hub.0.set_relay(relay);
    }
    if let Some(m) = &metrics {
        hub.0.attach_metrics(m);
    }
    let env = Arc::new(Env {
        hub,
        state,
        epoch: Instant::now(),
        draining,
        hard_stop: watch::Sender::new(false),
        handshake_timeout: config.handshake_timeout,
        on_error: config.on_error.clone(),
        error_body,
    });
    let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
    let allowed_hosts = AllowedHosts::new(bound.unwrap_or(unspecified), &config.allowed_hosts);
    let gate = Gate::new(config.max_sockets, config.handshake_rate_per_ip, config.failed_auth_per_ip);
    let shared = Arc::new(Shared { env, config, router, defs: routes, pages, metrics, allowed_hosts, gate });
    let mut metrics_addr = None;
    let mut ops_task = None;
    if let Some((ops_listener, ops_pages)) = ops {
        metrics_addr = Some(ops_listener.local_addr()?);
        let ops_shared = Arc::new(Shared {
            env: shared.env.clone(),
            config: shared.config.clone(),
            router: Router::new(),
            defs: Vec::new(),
            pages: ops_pages,
            metrics: None,
            allowed_hosts: AllowedHosts::default(),
            gate: Gate::default(),
        });
        ops_task = Some(tokio::spawn(serve_ops(ops_listener, ops_shared)));
    }
    let shutdown = ShutdownHandle::new();
    let (done, drained) = watch::channel(false);
    let (requested, for_drain) = (shutdown.clone(), shared.clone());
    tokio::spawn(async move {
        requested.requested().await;
        drain(&for_drain).await;
        if let Some(ops) = ops_task {
            ops.abort();
        }
        done.send_replace(true);
    });
    let inner = Inner { shared, shutdown, drained, metrics_addr, warned_unknown_peer: AtomicBool::new(false) };
    Ok(Embedded(Arc::new(inner)))
}

/// Every startup check of an app, shared by [`build`] (which goes on with
/// the router it returns) and [`App::check`](crate::App::check): each
/// route's extractors against the app and its options resolved, a pattern
/// two handlers share (an error naming both), and a page, built-in ones
/// included, on a route's path. Binds nothing, starts nothing.
pub(crate) fn check(
    config: &Config,
    state: &StateMap,
    routes: &[&'static RouteDef],
    pages: &HashMap<String, Page>,
    metrics: Option<&Metrics>,
) -> Result<Router<super::Mounted>> {
    let router = mount(config, state, routes, metrics)?;
    let builtin = builtin_pages(config).filter(|_| config.metrics_addr.is_none()).map(|(path, _)| path);
    check_pages(&router, pages.keys().map(String::as_str).chain(builtin))?;
    Ok(router)
}

/// Pages answer before the router: one on a route's path would hide it.
fn check_pages<'p>(router: &Router<super::Mounted>, pages: impl Iterator<Item = &'p str>) -> Result<()> {
    for path in pages {
        // Only a route of exactly this path is hidden; `/{room}` loses
        // just the room named like the page.
        if let Some(found) = router.find(path).filter(|f| f.value.def.path == path) {
            let def = found.value.def;
            return Err(Error::Route {
                path: def.path,
                handler: def.handler,
                at: def.location(),
                reason: RouteError::HiddenByPage { page: path.to_owned() },
            });
        }
    }
    Ok(())
}

/// A page wirehub serves itself.
#[derive(Debug, Clone, Copy)]
enum Builtin {
    /// The Prometheus text exposition (`Config::metrics_path`).
    Metrics,
    /// 200 while serving, 503 while draining (`Config::health_path`).
    Health,
}

/// The built-in pages the config turns on, with their paths (on the app's
/// port, or on `metrics_addr` when set).
fn builtin_pages(config: &Config) -> impl Iterator<Item = (&str, Builtin)> {
    let metrics = config.metrics_path.as_deref().filter(|_| config.metrics).map(|path| (path, Builtin::Metrics));
    let health = config.health_path.as_deref().map(|path| (path, Builtin::Health));
    metrics.into_iter().chain(health)
}

/// `/metrics` and `/healthz`, unless configured off or taken by the app.
fn add_builtin_pages(
    config: &Config,
    pages: &mut HashMap<String, Page>,
    metrics: Option<&Metrics>,
    draining: &Arc<AtomicBool>,
) {
    for (path, page) in builtin_pages(config) {
        let page = match (page, metrics) {
            (Builtin::Metrics, Some(metrics)) => {
                let metrics = metrics.clone();
                Page::Dynamic(Box::new(move |_| {
                    HttpReply::ok("text/plain; version=0.0.4; charset=utf-8", metrics.render())
                }))
            }
            // Metrics are on whenever the page is (`builtin_pages`).
            (Builtin::Metrics, None) => continue,
            (Builtin::Health, _) => {
                let draining = draining.clone();
                Page::Dynamic(Box::new(move |_| match draining.load(Ordering::Acquire) {
                    false => HttpReply::from("ok\n"),
                    true => HttpReply { status: 503, ..HttpReply::from("draining\n") },
                }))
            }
        };
        pages.entry(path.to_owned()).or_insert(page);
    }
}

/// Serves `/metrics` and `/healthz` on their own address until the app is drained.
async fn serve_ops(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((tcp, peer)) => {
                let _ = tcp.set_nodelay(true);
                tokio::spawn(serve_io(tcp, Via { peer, tls: false }, shared.clone()));
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed on the metrics address");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    }
}

/// How long connections cut at the end of the drain time get to finish
/// (release their socket, run `on_close`) before the drain ends.
const HARD_STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// The graceful drain: close every connection with 1001, wait up to
/// `drain_timeout`, then cut what is left and stop the backplane.
async fn drain(shared: &Shared) {
    let hub = &shared.env.hub.0;
    shared.env.draining.store(true, Ordering::Release);
    tracing::info!(open = hub.connections(), "draining connections");
    hub.close_all(&CloseReason::Shutdown, &CloseFrame::new(CloseCode::Away, "server shutting down"));
    if !hub.wait_empty(shared.config.drain_timeout).await {
        tracing::warn!(left = hub.connections(), "drain timeout: dropping the remaining connections");
        shared.env.hard_stop.send_replace(true);
        // Their close phases end at once; on_close hooks get a moment to run.
        if !hub.wait_empty(HARD_STOP_GRACE).await {
            tracing::warn!(left = hub.connections(), "connections still running after the drain time");
        }
    } else {
        shared.env.hard_stop.send_replace(true);
    }
    hub.shutdown_relay().await;
}
