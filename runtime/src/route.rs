//! Routes as the `#[ws_route]` macro emits them: plain `const` data.
//!
//! Everything the attribute says is parsed at compile time: the path becomes a
//! slice of [`Segment`]s, `"30s"` becomes a [`Duration`], `"1MiB"` a byte count,
//! a room template a slice of [`TemplatePart`]s. The runtime never parses those
//! strings again. The macro submits one [`RouteDef`] per handler through
//! `inventory`; [`App::new`](crate::App::new) collects them.

use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::connection::Setup;
use crate::extract::{Kinds, Needs};

/// One registered handler: its path, options and generated glue.
#[doc(hidden)]
#[derive(Debug)]
pub struct RouteDef {
    /// The path pattern as written, e.g. `/chat/{room}`.
    pub path: &'static str,
    /// The pattern, split at `/`.
    pub segments: &'static [Segment],
    /// The names of the `{param}` segments, in order.
    pub params: &'static [&'static str],
    /// The handler function's name.
    pub handler: &'static str,
    /// Where the handler is defined.
    pub file: &'static str,
    /// The line of the handler's `#[ws_route]`.
    pub line: u32,
    /// The options of the attribute.
    pub options: RouteOptions,
    /// Which message kinds the handler's extractors accept.
    pub kinds: Kinds,
    /// What the connection must copy out of the upgrade request.
    pub needs: Needs,
    /// Checks the handler's extractors against the app when it starts.
    pub check: fn(&crate::extract::CheckCx<'_>) -> Result<(), crate::extract::CheckError>,
    /// Checks an upgrade request's path params and query against the
    /// handler's extractors, before the upgrade (400 when they do not parse).
    pub admit: fn(&crate::extract::AdmitCx<'_>) -> Result<(), crate::extract::AdmitError>,
    /// Spawns the task of one connection (it completes the upgrade, then runs).
    pub serve: fn(Setup),
}

inventory::collect!(RouteDef);

impl RouteDef {
    /// `handler (file:line)`, for error messages.
    pub(crate) fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// One `/`-separated piece of a path pattern.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// A segment that must match exactly.
    Static(&'static str),
    /// A `{param}` segment, matching any one non-empty segment.
    Param,
}

/// A piece of a room template such as `chat:{room}`.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplatePart {
    /// Literal text.
    Lit(&'static str),
    /// The value of the path parameter at this index.
    Param(usize),
}

/// What happens to a message for a member whose outbound queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFull {
    /// Close the slow member with 1013 ("try again later"). The default: a
    /// member that silently misses messages shows a wrong state (a chat with
    /// holes, a stale dashboard); closed, its client reconnects and resyncs.
    Close,
    /// Drop the message for that member only, and count it.
    Drop,
}

/// The options of one route. Fields left `None` take the app's default
/// (see [`Config`](crate::Config)).
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct RouteOptions {
    /// `max_message = "1MiB"`.
    pub max_message: Option<usize>,
    /// `idle_timeout = "60s"` (`Duration::ZERO`: `"off"`, whatever the app's default).
    pub idle_timeout: Option<Duration>,
    /// `heartbeat = "30s"` (`Duration::ZERO`: `"off"`, whatever the app's default).
    pub heartbeat: Option<Duration>,
    /// `heartbeat_timeout = "10s"`.
    pub heartbeat_timeout: Option<Duration>,
    /// `write_timeout = "5s"`.
    pub write_timeout: Option<Duration>,
    /// `close_timeout = "2s"`.
    pub close_timeout: Option<Duration>,
    /// `app_ping = "ping"`: the text the runtime answers without the handler.
    pub app_ping: Option<&'static str>,
    /// `app_pong = "{\"type\":\"pong\"}"`: the answer to `app_ping`.
    pub app_pong: Option<&'static str>,
    /// `broadcast = "chat:{room}"`.
    pub broadcast: Option<&'static [TemplatePart]>,
    /// `exclude_sender = true`: replies go to the room minus the sender.
    pub exclude_sender: bool,
    /// `idle_counts_pings = true`: pings and pongs reset `idle_timeout`.
    pub idle_counts_pings: bool,
    /// `queue = 1024`: outbound queue capacity in messages.
    pub queue: Option<usize>,
    /// `on_full = "close" | "drop"`.
    pub on_full: Option<OnFull>,
    /// `on_open = path::to::fn`.
    pub on_open: Option<fn(crate::Conn) -> BoxFuture<'static, ()>>,
    /// `on_close = path::to::fn`.
    pub on_close: Option<fn(crate::Conn, crate::CloseReason) -> BoxFuture<'static, ()>>,
    /// `auth = path::to::validator`.
    pub auth: Option<AuthFn>,
    /// `reauth = "15m"`: run the validator again this often.
    pub reauth: Option<Duration>,
    /// `protocols = ["chat.v1", "chat.v2"]`: subprotocols, in preference order.
    pub protocols: &'static [&'static str],
    /// `origins = ["https://a.example", "*.example.com"]`.
    pub origins: Option<&'static [&'static str]>,
    /// `rate = "50/s"`.
    pub rate: Option<crate::limits::Rate>,
    /// `burst = 100`.
    pub burst: Option<u32>,
    /// `max_connections = 10000`.
    pub max_connections: Option<usize>,
    /// `max_connections_per_ip = 20`.
    pub max_connections_per_ip: Option<usize>,
}

/// The generated wrapper of a route's validator.
pub type AuthFn =
    for<'a> fn(&'a crate::auth::Handshake) -> BoxFuture<'a, Result<crate::auth::Identity, crate::auth::Reject>>;

impl RouteOptions {
    /// Every option unset.
    pub const DEFAULT: RouteOptions = RouteOptions {
        max_message: None,
        idle_timeout: None,
        heartbeat: None,
        heartbeat_timeout: None,
        write_timeout: None,
        close_timeout: None,
        app_ping: None,
        app_pong: None,
        broadcast: None,
        exclude_sender: false,
        idle_counts_pings: false,
        queue: None,
        on_full: None,
        on_open: None,
        on_close: None,
        auth: None,
        reauth: None,
        protocols: &[],
        origins: None,
        rate: None,
        burst: None,
        max_connections: None,
        max_connections_per_ip: None,
    };
}

/// Renders a room template with a connection's path parameter values.
pub(crate) fn render_template(parts: &[TemplatePart], params: &[Box<str>]) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            TemplatePart::Lit(s) => out.push_str(s),
            TemplatePart::Param(i) => out.push_str(params.get(*i).map_or("", |p| p)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_params_in_place() {
        let parts = [TemplatePart::Lit("chat:"), TemplatePart::Param(1), TemplatePart::Lit("!")];
        let params: Vec<Box<str>> = vec!["x".into(), "lobby".into()];
        assert_eq!(render_template(&parts, &params), "chat:lobby!");
        assert_eq!(render_template(&[TemplatePart::Lit("lobby")], &[]), "lobby");
    }
}
