//! [`App`]: collects the `#[ws_route]` handlers linked into the binary and
//! serves them.
//!
//! ```no_run
//! # async fn f() -> wirehub::Result<()> {
//! wirehub::App::new()
//!     .bind("127.0.0.1:8000")
//!     .state(std::sync::atomic::AtomicU64::new(0))
//!     .config(|c| c.max_message = 16 << 20)
//!     .serve() // until Ctrl-C, then a graceful shutdown
//!     .await
//! # }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;
use std::time::Instant;

use prometheus::Registry;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::backplane::{Backplane, Local, StartCx};
use crate::close::{CloseCode, CloseReason};
use crate::config::{Config, Resolved};
use crate::error::{Error, Result, RouteError};
use crate::extract::state::StateMap;
use crate::extract::CheckCx;
use crate::hub::Hub;
use crate::limits::PerIp;
use crate::message::CloseFrame;
use crate::metrics::{Metrics, RouteMetrics};
use crate::route::RouteDef;
use crate::router::{self, Router};
use crate::server::{self, HttpReply, Page, ShutdownHandle};

/// A WebSocket server: its routes, settings, shared state and hub.
pub struct App {
    addr: String,
    config: Config,
    state: StateMap,
    hub: Hub,
    routes: Vec<&'static RouteDef>,
    pages: HashMap<String, Page>,
    registry: Option<Registry>,
    backplane: Box<dyn Backplane>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("addr", &self.addr)
            .field("routes", &self.routes.iter().map(|r| r.path).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Default for App {
    fn default() -> Self {
        App::new()
    }
}

/// A route with its options resolved against the app's defaults.
#[derive(Debug)]
pub(crate) struct RouteRt {
    pub(crate) def: &'static RouteDef,
    pub(crate) opts: Resolved,
    pub(crate) ws: WebSocketConfig,
    pub(crate) metrics: Option<RouteMetrics>,
    /// Connections open on this route (for `max_connections`).
    pub(crate) open: Arc<AtomicUsize>,
    /// Connections per client IP on this route, when it caps them.
    pub(crate) per_ip: Option<Arc<PerIp>>,
}

/// What every connection of an app shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) hub: Hub,
    pub(crate) state: StateMap,
    pub(crate) config: Config,
    pub(crate) router: Router<Arc<RouteRt>>,
    pub(crate) pages: HashMap<String, Page>,
    /// The instant timestamps of the app count from.
    pub(crate) epoch: Instant,
    pub(crate) draining: Arc<AtomicBool>,
    /// Set when the drain time is up: connections still closing drop their
    /// TCP connection, and plain HTTP connections end.
    pub(crate) hard_stop: tokio::sync::watch::Sender<bool>,
    pub(crate) metrics: Option<Metrics>,
}

impl Shared {
    /// Resolves once the drain time is up (at once if it already is).
    pub(crate) async fn hard_stopped(&self) {
        let mut stop = self.hard_stop.subscribe();
        let _ = stop.wait_for(|stopped| *stopped).await;
    }
}

impl Shared {
    /// Counts a refused handshake (the server logs it, with its detail).
    pub(crate) fn reject(&self, route: &str, why: crate::metrics::Rejected) {
        if let Some(m) = &self.metrics {
            m.reject(route, why);
        }
    }
}

impl App {
    /// An app serving every `#[ws_route]` handler linked into the binary, on
    /// `127.0.0.1:8000` unless [`bind`](App::bind) says otherwise.
    pub fn new() -> Self {
        let mut routes: Vec<&'static RouteDef> = inventory::iter::<RouteDef>.into_iter().collect();
        routes.sort_by_key(|r| (r.path, r.file, r.line));
        App {
            addr: "127.0.0.1:8000".to_owned(),
            config: Config::default(),
            state: StateMap::default(),
            hub: Hub::new(),
            routes,
            pages: HashMap::new(),
            registry: None,
            backplane: Box::new(Local),
        }
    }

    /// The address to listen on (`"0.0.0.0:8000"`, `"127.0.0.1:0"` for any free port).
    pub fn bind(mut self, addr: impl Into<String>) -> Self {
        self.addr = addr.into();
        self
    }

    /// Changes settings (see [`Config`] for each one and its default).
    pub fn config(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(&mut self.config);
        self
    }

    /// Allows browser connections from these origins only (exact origins
    /// such as `https://app.example.com`, or `*.example.com`; `*` for any),
    /// instead of the same-host default. Routes can override it with
    /// `origins = [...]`.
    pub fn origins<S: Into<String>>(mut self, origins: impl IntoIterator<Item = S>) -> Self {
        self.config.origins = crate::auth::Origins::List(origins.into_iter().map(Into::into).collect());
        self
    }

    /// Registers shared state, taken by handlers as [`State<T>`](crate::State).
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(Arc::new(value));
        self
    }

