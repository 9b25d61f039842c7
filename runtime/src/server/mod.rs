//! The server: the app's HTTP side (pages, the upgrade handshake), the
//! embedded app that owns it and the drain, and the listener that feeds it.
//!
//! One port serves plain HTTP (404 for unknown paths, 426 for a plain GET on
//! a WebSocket route) and WebSocket upgrades, through hyper 1. After the
//! upgrade, the connection runs on tokio-tungstenite frames. The connections
//! come from wirehub's accept loop (`run`), from any `AsyncRead + AsyncWrite`
//! ([`Embedded::serve_connection`]), or as requests from another server
//! ([`UpgradeService`], axum's router).

#[cfg(feature = "axum")]
mod axum;
mod embedded;
mod http;
mod listener;
mod pages;
mod refusal;
mod run;
mod shutdown;
mod signal;
mod state;
#[cfg(feature = "tls")]
mod tls;
mod tower;

pub use embedded::Embedded;
pub(crate) use embedded::{build, check, Parts};
pub(crate) use http::valid_key;
pub(crate) use listener::listen;
pub use pages::HttpReply;
pub(crate) use pages::Page;
pub use run::Server;
pub(crate) use run::{start, Transport};
pub use shutdown::ShutdownHandle;
pub use signal::shutdown_signal;
pub(crate) use state::{Mounted, Shared};
#[cfg(feature = "tls")]
pub use tls::{Tls, TlsError};
pub use tower::{PeerAddr, UpgradeService};
