//! The server: listening socket, accept loop, HTTP upgrade and shutdown.
//!
//! One port serves plain HTTP (404 for unknown paths, 426 for a plain GET on
//! a WebSocket route) and WebSocket upgrades, through hyper 1. After the
//! upgrade, the connection runs on tokio-tungstenite frames.

mod http;
mod listener;
mod pages;
mod refusal;
mod run;
mod shutdown;
mod state;

pub(crate) use self::http::{serve_tcp, valid_key};
pub(crate) use listener::listen;
pub use pages::HttpReply;
pub(crate) use pages::Page;
pub use run::Server;
pub(crate) use run::{start, Parts};
pub use shutdown::ShutdownHandle;
pub(crate) use state::{Mounted, Shared};
