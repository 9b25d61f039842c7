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
use crate::limits::Rate;

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
    pub check: fn(&crate::extract::CheckCx<'_>) -> Result<(), String>,
    /// Checks an upgrade request's path params and query against the
    /// handler's extractors, before the upgrade (400 when they do not parse).
    pub admit: fn(&crate::extract::AdmitCx<'_>) -> Result<(), String>,
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

/// The generated wrapper of a route's `on_open` hook.
pub type OnOpenFn = fn(crate::Conn) -> BoxFuture<'static, ()>;

/// The generated wrapper of a route's `on_close` hook.
pub type OnCloseFn = fn(crate::Conn, crate::CloseReason) -> BoxFuture<'static, ()>;

/// The generated wrapper of a route's validator.
pub type AuthFn =
    for<'a> fn(&'a crate::auth::Handshake) -> BoxFuture<'a, Result<crate::auth::Identity, crate::auth::Reject>>;

macro_rules! route_options_struct {
    ($($key:ident : $kind:ident {
        example: $example:literal,
        takes: $takes:literal,
        meaning: $meaning:literal,
        default: $default:literal,
        rules: [$($rules:tt)*],
        runtime: $runtime:ty,
        $($resolution:tt)*
    }),* $(,)?) => {
        /// The options of one route as the macro emits them, one field per
        /// row of the option table (`None`: not written; see
        /// [`Resolved`](crate::config::Resolved) for what the runtime uses).
        #[doc(hidden)]
        #[derive(Debug, Clone, Copy)]
        pub struct RouteOptions {
            $(
                #[doc = concat!("`", stringify!($key), " = ", $example, "`: ", $meaning, ".")]
                pub $key: Option<$runtime>,
            )*
        }

        impl RouteOptions {
            /// Every option unset.
            pub const DEFAULT: RouteOptions = RouteOptions { $($key: None,)* };
        }
    };
}

wirehub_options::route_options!(route_options_struct);

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