    /// Keeps only the routes whose path pattern satisfies `keep` (useful to
    /// serve a subset of the handlers linked into one binary).
    pub fn routes(mut self, keep: impl Fn(&str) -> bool) -> Self {
        self.routes.retain(|r| keep(r.path));
        self
    }

    /// Serves a fixed body at `path` on plain HTTP GET (a page, a script).
    pub fn page(mut self, path: &str, content_type: &'static str, body: &'static str) -> Self {
        self.pages.insert(path.to_owned(), Page::Static(HttpReply::ok(content_type, body.as_bytes())));
        self
    }

    /// Serves a plain HTTP GET endpoint computed from the hub on each request
    /// (`.get("/stats", |hub| format!("{} online", hub.connections()))`).
    pub fn get<R: Into<HttpReply>>(mut self, path: &str, handler: impl Fn(&Hub) -> R + Send + Sync + 'static) -> Self {
        self.pages.insert(path.to_owned(), Page::Dynamic(Box::new(move |hub| handler(hub).into())));
        self
    }

    /// Registers wirehub's metrics in your own Prometheus registry (so one
    /// endpoint exposes your metrics and wirehub's). Default: a registry of
    /// the app's own, served at `Config::metrics_path`.
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Relays rooms, sends and presence between instances through a
    /// backplane (`backplane::Redis::connect(url)` with the `redis` feature).
    /// Default: [`Local`], in-process only.
    pub fn backplane(mut self, backplane: impl Backplane) -> Self {
        self.backplane = Box::new(backplane);
        self
    }

    /// The app's hub, to reach connections from outside handlers (background
    /// tasks, HTTP handlers). Valid before and while serving.
    pub fn hub(&self) -> Hub {
        self.hub.clone()
    }

    /// Serves until Ctrl-C, then shuts down gracefully.
    pub async fn serve(self) -> Result<()> {
        self.serve_with_shutdown(async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            tracing::info!("Ctrl-C: shutting down");
        })
        .await
    }

    /// Serves until `signal` resolves, then shuts down gracefully.
    pub async fn serve_with_shutdown(self, signal: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let server = self.start().await?;
        let handle = server.shutdown_handle();
        tokio::spawn(async move {
            signal.await;
            handle.shutdown();
        });
        server.wait().await
    }

    /// Binds and starts serving in the background; the returned [`Server`]
    /// tells the bound address and shuts the server down.
    pub async fn start(self) -> Result<Server> {
        let App { addr, config, state, hub, routes, mut pages, registry, backplane } = self;
        let metrics = match config.metrics {
            true => Some(Metrics::new(registry.unwrap_or_default()).map_err(Error::Metrics)?),
            false => None,
        };
        let cx = StartCx {
            #[cfg(feature = "redis")]
            hub: hub.clone(),
            #[cfg(feature = "redis")]
            registry: metrics.as_ref().map(|m| m.registry.clone()),
        };
        if let Some(relay) = backplane.start(cx)? {
            hub.set_relay(relay);
        }
        let draining = Arc::new(AtomicBool::new(false));
        let ops = match &config.metrics_addr {
            Some(ops_addr) => {
                let mut ops_pages = HashMap::new();
                add_builtin_pages(&config, &mut ops_pages, metrics.as_ref(), &draining);
                Some((server::listen(ops_addr, 128).await?, ops_pages))
            }
            None => {
                add_builtin_pages(&config, &mut pages, metrics.as_ref(), &draining);
                None
            }
        };
        if let Some(m) = &metrics {
            hub.attach_metrics(m);
        }
        let router = build_router(&config, &state, &routes, metrics.as_ref())?;
        // Pages answer before the router: one on a route's path would hide it.
        for path in pages.keys() {
            // Only a route of exactly this path is hidden; `/{room}` loses
            // just the room named like the page.
            if let Some(found) = router.find(path).filter(|f| f.value.def.path == path) {
                let def = found.value.def;
                return Err(Error::Route {
                    path: def.path,
                    handler: def.handler,
                    at: def.location(),
                    reason: RouteError::HiddenByPage { page: path.clone() },
                });
            }
        }
        let listener = server::listen(&addr, config.backlog).await?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            hub: hub.clone(),
            state,
            config,
            router,
            pages,
            epoch: Instant::now(),
            draining,
            hard_stop: tokio::sync::watch::Sender::new(false),
            metrics,
        });
        let mut metrics_addr = None;
        let mut ops_task = None;
        if let Some((ops_listener, ops_pages)) = ops {
            metrics_addr = Some(ops_listener.local_addr()?);
            let ops_shared = Arc::new(Shared {
                hub: hub.clone(),
                state: StateMap::default(),
                config: shared.config.clone(),
                router: Router::new(),
                pages: ops_pages,
                epoch: shared.epoch,
                draining: shared.draining.clone(),
                hard_stop: shared.hard_stop.clone(),
                metrics: None,
            });
            ops_task = Some(tokio::spawn(serve_ops(ops_listener, ops_shared)));
        }
        let shutdown = ShutdownHandle::new();
        let task = tokio::spawn(accept_loop(listener, shared, shutdown.clone()));
        tracing::info!(addr = %local_addr, ?metrics_addr, "wirehub listening");
        Ok(Server { local_addr, metrics_addr, hub, shutdown, task, ops_task })
    }
}

