//! Routes as the `#[ws_route]` macro emits them: plain `const` data.
//!
//! Everything the attribute says is parsed at compile time: the path becomes a
//! slice of [`Segment`]s, `"30s"` becomes a [`Duration`], `"1MiB"` a byte count,
//! a room template a slice of [`TemplatePart`]s. The runtime never parses those
//! strings again. The macro submits one [`RouteDef`] per handler through
//! `inventory`; [`App::new`](crate::App::new) collects them.

use std::time::Duration;

use crate::auth::Origins;
use crate::config::Config;
use crate::config::OnFull;
use crate::connection::conn::{AuthFn, OnCloseFn, OnOpenFn};
use crate::connection::{Resolved, Setup};
use crate::contract::MessageFn;
use crate::extract::{Kinds, Needs};
use crate::limits::Rate;
use crate::template::{Segment, TemplatePart};

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
    /// Adds what the hooks need and the session values to the route's plan.
    pub plan: fn(&mut crate::hooks::Plan),
}

inventory::collect!(RouteDef);

impl RouteDef {
    /// `handler (file:line)`, for error messages.
    pub(crate) fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

macro_rules! route_options_struct {
    ($($key:ident { example: $example:literal, meaning: $meaning:literal, runtime: $runtime:ty }),* $(,)?) => {
        /// The options of one route as the macro emits them, one field per
        /// row of the option table (`None`: not written; see
        /// `Resolved` in `connection::conn` for what the runtime uses).
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

wirehub_options::route_options!(route_options: route_options_struct);

macro_rules! resolve_fn {
    ($($key:ident { app: [$($app_ty:ty)?], resolve: $resolve:expr }),* $(,)?) => {
        impl RouteOptions {
            /// Each option with the app's default filled in: the table's
            /// `resolve` column, run once per route when the app starts.
            // The table's closures are called in place; `clone` copies what is `Copy`.
            #[allow(clippy::redundant_closure_call, clippy::clone_on_copy)]
            pub(crate) fn resolve(&self, config: &Config) -> Resolved {
                Resolved {
                    $($key: ($resolve)(self.$key, ($({ let app: $app_ty = config.$key.clone(); app })?)),)*
                    read_buffer: config.read_buffer.clamp(256, crate::connection::MAX_READ_CHUNK),
                    write_buffer: config.write_buffer,
                    max_write_buffer: config
                        .max_write_buffer
                        .max(config.write_buffer.saturating_add(self.max_message.unwrap_or(config.max_message)))
                        .saturating_add(WRITE_BUFFER_SLACK),
                    fragment_timeout: config.fragment_timeout,
                    max_rooms: config.max_rooms_per_conn,
                    batch: config.batch.max(1),
                    handler_timing: config.handler_timing,
                }
            }
        }
    };
}

wirehub_options::route_options!(resolve: resolve_fn);

/// Room for one frame header and a pong past the sizes the write buffer
/// must hold.
const WRITE_BUFFER_SLACK: usize = 256;
