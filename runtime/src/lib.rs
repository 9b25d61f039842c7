//! # wirehub
//!
//! Declarative WebSocket servers. Annotate an async function with
//! [`#[ws_route]`](macro@ws_route), and [`App`] serves it:
//!
//! ```no_run
//! use wirehub::prelude::*;
//!
//! #[ws_route("/echo")]
//! async fn echo(msg: Message) -> Option<Message> {
//!     Some(msg)
//! }
//!
//! #[tokio::main]
//! async fn main() -> wirehub::Result<()> {
//!     wirehub::App::new().bind("127.0.0.1:8000").serve().await
//! }
//! ```
//!
//! - [`extract`]: what a handler can take as arguments;
//! - [`reply`]: what it can return;
//! - [`config`]: every setting and default;
//! - [`hub`]: rooms, broadcast and the connection registry;
//! - [`connection`]: the connection handle, close codes and reasons;
//! - [`hooks`]: what `on_open`, `on_close` and `auth` functions can take;
//! - [`Embedded`]: the app without a listener of its own, to mount in axum
//!   (`Embedded::router`, feature `axum`) or hyper/tower ([`UpgradeService`]),
//!   or to serve connections you accept; `Tls` (feature `tls`) serves `wss://`.
//!
//! - [`testing`] (feature `testing`): the in-process test kit,
//!   clients on in-memory pipes, tokio's paused clock for the timeouts.
//!
//! Cargo features: `axum` (the router), `tls` (rustls), `redis` (the
//! backplane), `anyhow` (`anyhow::Error` as a handler error), `testing` (the
//! test kit).

extern crate self as wirehub;

mod app;
pub mod auth;
pub mod backplane;
#[doc(hidden)]
pub mod checks;
mod close;
pub mod config;
pub mod connection;
pub mod contract;
mod correlation;
mod error;
pub mod extract;
#[doc(hidden)]
pub mod fuzzing;
pub mod hooks;
pub mod hub;
mod limits;
mod message;
pub mod metrics;
mod proxy;
pub mod reply;
mod route;
mod router;
mod server;
mod sync;
mod template;
#[cfg(feature = "testing")]
pub mod testing;

// Each item has one home, the page with its docs: its public module
// (`wirehub::connection::Conn`) or, for an item of a private module, the
// crate root (`wirehub::App`). The root also re-exports the everyday names
// of public modules, which rustdoc shows as links to their home, not as
// second pages; `prelude` lists them for a glob import. Hence `OnFull` is
// only `wirehub::config::OnFull`, next to `Config::on_full`, the setting it
// is for; the metrics registry only `wirehub::prometheus::Registry`; and
// `Rate` only `wirehub::config::Rate`, next to the settings that take it
// (the macro names it as `__private::Rate`).
pub use app::App;
pub use auth::{Auth, Handshake, Identity, Principal, Reject};
pub use config::Config;
pub use connection::{CloseCode, CloseReason, Conn, ConnId, ConnState, SendError};
pub use error::{Error, Result, RouteError};
pub use extract::{Extract, Headers, Json, Path, Query, Session, State};
pub use hub::{Hub, Member, Position};
pub use message::{CloseFrame, IntoMessage, Message, MessageKind, Utf8Bytes};
pub use reply::{Ack, Close, ErrorReply, HandlerError, IntoReply, Reply, ToRoom, ToSender};
pub use server::Server;
pub use server::{shutdown_signal, Embedded, HttpReply, PeerAddr, ShutdownHandle, UpgradeService};
#[cfg(feature = "tls")]
pub use server::{Tls, TlsError};
pub use wirehub_macros::ws_route;

pub use bytes::Bytes;
pub use prometheus;
/// The schemars version wirehub's feature `contract` describes types with.
#[cfg(feature = "contract")]
pub use schemars;

/// The names a handler module needs: `use wirehub::prelude::*;`.
pub mod prelude {
    pub use crate::contract::Out;
    pub use crate::{
        ws_route, Ack, App, Auth, Bytes, Close, CloseCode, CloseReason, Conn, ConnId, ErrorReply, HandlerError,
        Handshake, Headers, Hub, Json, Message, Path, Principal, Query, Reject, Session, State, ToRoom, ToSender,
        Utf8Bytes,
    };
}

/// What the `#[ws_route]` expansion refers to. Not a public API.
///
/// The glue below is reachable only from here: its defining modules are
/// private (or `pub(crate)`), so it is not also `wirehub::auth::ArgProbe`,
/// `wirehub::hooks` and so on.
#[doc(hidden)]
pub mod __private {
    // The probes, bounds and `serve` are reached as `checks::...`, so that
    // compile errors name them `wirehub::checks::...`, never `__private`.
    pub use crate::checks;
    pub use crate::config::OnFull;
    pub use crate::connection::conn::{AuthFn, OnCloseFn, OnOpenFn};
    pub use crate::connection::setup::Setup;
    /// The message types of typed routes.
    pub mod contract {
        pub use crate::contract::received::Received;
        pub use crate::contract::spec::{HasSchema, MessageFn, MessageSpec, NoSchema, SchemaFn, SchemaProbe};
    }
    pub use crate::extract::{
        AdmitCx, AdmitError, CallCx, CheckCx, CheckError, Extract, HandshakeCx, Kinds, Needs, Rejection,
    };
    pub use crate::limits::Rate;
    pub use crate::reply::IntoReply;
    pub use crate::route::{RouteDef, RouteOptions};
    pub use crate::template::{Segment, TemplatePart};
    pub use crate::{CloseReason, Conn, Handshake, Identity, Reject};
    pub use core::time::Duration;
    pub use futures_util::future::BoxFuture;
    pub use inventory;

    /// The hook and validator glue.
    pub use crate::hooks::private as hooks;
}