/// `/metrics` and `/healthz`, unless configured off or taken by the app.
fn add_builtin_pages(
    config: &Config,
    pages: &mut HashMap<String, Page>,
    metrics: Option<&Metrics>,
    draining: &Arc<AtomicBool>,
) {
    if let (Some(path), Some(metrics)) = (&config.metrics_path, metrics) {
        let metrics = metrics.clone();
        pages.entry(path.clone()).or_insert_with(|| {
            Page::Dynamic(Box::new(move |_| {
                HttpReply::ok("text/plain; version=0.0.4; charset=utf-8", metrics.render())
            }))
        });
    }
    if let Some(path) = &config.health_path {
        let draining = draining.clone();
        pages.entry(path.clone()).or_insert_with(|| {
            Page::Dynamic(Box::new(move |_| match draining.load(std::sync::atomic::Ordering::Acquire) {
                false => HttpReply::from("ok\n"),
                true => HttpReply { status: 503, ..HttpReply::from("draining\n") },
            }))
        });
    }
}

fn build_router(
    config: &Config,
    state: &StateMap,
    routes: &[&'static RouteDef],
    metrics: Option<&Metrics>,
) -> Result<Router<Arc<RouteRt>>> {
    let mut resolved = Vec::with_capacity(routes.len());
    for &def in routes {
        let opts = Resolved::new(config, &def.options);
        (def.check)(&CheckCx { params: def.params, state, has_auth: opts.auth.is_some() })
            .map_err(|e| Error::Route { path: def.path, handler: def.handler, at: def.location(), reason: e.into() })?;
        let ws = WebSocketConfig::default()
            .read_buffer_size(opts.read_buffer)
            .max_message_size(Some(opts.max_message))
            .max_frame_size(Some(opts.max_message));
        let metrics = metrics.map(|m| m.route(def.path)).transpose().map_err(Error::Metrics)?;
        let per_ip = opts.max_connections_per_ip.map(|_| Arc::default());
        resolved.push((def, Arc::new(RouteRt { def, opts, ws, metrics, open: Arc::default(), per_ip })));
    }
    router::build(resolved, |rt| rt.def)
}

/// Serves `/metrics` and `/healthz` on their own address until the server stops.
async fn serve_ops(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((tcp, peer)) => {
                tokio::spawn(server::serve_tcp(tcp, peer, shared.clone()));
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed on the metrics address");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    }
}

/// How long connections cut at the end of the drain time get to finish
/// (release their socket, run `on_close`) before `serve` returns.
const HARD_STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, shutdown: ShutdownHandle) -> Result<()> {
    loop {
        tokio::select! {
            () = shutdown.requested() => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    tokio::spawn(server::serve_tcp(tcp, peer, shared.clone()));
                }
                Err(e) => {
                    // Out of file descriptors or similar: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            }
        }
    }
    drop(listener);
    shared.draining.store(true, std::sync::atomic::Ordering::Release);
    let open = shared.hub.connections();
    tracing::info!(open, "draining connections");
    shared.hub.close_all(&CloseReason::Shutdown, &CloseFrame::new(CloseCode::Away, "server shutting down"));
    if !shared.hub.wait_empty(shared.config.drain_timeout).await {
        tracing::warn!(left = shared.hub.connections(), "drain timeout: dropping the remaining connections");
        shared.hard_stop.send_replace(true);
        // Their close phases end at once; on_close hooks get a moment to run.
        if !shared.hub.wait_empty(HARD_STOP_GRACE).await {
            tracing::warn!(left = shared.hub.connections(), "connections still running after the drain time");
        }
    } else {
        shared.hard_stop.send_replace(true);
    }
    shared.hub.shutdown_relay().await;
    Ok(())
}

/// A running server (from [`App::start`]).
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    ops_task: Option<JoinHandle<()>>,
    hub: Hub,
    shutdown: ShutdownHandle,
    task: JoinHandle<Result<()>>,
}

impl Server {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address of `/metrics` and `/healthz` when `Config::metrics_addr`
    /// puts them on their own listener.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The server's hub.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// A handle that starts the shutdown from anywhere.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Shuts down gracefully: stops accepting, closes every connection with
    /// 1001, waits up to `drain_timeout`.
    pub async fn shutdown(self) -> Result<()> {
        self.shutdown.shutdown();
        self.wait().await
    }

    /// Waits until the server stopped (after a shutdown was started).
    pub async fn wait(self) -> Result<()> {
        let result = match self.task.await {
            Ok(result) => result,
            Err(e) => Err(Error::Io(std::io::Error::other(e))),
        };
        if let Some(ops) = self.ops_task {
            ops.abort();
        }
        result
    }
}
