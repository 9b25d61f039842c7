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
//! | `read_buffer` | 4 KiB | most bytes taken from the socket per read (256 B to 16 KiB); the chunk is on the stack of the read, so an idle connection holds no read buffer; a frame that is not complete yet is kept, with room reserved for its announced length (up to `max_message`), and a large message is read straight into its own buffer |
//! | `backlog` | 1024 | listen backlog, so a burst of connects is not refused or stalled |
//! | `max_handshake_headers` | 16 KiB | largest upgrade request head accepted |
//! | `batch` | 64 frames | frames written before one flush |
//! | `metrics` | on | Prometheus metrics (see [`metrics`](crate::metrics)) |
//! | `handler_timing` | on | the handler duration histogram; costs about 40 ns per message (a clock read and a histogram update), which shows only at a million messages per second and more (see the README's benchmarks) |
//! | `metrics_path` | `/metrics` | where the text exposition is served on the app's port (`None`: not served) |
//! | `metrics_addr` | none | serve `/metrics` and `/healthz` on this address instead of the app's port |
//! | `health_path` | `/healthz` | 200 while serving, 503 while draining (`None`: not served) |
//! | `write_buffer` | 128 KiB | bytes a write batch gathers before writing to the socket |
//! | `max_write_buffer` | 1 MiB | most bytes a connection's write buffer holds, pongs and the close answer included (raised per route to fit one `max_message` message after a full `write_buffer`); a peer that floods pings and never reads cannot grow it |
//! | `fragment_timeout` | 30 s | a fragmented message must be complete this long after its first frame, or the connection closes with 1008 |
//! | `max_sockets` | 100 000 | TCP connections held at once, upgraded or not (the metrics address apart); more are closed at accept |
//! | `handshake_rate_per_ip` | 1000/s | requests per client IP (an IPv6 client: its /64); faster gets 429 |
//! | `failed_auth_per_ip` | 60/min | refused authentications per client IP; over it the IP gets 429 before its validator runs |
//! | `max_rooms_per_conn` | 1024 | rooms one connection may be in; a further `join` is refused (logged) |
//! | `allowed_hosts` | empty | hosts whose pages may connect under the default origin policy, besides the bind address and `localhost` names (see [`Origins`]) |
//! | `trusted_proxies` | none | socket peers (CIDR blocks) whose forwarding headers name the client: its address for per-IP caps, logs and `Conn::peer_addr`, and its host for the origin policy |
//! | `proxy_headers` | `X-Forwarded-*` | which forwarding headers trusted proxies send ([`ProxyHeaders`]) |
//! | `ipv6_cap_prefix` | 64 | IPv6 clients count against `max_connections_per_ip` by their first 64 bits (one site gets a /64, so one address each would be no cap) |
//! | `on_error` | close with 1011 | what a handler's `Err` does when its error type does not say ([`OnError`]): `String`, `&str`, `Box<dyn Error + Send + Sync>`, `anyhow::Error`, `io::Error`, and your types with an empty `impl HandlerError`; [`OnError::reply()`] answers the sender with the app's error body and keeps the connection open |
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
pub use crate::limits::Rate;
pub use crate::proxy::{Cidr, CidrError, ProxyHeaders};
use crate::reply::OnError;

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
    ($($key:ident {
        meaning: $meaning:literal,
        default: $default:literal,
        app: [$($app_ty:ty = $app_default:expr)?]
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
            /// Most bytes read from a socket per read (256 B to 16 KiB).
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
            /// Bytes a write batch gathers before writing to the socket.
            pub write_buffer: usize,
            /// Most bytes one connection's write buffer holds, pongs and
            /// the close answer included; each route raises it to fit one
            /// `max_message` message after a full `write_buffer`. A message
            /// that does not fit even an empty buffer is dropped and counted.
            pub max_write_buffer: usize,
            /// Longest time from a fragmented message's first frame to its last.
            pub fragment_timeout: Duration,
            /// TCP connections held at once, upgraded or not (`None`: no cap).
            pub max_sockets: Option<usize>,
            /// HTTP requests per client IP, an IPv6 client counted by its /64
            /// (`None`: no limit); faster ones get 429.
            pub handshake_rate_per_ip: Option<Rate>,
            /// Refused authentications per client IP (`None`: no limit); over
            /// it, the IP's upgrades get 429 without running the validator.
            pub failed_auth_per_ip: Option<Rate>,
            /// Rooms one connection may be in at once.
            pub max_rooms_per_conn: usize,
            /// Hosts (`app.example.com`, `app.example.com:8443`) whose pages may
            /// connect under the default origin policy ([`Origins::AllowedHosts`]),
            /// besides the bind address and `localhost` names.
            pub allowed_hosts: Vec<String>,
            /// Socket peers whose forwarding headers are believed (your reverse proxies).
            pub trusted_proxies: Vec<Cidr>,
            /// Which forwarding headers the trusted proxies send.
            pub proxy_headers: ProxyHeaders,
            /// Bits of an IPv6 client address that count as one client for
            /// `max_connections_per_ip` (128: every address on its own).
            pub ipv6_cap_prefix: u8,
            /// What a handler's `Err` does when its error does not choose
            /// ([`HandlerError::on_error`](crate::HandlerError::on_error) is
            /// `None`: `String`, `anyhow::Error`, boxed and I/O errors, empty
            /// `impl HandlerError`s). Default: close with 1011 and the
            /// error's text as the reason; [`OnError::reply()`] answers the
            /// sender with the app's error body and keeps the connection open.
            pub on_error: OnError,
        }

        impl Default for Config {
            fn default() -> Self {
                Config {
                    $($($key: { let default: $app_ty = $app_default; default },)?)*
                    handshake_timeout: Duration::from_secs(10),
                    drain_timeout: Duration::from_secs(10),
                    read_buffer: 4096,
                    backlog: 1024,
                    max_handshake_headers: 16 * 1024,
                    batch: 64,
                    metrics: true,
                    handler_timing: true,
                    metrics_path: Some("/metrics".to_owned()),
                    health_path: Some("/healthz".to_owned()),
                    metrics_addr: None,
                    write_buffer: 128 * 1024,
                    max_write_buffer: 1 << 20,
                    fragment_timeout: Duration::from_secs(30),
                    max_sockets: Some(100_000),
                    handshake_rate_per_ip: Some(Rate { count: 1000, per: Duration::from_secs(1) }),
                    failed_auth_per_ip: Some(Rate { count: 60, per: Duration::from_secs(60) }),
                    max_rooms_per_conn: 1024,
                    allowed_hosts: Vec::new(),
                    trusted_proxies: Vec::new(),
                    proxy_headers: ProxyHeaders::XForwarded,
                    ipv6_cap_prefix: 64,
                    on_error: OnError::default(),
                }
            }
        }
    };
}

wirehub_options::route_options!(config: config_struct);
