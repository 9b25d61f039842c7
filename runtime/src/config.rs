//! App-wide settings and the defaults of every route option.
//!
//! Each route option of `#[ws_route]` that is not written takes the value set
//! here on [`App`](crate::App) (through [`App::config`](crate::App::config) or the
//! builder shortcuts), and these are the documented defaults:
//!
//! | setting | default | why |
//! |---|---|---|
//! | `max_message` | 1 MiB | bounds what one peer can make the server buffer |
//! | `idle_timeout` | off | a notification socket may legitimately stay quiet for hours; the heartbeat finds dead peers (a route's `"off"` turns off an app-wide one) |
//! | `idle_counts_pings` | false | pings and pongs are liveness, not activity: only data messages reset `idle_timeout` |
//! | `heartbeat` | 30 s | finds dead peers (NAT timeouts, pulled cables) within a minute (a route's `"off"` turns it off) |
//! | `heartbeat_timeout` | 10 s | the peer must show life within `heartbeat + heartbeat_timeout` |
//! | `write_timeout` | 10 s | a peer that stops reading cannot pin the server's memory for long |
//! | `close_timeout` | 3 s | time the peer has to answer our Close frame |
//! | `queue` | 1024 messages | outbound queue per connection |
//! | `on_full` | `close` (1013) | see [`OnFull`] |
//! | `handshake_timeout` | 10 s | time to send a complete HTTP upgrade request (slowloris guard) |
//! | `drain_timeout` | 10 s | time connections get to close on shutdown |
//! | `read_buffer` | 2 KiB | read chunk per connection: about 131 KiB per idle connection with tungstenite's default, about 7 KiB in all with this (see the README's benchmarks) |
//! | `backlog` | 1024 | listen backlog, so a burst of connects is not refused or stalled |
//! | `max_handshake_headers` | 16 KiB | largest upgrade request head accepted |
//! | `batch` | 64 frames | frames written before one flush |
//! | `origins` | same host | see [`Origins`]: browsers may only connect from pages of this host |
//! | `max_connections` | none | per route; over it the handshake gets 503 |
//! | `max_connections_per_ip` | none | per route and client IP; over it the handshake gets 429 |
//! | `metrics` | on | Prometheus metrics (see [`metrics`](crate::metrics)) |
//! | `handler_timing` | on | the handler duration histogram; costs about 40 ns per message (a clock read and a histogram update), which shows only at a million messages per second and more (see the README's benchmarks) |
//! | `metrics_path` | `/metrics` | where the text exposition is served on the app's port (`None`: not served) |
//! | `metrics_addr` | none | serve `/metrics` and `/healthz` on this address instead of the app's port |
//! | `health_path` | `/healthz` | 200 while serving, 503 while draining (`None`: not served) |

use std::time::Duration;

pub use crate::auth::Origins;
pub use crate::route::OnFull;
use crate::route::RouteOptions;

/// App-wide settings. Every field has a documented default ([`Config::default`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Largest message (and frame) accepted; a bigger one closes with 1009.
    pub max_message: usize,
    /// Close a connection (1000) that sent no data message for this long.
    pub idle_timeout: Option<Duration>,
    /// Whether pings and pongs from the peer reset `idle_timeout`.
    pub idle_counts_pings: bool,
    /// Send a protocol Ping this often.
    pub heartbeat: Option<Duration>,
    /// Extra time, after a heartbeat interval, before a silent peer is dropped.
    pub heartbeat_timeout: Duration,
    /// Longest a write (or flush) may take before the peer is dropped.
    pub write_timeout: Duration,
    /// Longest wait for the peer's Close after ours.
    pub close_timeout: Duration,
    /// Outbound queue capacity per connection, in messages.
    pub queue: usize,
    /// What to do when a connection's outbound queue is full.
    pub on_full: OnFull,
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
    /// Which `Origin`s may open connections (routes can override).
    pub origins: Origins,
    /// Default cap of concurrent connections per route.
    pub max_connections: Option<usize>,
    /// Default cap of concurrent connections per route and client IP.
    pub max_connections_per_ip: Option<usize>,
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
            max_message: 1 << 20,
            idle_timeout: None,
            idle_counts_pings: false,
            heartbeat: Some(Duration::from_secs(30)),
            heartbeat_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(3),
            queue: 1024,
            on_full: OnFull::Close,
            handshake_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(10),
            read_buffer: 2048,
            backlog: 1024,
            max_handshake_headers: 16 * 1024,
            batch: 64,
            origins: Origins::SameHost,
            max_connections: None,
            max_connections_per_ip: None,
            metrics: true,
            handler_timing: true,
            metrics_path: Some("/metrics".to_owned()),
            health_path: Some("/healthz".to_owned()),
            metrics_addr: None,
        }
    }
}

/// A route's options with the app's defaults filled in, computed once per
/// route when the app starts.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) max_message: usize,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) idle_counts_pings: bool,
    pub(crate) heartbeat: Option<Duration>,
    pub(crate) heartbeat_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) close_timeout: Duration,
    pub(crate) queue: usize,
    pub(crate) on_full: OnFull,
    pub(crate) read_buffer: usize,
    pub(crate) batch: usize,
    pub(crate) origins: Origins,
    pub(crate) max_connections: Option<usize>,
    pub(crate) max_connections_per_ip: Option<usize>,
    pub(crate) handler_timing: bool,
}

impl Resolved {
    pub(crate) fn new(config: &Config, route: &RouteOptions) -> Self {
        Resolved {
            max_message: route.max_message.unwrap_or(config.max_message),
            // A route's `"off"` (zero) turns off the app's default.
            idle_timeout: route.idle_timeout.or(config.idle_timeout).filter(|d| !d.is_zero()),
            idle_counts_pings: route.idle_counts_pings || config.idle_counts_pings,
            heartbeat: route.heartbeat.or(config.heartbeat).filter(|d| !d.is_zero()),
            heartbeat_timeout: route.heartbeat_timeout.unwrap_or(config.heartbeat_timeout),
            write_timeout: route.write_timeout.unwrap_or(config.write_timeout),
            close_timeout: route.close_timeout.unwrap_or(config.close_timeout),
            queue: route.queue.unwrap_or(config.queue).max(1),
            on_full: route.on_full.unwrap_or(config.on_full),
            read_buffer: config.read_buffer.max(256),
            batch: config.batch.max(1),
            origins: match route.origins {
                Some(list) => Origins::List(list.iter().map(|o| (*o).to_owned()).collect()),
                None => config.origins.clone(),
            },
            max_connections: route.max_connections.or(config.max_connections),
            max_connections_per_ip: route.max_connections_per_ip.or(config.max_connections_per_ip),
            handler_timing: config.handler_timing,
        }
    }
}
