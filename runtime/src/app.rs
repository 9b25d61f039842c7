//! [`App`]: collects the `#[ws_route]` handlers linked into the binary and
//! serves them.
//!
//! ```no_run
//! # async fn f() -> wirehub::Result<()> {
//! wirehub::App::new()
//!     .bind("127.0.0.1:8000")
//!     .state(std::sync::atomic::AtomicU64::new(0))
//!     .config(|c| c.max_message = 16 << 20)
//!     .serve() // until Ctrl-C or SIGTERM, then a graceful shutdown
//!     .await
//! # }
//! ```
//!
//! Three ways to run it: [`serve`](App::serve) (or
//! [`start`](App::start)) on a listener of its own, plain or TLS;
//! [`build`](App::build) without one, to mount its routes in axum or hyper
//! or feed it connections ([`Embedded`]).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use prometheus::Registry;

use crate::backplane::{Backplane, Local};
use crate::config::Config;
use crate::connection::StateMap;
use crate::error::Result;
use crate::hub::Hub;
use crate::message::IntoMessage;
use crate::reply::{ErrorBody, ErrorInfo};
use crate::route::RouteDef;
use crate::server::{self, Embedded, HttpReply, Page, Server, Transport};

/// A WebSocket server: its routes, settings, shared state and hub.
pub struct App {
    addr: String,
    config: Config,
    state: StateMap,
    hub: Hub,
    routes: Vec<&'static RouteDef>,
    /// Patterns asked for with [`App::route`] that no linked handler has.
    unknown: Vec<String>,
    pages: HashMap<String, Page>,
    registry: Option<Registry>,
    backplane: Box<dyn Backplane>,
    transport: Transport,
    error_body: ErrorBody,
    /// Where to serve the AsyncAPI document, and its `info`.
    #[cfg(feature = "contract")]
    asyncapi: Option<(String, crate::contract::Info)>,
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
        let mut app = App::empty();
        app.routes = linked().collect();
        app.routes.sort_by_key(|r| (r.path, r.file, r.line));
        app
    }

    /// An app serving no route until [`route`](App::route) adds one: the
    /// routes it serves are the ones it lists, so a `#[ws_route]` linked in
    /// from a dependency is never served by surprise.
    ///
    /// ```
    /// let app = wirehub::App::empty().route("/echo").route("/chat/{room}");
    /// # drop(app);
    /// ```
    pub fn empty() -> Self {
        App {
            addr: "127.0.0.1:8000".to_owned(),
            config: Config::default(),
            state: StateMap::default(),
            hub: Hub::new(),
            routes: Vec::new(),
            unknown: Vec::new(),
            pages: HashMap::new(),
            registry: None,
            backplane: Box::new(Local),
            transport: Transport::Plain,
            error_body: ErrorBody::default(),
            #[cfg(feature = "contract")]
            asyncapi: None,
        }
    }

    /// Serves the `#[ws_route]` handler declared with this path pattern,
    /// exactly as written in its attribute (`"/chat/{room}"`). A pattern no
    /// linked handler has makes [`build`](App::build), [`start`](App::start)
    /// and [`serve`](App::serve) fail with [`Error::UnknownRoute`](crate::Error::UnknownRoute),
    /// naming the patterns there are; a pattern two linked handlers share is
    /// the duplicate-route error naming both. Adding a route the app
    /// already serves changes nothing.
    ///
    /// ```no_run
    /// # async fn f() -> wirehub::Result<()> {
    /// let app = wirehub::App::empty().route("/echo").bind("127.0.0.1:0").start().await?;
    /// # drop(app);
    /// # Ok(())
    /// # }
    /// ```
    pub fn route(mut self, pattern: &str) -> Self {
        let mut found = false;
        for def in linked().filter(|def| def.path == pattern) {
            found = true;
            if !self.routes.iter().any(|r| std::ptr::eq(*r, def)) {
                self.routes.push(def);
            }
        }
        if !found {
            self.unknown.push(pattern.to_owned());
        }
        self.routes.sort_by_key(|r| (r.path, r.file, r.line));
        self
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
    /// serve a subset of the handlers linked into one binary; to list them
    /// instead, see [`empty`](App::empty) and [`route`](App::route)).
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

    /// Serves the AsyncAPI 3.0 document of the app's routes at `path` on
    /// plain HTTP GET (feature `contract`; see [`contract::asyncapi`](crate::contract::asyncapi)
    /// for what it says). It is written when the app is built, from the
    /// routes it serves then.
    ///
    /// ```
    /// use wirehub::contract::Info;
    ///
    /// let app = wirehub::App::new().asyncapi("/asyncapi.json", Info::new("Chat", "1.0.0"));
    /// # drop(app);
    /// ```
    #[cfg(feature = "contract")]
    pub fn asyncapi(mut self, path: &str, info: crate::contract::Info) -> Self {
        // A placeholder until `build` writes the document, so `check` sees the path.
        self.pages.insert(path.to_owned(), Page::Static(HttpReply::ok("application/json", "{}")));
        self.asyncapi = Some((path.to_owned(), info));
        self
    }

    /// Believes the forwarding headers (`X-Forwarded-For`, `-Host`,
    /// `-Proto`, or `Forwarded` with [`ProxyHeaders`](crate::config::ProxyHeaders))
    /// of requests from these socket peers: your reverse proxies. The
    /// client they name is the one per-IP caps count, logs show,
    /// `Conn::peer_addr` returns, and whose host the origin policy checks.
    /// From any other peer those headers change nothing. Default: none.
    ///
    /// ```
    /// use wirehub::config::Cidr;
    ///
    /// # fn f() -> Result<(), wirehub::config::CidrError> {
    /// let proxies: Vec<Cidr> = vec!["10.0.0.0/8".parse()?, "127.0.0.1".parse()?];
    /// let app = wirehub::App::new().trusted_proxies(proxies);
    /// # drop(app);
    /// # Ok(())
    /// # }
    /// ```
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = crate::config::Cidr>) -> Self {
        self.config.trusted_proxies = proxies.into_iter().collect();
        self
    }

    /// Serves `wss://`: TLS on the app's listener, with this certificate
    /// (feature `tls`; see [`Tls`](crate::Tls), which also reloads it).
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// let tls = wirehub::Tls::from_pem_files("cert.pem", "key.pem")?;
    /// wirehub::App::new().bind("0.0.0.0:8443").tls(tls).serve().await?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::Tls) -> Self {
        self.transport = Transport::Tls(tls);
        self
    }

    /// Registers wirehub's metrics in your own Prometheus registry (so one
    /// endpoint exposes your metrics and wirehub's). Default: a registry of
    /// the app's own, served at `Config::metrics_path`.
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Formats the body of every error answer: a handler's error that
    /// replies ([`ErrorReply`](crate::ErrorReply), [`Config::on_error`]) and
    /// a message an extractor refuses (a `Json<T>` that does not parse).
    /// Return a message, text or `Json(value)`; a value that does not
    /// serialize is logged and the default body goes instead. Default:
    /// `{"type":"error","error":"<text>"}`, with `"code"` when the error has
    /// one ([`ErrorInfo::default_body`]).
    ///
    /// ```
    /// use wirehub::reply::ErrorInfo;
    /// use wirehub::Json;
    ///
    /// let app = wirehub::App::new()
    ///     .error_body(|e: &ErrorInfo<'_>| Json(serde_json::json!({ "event": "error", "detail": e.message })));
    /// # drop(app);
    /// ```
    pub fn error_body<M: IntoMessage>(mut self, format: impl Fn(&ErrorInfo<'_>) -> M + Send + Sync + 'static) -> Self {
        self.error_body = ErrorBody::custom(format);
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

    /// Serves until Ctrl-C or SIGTERM ([`shutdown_signal`](crate::shutdown_signal)),
    /// then shuts down gracefully.
    pub async fn serve(self) -> Result<()> {
        self.serve_with_shutdown(server::shutdown_signal()).await
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
        let (addr, transport) = (self.addr.clone(), self.transport.clone());
        let app = self.build().await?;
        server::start(app, &addr, transport).await
    }

    /// Builds the app without a listener: its routes mounted, its hub and
    /// backplane running, its drain ready. Serve it inside axum
    /// (`Embedded::router`, feature `axum`), as a tower service
    /// ([`Embedded::service`]), or on connections you accept
    /// ([`Embedded::serve_connection`]). [`bind`](App::bind) and
    /// [`tls`](App::tls) do not apply: whoever accepts decides.
    ///
    /// ```no_run
    /// # async fn f() -> wirehub::Result<()> {
    /// let app = wirehub::App::new().build().await?;
    /// let (client, server) = tokio::io::duplex(64 * 1024);
    /// tokio::spawn(app.serve_connection(server, "127.0.0.1:1".parse().expect("addr")));
    /// # drop(client);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn build(#[allow(unused_mut)] mut self) -> Result<Embedded> {
        self.check_listed()?;
        #[cfg(feature = "contract")]
        if let Some((path, info)) = self.asyncapi.take() {
            let doc = crate::contract::asyncapi(&self, &info);
            let body = serde_json::to_vec(&doc).unwrap_or_default();
            self.pages.insert(path, Page::Static(HttpReply::ok("application/json", body)));
        }
        let App { addr, config, state, hub, routes, pages, registry, backplane, error_body, .. } = self;
        let bound = addr.parse().ok();
        let parts = server::Parts { bound, config, state, hub, routes, pages, registry, backplane, error_body };
        server::build(parts).await
    }

    /// Runs every check [`build`](App::build) runs before it starts
    /// anything, and returns the error `build` would: a pattern
    /// [`route`](App::route) asked for that no handler declares, two
    /// handlers on one pattern, a `State<T>` never registered, a `Path<T>`
    /// field that is no `{param}` of its route, a page (built-in ones
    /// included) on a route's path. Binds nothing, spawns nothing, needs no
    /// runtime: a plain `#[test]` catches these before the app ever starts.
    ///
    /// Left to `build`: what needs the outside world (binding
    /// `Config::metrics_addr`, starting the backplane) and metric names
    /// clashing with your own [`registry`](App::registry) (checking them
    /// would register them).
    ///
    /// ```
    /// use wirehub::prelude::*;
    ///
    /// struct Db;
    ///
    /// #[ws_route("/items")]
    /// async fn items(_db: State<Db>, text: String) -> String {
    ///     text
    /// }
    ///
    /// let err = App::empty().route("/items").check().expect_err("no Db registered");
    /// assert!(err.to_string().contains("Db` was registered"), "{err}");
    /// App::empty().route("/items").state(Db).check().expect("Db registered");
    /// ```
    pub fn check(&self) -> Result<()> {
        self.check_listed()?;
        server::check(&self.config, &self.state, &self.routes, &self.pages, None).map(drop)
    }

    /// Fails with [`Error::UnknownRoute`](crate::Error::UnknownRoute) when
    /// [`route`](App::route) asked for a pattern no linked handler has.
    fn check_listed(&self) -> Result<()> {
        let Some(path) = self.unknown.first() else { return Ok(()) };
        let mut linked: Vec<&'static str> = linked().map(|def| def.path).collect();
        linked.sort_unstable();
        linked.dedup();
        Err(crate::Error::UnknownRoute { path: path.clone(), linked })
    }
}

/// The routes the app serves, for its AsyncAPI document and TypeScript definitions.
#[cfg(feature = "contract")]
impl crate::contract::RouteSet for App {
    fn route_defs(&self) -> &[&'static RouteDef] {
        &self.routes
    }
}

/// Every `#[ws_route]` handler linked into the binary.
fn linked() -> impl Iterator<Item = &'static RouteDef> {
    inventory::iter::<RouteDef>.into_iter()
}
