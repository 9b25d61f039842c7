//! `on_open` / `on_close` hooks: the traits the generated code calls them
//! through, so a hook with the wrong signature is reported on the hook's
//! path with the signature to write.

use std::future::Future;

use futures_util::future::BoxFuture;

use crate::{CloseReason, Conn};

#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an `on_open` hook",
    label = "not an `async fn(Conn)`",
    note = "an `on_open` hook is written `async fn name(conn: Conn) {{ ... }}` (its future must be `Send`)"
)]
/// A function usable as `on_open = path`.
pub trait OnOpen {
    /// Calls the hook.
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
/// A function usable as `on_close = path`.
pub trait OnClose {
    /// Calls the hook.
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

/// Calls an `on_open` hook.
pub fn on_open<H: OnOpen>(hook: H, conn: Conn) -> BoxFuture<'static, ()> {
    hook.call(conn)
}

/// Calls an `on_close` hook.
pub fn on_close<H: OnClose>(hook: H, conn: Conn, reason: CloseReason) -> BoxFuture<'static, ()> {
    hook.call(conn, reason)
}
