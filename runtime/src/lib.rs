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
//! - [`connection`]: the connection handle, close codes and reasons.

extern crate self as wirehub;

mod app;
pub mod auth;
pub mod backplane;
#[doc(hidden)]
pub mod checks;
pub mod config;
pub mod connection;
mod error;
pub mod extract;
#[doc(hidden)]
pub mod hooks;
pub mod hub;
mod limits;
mod message;
pub mod metrics;
pub mod reply;
mod route;
mod router;
mod server;

pub use app::{App, Server};
pub use auth::{Auth, Handshake, Identity, Principal, Reject};
pub use config::Config;
pub use connection::{CloseCode, CloseReason, Conn, ConnId, ConnState, SendError};
pub use error::{Error, Result};
pub use extract::{Extract, Headers, Json, Path, Query, State};
pub use hub::{Hub, Member};
pub use limits::Rate;
pub use message::{CloseFrame, Message, MessageKind, Utf8Bytes};
pub use reply::{Close, HandlerError, IntoReply, Reply};
pub use route::OnFull;
pub use server::{HttpReply, ShutdownHandle};
pub use wirehub_macros::ws_route;

pub use bytes::Bytes;
pub use prometheus;

/// The names a handler module needs: `use wirehub::prelude::*;`.
pub mod prelude {
    pub use crate::{
        ws_route, App, Auth, Bytes, Close, CloseCode, CloseReason, Conn, ConnId, HandlerError, Handshake, Headers, Hub,
        Json, Message, Path, Principal, Query, Reject, State, Utf8Bytes,
    };
}

/// What the `#[ws_route]` expansion refers to. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::auth::{
        ArgProbe, AuthArg, AuthFuture, AuthReady, AuthWrap, OtherArg, PrincipalKey, PrincipalNone, PrincipalProbe,
    };
    pub use crate::checks;
    pub use crate::connection::{serve, Setup};
    pub use crate::extract::{AdmitCx, CallCx, CheckCx, Extract, Kinds, Needs, Rejection};
    pub use crate::hooks;
    pub use crate::limits::Rate;
    pub use crate::reply::IntoReply;
    pub use crate::route::{AuthFn, OnCloseFn, OnFull, OnOpenFn, RouteDef, RouteOptions, Segment, TemplatePart};
    pub use crate::{CloseReason, Conn, Handshake, Identity, Reject};
    pub use core::time::Duration;
    pub use futures_util::future::BoxFuture;
    pub use inventory;
}
