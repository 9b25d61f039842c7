//! App-wide settings: the app's default for each route option, and the
//! settings that only exist app-wide.
//!
//! A route option of `#[ws_route]` that is not written takes the app's value
//! from the [`Config`] field of the same name (set through
//! [`App::config`](crate::App::config) or the builder shortcuts). The route
//! options, their meaning and their defaults are listed once, in the rustdoc
//! of [`ws_route`](crate::ws_route); each field below says its default too,
//! from the same table. The settings with no route option:
//!
//! | setting | default | why |
//! |---|---|---|
//! | `handshake_timeout` | 10 s | time to send a complete HTTP upgrade request (slowloris guard) |
//! | `drain_timeout` | 10 s | time connections get to close on shutdown |
//! | `read_buffer` | 2 KiB | read chunk per connection: about 131 KiB per idle connection with tungstenite's default, about 7 KiB in all with this (see the README's benchmarks) |
//! | `backlog` | 1024 | listen backlog, so a burst of connects is not refused or stalled |
//! | `max_handshake_headers` | 16 KiB | largest upgrade request head accepted |
//! | `batch` | 64 frames | frames written before one flush |
//! | `metrics` | on | Prometheus metrics (see [`metrics`](crate::metrics)) |
//! | `handler_timing` | on | the handler duration histogram; costs about 40 ns per message (a clock read and a histogram update), which shows only at a million messages per second and more (see the README's benchmarks) |
//! | `metrics_path` | `/metrics` | where the text exposition is served on the app's port (`None`: not served) |
//! | `metrics_addr` | none | serve `/metrics` and `/healthz` on this address instead of the app's port |
//! | `health_path` | `/healthz` | 200 while serving, 503 while draining (`None`: not served) |
//!
//! ```
//! let mut config = wirehub::Config::default();
//! config.heartbeat = Some(std::time::Duration::from_secs(15)); // every route without `heartbeat = ...`
//! config.drain_timeout = std::time::Duration::from_secs(5);
//! let app = wirehub::App::new().config(config);
//! # drop(app);
//! ```

use std::time::Duration;

pub use crate::auth::Origins;
use crate::limits::Rate;
pub use crate::route::OnFull;
use crate::route::{AuthFn, OnCloseFn, OnOpenFn, RouteOptions, TemplatePart};

macro_rules! config_and_resolved {
    ($($key:ident : $kind:ident {
        example: $example:literal,
        takes: $takes:literal,
        meaning: $meaning:literal,
        default: $default:literal,
        rules: [$($rules:tt)*],
        runtime: $runtime:ty,
        app: [$($app_ty:ty = $app_default:expr)?],
        resolve: $resolve:expr,
        resolved: $resolved:ty,
    }),* $(,)?) => {
        /// App-wide settings. Every field has a documented default ([`Config::default`]).
        #[derive(Debug, Clone)]
        #[non_exhaustive]
        pub struct Config {
            $($(
                #[doc = concat!(
                    "The default of route option `", stringify!($key), "`: ", $meaning,
                    ". Default: ", $default, "."
                )]
                pub $key: $app_ty,
            )?)*
            /// Longest time a client may take to send the HTTP upgrade request head.
            pub handshake_timeout: Duration,
            /// Longest time shutdown waits for connections to close.
            pub drain_timeout: Duration,
            /// Read buffer size per connection, in bytes.
            pub read_buffer: usize,
            /// Listen backlog.
            pub backlog: u32,
            /// Largest HTTP request head accepted, in bytes (at least 8 KiB).
            pub max_handshake_headers: usize,
            /// Frames written to the socket before one flush.
            pub batch: usize,
            /// Whether metrics are collected.
            pub metrics: bool,
            /// Whether handler calls are timed for `wirehub_handler_duration_seconds`
            /// (with `metrics`): one clock read and one local histogram update per
            /// message. Off, the histogram stays empty; everything else is counted.
            pub handler_timing: bool,
            /// Path of the Prometheus endpoint on the app's port.
            pub metrics_path: Option<String>,
            /// Path of the health endpoint on the app's port.
            pub health_path: Option<String>,
            /// A separate address for the metrics and health endpoints.
            pub metrics_addr: Option<String>,
        }

        impl Default for Config {
            fn default() -> Self {
                Config {
                    $($($key: { let default: $app_ty = $app_default; default },)?)*
                    handshake_timeout: Duration::from_secs(10),
                    drain_timeout: Duration::from_secs(10),
                    read_buffer: 2048,
                    backlog: 1024,
                    max_handshake_headers: 16 * 1024,
                    batch: 64,
                    metrics: true,
                    handler_timing: true,
                    metrics_path: Some("/metrics".to_owned()),
                    health_path: Some("/healthz".to_owned()),
                    metrics_addr: None,
                }
            }
        }

        /// Everything the runtime reads about a route: each option with the
        /// app's default filled in (the table's `resolve` column), and the
        /// app-wide settings a connection uses. Computed once per route when
        /// the app starts; nothing reads [`RouteOptions`] after that.
        #[derive(Debug, Clone)]
        pub(crate) struct Resolved {
            $(pub(crate) $key: $resolved,)*
            pub(crate) read_buffer: usize,
            pub(crate) batch: usize,
            pub(crate) handler_timing: bool,
        }

        impl Resolved {
            // The table's closures are called in place; `clone` copies what is `Copy`.
            #[allow(clippy::redundant_closure_call, clippy::clone_on_copy)]
            pub(crate) fn new(config: &Config, route: &RouteOptions) -> Self {
                Resolved {
                    $($key: ($resolve)(route.$key, ($({ let app: $app_ty = config.$key.clone(); app })?)),)*
                    read_buffer: config.read_buffer.max(256),
                    batch: config.batch.max(1),
                    handler_timing: config.handler_timing,
                }
            }
        }
    };
}

wirehub_options::route_options!(config_and_resolved);
