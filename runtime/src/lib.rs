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
pub mod config;
pub mod connection;
mod error;
pub mod extract;
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
    pub use crate::auth::{same_identity, AuthFuture, AuthReady, AuthWrap, PrincipalKey, PrincipalNone, PrincipalProbe};
    pub use crate::connection::{serve, Setup};
    pub use crate::extract::{CallCx, CheckCx, Extract, Kinds, Needs, Rejection};
    pub use crate::limits::Rate;
    pub use crate::reply::IntoReply;
    pub use crate::route::{AuthFn, OnFull, RouteDef, RouteOptions, Segment, TemplatePart};
    pub use crate::{CloseReason, Conn, Handshake, Identity, Reject};
    pub use core::time::Duration;
    pub use futures_util::future::BoxFuture;
    pub use inventory;
    pub use crate::hooks;

    /// Boxes an `on_open` hook's future.
    pub fn box_hook<F: core::future::Future<Output = ()> + Send + 'static>(f: F) -> BoxFuture<'static, ()> {
        Box::pin(f)
    }
}

#[doc(hidden)]
pub mod hooks {
    use crate::{CloseReason, Conn};
    use futures_util::future::BoxFuture;
    use std::future::Future;

    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be an `on_open` hook",
        label = "not an `async fn(Conn)`",
        note = "an `on_open` hook is written `async fn name(conn: Conn) {{ ... }}` (its future must be `Send`)"
    )]
    pub trait OnOpen {
        fn call(&self, conn: Conn) -> BoxFuture<'static, ()>;
    }

    impl<F, Fut> OnOpen for F
    where
        F: Fn(Conn) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        fn call(&self, conn: Conn) -> BoxFuture<'static, ()> {
            Box::pin(self(conn))
        }
    }

    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be an `on_close` hook",
        label = "not an `async fn(Conn, CloseReason)`",
        note = "an `on_close` hook is written `async fn name(conn: Conn, reason: CloseReason) {{ ... }}` (its future must be `Send`)"
    )]
    pub trait OnClose {
        fn call(&self, conn: Conn, reason: CloseReason) -> BoxFuture<'static, ()>;
    }

    impl<F, Fut> OnClose for F
    where
        F: Fn(Conn, CloseReason) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        fn call(&self, conn: Conn, reason: CloseReason) -> BoxFuture<'static, ()> {
            Box::pin(self(conn, reason))
        }
    }

    pub fn on_open<H: OnOpen>(hook: H, conn: Conn) -> BoxFuture<'static, ()> {
        hook.call(conn)
    }

    pub fn on_close<H: OnClose>(hook: H, conn: Conn, reason: CloseReason) -> BoxFuture<'static, ()> {
        hook.call(conn, reason)
    }
}
