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
//! | `trusted_proxies` | none | socket peers (CIDR blocks) whose forwarding headers name the client: its address for per-IP caps, logs and `Conn::peer_addr`, and its host for the origin policy |
//! | `proxy_headers` | `X-Forwarded-*` | which forwarding headers trusted proxies send ([`ProxyHeaders`]) |
//! | `ipv6_cap_prefix` | 64 | IPv6 clients count against `max_connections_per_ip` by their first 64 bits (one site gets a /64, so one address each would be no cap) |
//!
//! ```
//! use std::time::Duration;
//!
//! let app = wirehub::App::new().config(|c| {
//!     c.heartbeat = Some(Duration::from_secs(15)); // every route without `heartbeat = ...`
//!     c.drain_timeout = Duration::from_secs(5);
//! });
//! # drop(app);
//! ```

use std::time::Duration;

pub use crate::auth::Origins;
pub use crate::proxy::{Cidr, CidrError, ProxyHeaders};

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

macro_rules! config_struct {
    ($($key:ident : $kind:ident {
        example: $example:literal,
        takes: $takes:literal,
        meaning: $meaning:literal,
        default: $default:literal,
        requires: [$($required:ident),*],
        runtime: $runtime:ty,
        app: [$($app_ty:ty = $app_default:expr)?],
        $($resolution:tt)*
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
            /// Socket peers whose forwarding headers are believed (your reverse proxies).
            pub trusted_proxies: Vec<Cidr>,
            /// Which forwarding headers the trusted proxies send.
            pub proxy_headers: ProxyHeaders,
            /// Bits of an IPv6 client address that count as one client for
            /// `max_connections_per_ip` (128: every address on its own).
            pub ipv6_cap_prefix: u8,
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
                    trusted_proxies: Vec::new(),
                    proxy_headers: ProxyHeaders::XForwarded,
                    ipv6_cap_prefix: 64,
                }
            }
        }
    };
}

wirehub_options::route_options!(config_struct);
