//! Starting and running a server: binding, the accept loop, the separate
//! metrics listener, and the drain on shutdown. [`App::start`](crate::App::start)
//! hands its parts here.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use prometheus::Registry;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::state::{mount, Shared};
use super::{listen, serve_tcp, HttpReply, Page, ShutdownHandle};
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
use crate::route::RouteDef;
use crate::router::Router;

/// What an [`App`](crate::App) was built with.
pub(crate) struct Parts {
    pub(crate) addr: String,
    pub(crate) config: Config,
    pub(crate) state: StateMap,
    pub(crate) hub: Hub,
    pub(crate) routes: Vec<&'static RouteDef>,
    pub(crate) pages: HashMap<String, Page>,
    pub(crate) registry: Option<Registry>,
    pub(crate) backplane: Box<dyn Backplane>,
}

/// Binds and starts serving in the background.
pub(crate) async fn start(parts: Parts) -> Result<Server> {
    let Parts { addr, config, state, hub, routes, mut pages, registry, backplane } = parts;
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
    if let Some(relay) = backplane.start(cx).await? {
        hub.0.set_relay(relay);
    }
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
    if let Some(m) = &metrics {
        hub.0.attach_metrics(m);
    }
    let router = mount(&config, &state, &routes, metrics.as_ref())?;
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
    let listener = listen(&addr, config.backlog).await?;
    let local_addr = listener.local_addr()?;
    let env = Arc::new(Env {
        hub: hub.clone(),
        state,
        epoch: Instant::now(),
        draining,
        hard_stop: tokio::sync::watch::Sender::new(false),
        handshake_timeout: config.handshake_timeout,
    });
    let allowed_hosts = AllowedHosts::new(local_addr, &config.allowed_hosts);
    let gate = Gate::new(config.max_sockets, config.handshake_rate_per_ip, config.failed_auth_per_ip);
    let shared = Arc::new(Shared { env, config, router, pages, metrics, allowed_hosts, gate });
    let mut metrics_addr = None;
    let mut ops_task = None;
    if let Some((ops_listener, ops_pages)) = ops {
        metrics_addr = Some(ops_listener.local_addr()?);
        let ops_shared = Arc::new(Shared {
            env: shared.env.clone(),
            config: shared.config.clone(),
            router: Router::new(),
            pages: ops_pages,
            metrics: None,
            allowed_hosts: AllowedHosts::default(),
            gate: Gate::default(),
        });
        ops_task = Some(tokio::spawn(serve_ops(ops_listener, ops_shared)));
    }
    let shutdown = ShutdownHandle::new();
    let task = tokio::spawn(accept_loop(listener, shared, shutdown.clone()));
    tracing::info!(addr = %local_addr, ?metrics_addr, "wirehub listening");
    Ok(Server { local_addr, metrics_addr, hub, shutdown, task, ops_task })
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

/// Serves `/metrics` and `/healthz` on their own address until the server stops.
async fn serve_ops(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((tcp, peer)) => {
                tokio::spawn(serve_tcp(tcp, peer, shared.clone()));
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
                Ok((tcp, peer)) => super::http::accept(tcp, peer, &shared),
                Err(e) => {
                    // Out of file descriptors or similar: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            }
        }
    }
    drop(listener);
    shared.env.draining.store(true, std::sync::atomic::Ordering::Release);
    let open = shared.env.hub.0.connections();
    tracing::info!(open, "draining connections");
    shared.env.hub.0.close_all(&CloseReason::Shutdown, &CloseFrame::new(CloseCode::Away, "server shutting down"));
    if !shared.env.hub.0.wait_empty(shared.config.drain_timeout).await {
        tracing::warn!(left = shared.env.hub.0.connections(), "drain timeout: dropping the remaining connections");
        shared.env.hard_stop.send_replace(true);
        // Their close phases end at once; on_close hooks get a moment to run.
        if !shared.env.hub.0.wait_empty(HARD_STOP_GRACE).await {
            tracing::warn!(left = shared.env.hub.0.connections(), "connections still running after the drain time");
        }
    } else {
        shared.env.hard_stop.send_replace(true);
    }
    shared.env.hub.0.shutdown_relay().await;
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
