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
use std::sync::Arc;

use prometheus::Registry;

use crate::backplane::{Backplane, Local};
use crate::config::Config;
use crate::connection::StateMap;
use crate::error::Result;
use crate::hub::Hub;
use crate::route::RouteDef;
use crate::server::{self, HttpReply, Page, Server};

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
        let App { addr, config, state, hub, routes, pages, registry, backplane } = self;
        server::start(server::Parts { addr, config, state, hub, routes, pages, registry, backplane }).await
    }
}
