//! `on_open` and `on_close` hooks, called through a probe so that a hook
//! that borrows its arguments gets "take `conn: Conn`" rather than rustc's
//! advice to wrap it in a closure, which the attribute does not take.
//!
//! `(&&HookProbe(hook)).on_open(conn)` finds, in order: [`OnOpenHook`] (the
//! signature is right: the hook is called), [`OnOpenBorrowsConn`] (it takes
//! `&Conn`: an error that says so), or `HookProbe::on_open`, whose
//! `OnOpen` bound reports any other mistake (arity, return type, a future
//! that is not `Send`) in rustc's words.

use std::future::Future;

use futures_util::future::BoxFuture;

use crate::hooks::{OnClose, OnOpen};
use crate::{CloseReason, Conn};

/// A hook function, for the autoref probes of this module.
#[derive(Debug)]
pub struct HookProbe<F>(pub F);

/// An `on_open` hook with the right signature.
pub trait OnOpenHook {
    /// Calls the hook.
    fn on_open(self, conn: Conn) -> BoxFuture<'static, ()>;
}

impl<F, Fut> OnOpenHook for &&HookProbe<F>
where
    F: Fn(Conn) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    fn on_open(self, conn: Conn) -> BoxFuture<'static, ()> {
        Box::pin((self.0)(conn))
    }
}

#[diagnostic::on_unimplemented(
    message = "an `on_open` hook takes `conn: Conn`, not a reference",
    label = "this hook takes `&Conn`",
    note = "write `async fn name(conn: Conn) {{ ... }}`: `Conn` is a cheap handle to the connection, clone it to keep it"
)]
/// Never implemented: asserted for an `on_open` hook that takes `&Conn`.
pub trait ConnByValue {}

/// An `on_open` hook that takes `&Conn`.
pub trait OnOpenBorrowsConn<F> {
    /// Always an error.
    fn on_open(self, conn: Conn) -> BoxFuture<'static, ()>
    where
        Self: Sized,
        F: ConnByValue,
    {
        let _ = conn;
        Box::pin(std::future::ready(()))
    }
}

impl<F> OnOpenBorrowsConn<F> for &HookProbe<F> where F: for<'a> FnRef1<'a> {}

impl<F> HookProbe<F> {
    /// Any other hook: `OnOpen`'s bound says what is wrong.
    pub fn on_open(self, conn: Conn) -> BoxFuture<'static, ()>
    where
        F: OnOpen,
    {
        self.0.call(conn)
    }

    /// Any other hook: `OnClose`'s bound says what is wrong.
    pub fn on_close(self, conn: Conn, reason: CloseReason) -> BoxFuture<'static, ()>
    where
        F: OnClose,
    {
        self.0.call(conn, reason)
    }
}

/// An `on_close` hook with the right signature.
pub trait OnCloseHook {
    /// Calls the hook.
    fn on_close(self, conn: Conn, reason: CloseReason) -> BoxFuture<'static, ()>;
}

impl<F, Fut> OnCloseHook for &&HookProbe<F>
where
    F: Fn(Conn, CloseReason) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    fn on_close(self, conn: Conn, reason: CloseReason) -> BoxFuture<'static, ()> {
        Box::pin((self.0)(conn, reason))
    }
}

#[diagnostic::on_unimplemented(
    message = "an `on_close` hook takes `conn: Conn` and `reason: CloseReason`, not references",
    label = "this hook borrows its arguments",
    note = "write `async fn name(conn: Conn, reason: CloseReason) {{ ... }}`: both are cheap to clone"
)]
/// Never implemented: asserted for an `on_close` hook that borrows an argument.
pub trait CloseArgsByValue {}

/// An `on_close` hook written `fn(&Conn, CloseReason)`.
pub trait OnCloseBorrowsConn<F> {
    /// Always an error.
    fn on_close(self, conn: Conn, reason: CloseReason) -> BoxFuture<'static, ()>
    where
        Self: Sized,
        F: CloseArgsByValue,
    {
        let _ = (conn, reason);
        Box::pin(std::future::ready(()))
    }
}

impl<F> OnCloseBorrowsConn<F> for &HookProbe<F> where F: for<'a> FnRef2Conn<'a> {}

/// An `on_close` hook written `fn(Conn, &CloseReason)`.
pub trait OnCloseBorrowsReason<F> {
    /// Always an error.
    fn on_close(self, conn: Conn, reason: CloseReason) -> BoxFuture<'static, ()>
    where
        Self: Sized,
        F: CloseArgsByValue,
    {
        let _ = (conn, reason);
        Box::pin(std::future::ready(()))
    }
}

impl<F> OnCloseBorrowsReason<F> for &HookProbe<F> where F: for<'a> FnRef2Reason<'a> {}

/// An `on_close` hook written `fn(&Conn, &CloseReason)`.
pub trait OnCloseBorrowsBoth<F> {
    /// Always an error.
    fn on_close(self, conn: Conn, reason: CloseReason) -> BoxFuture<'static, ()>
    where
        Self: Sized,
        F: CloseArgsByValue,
    {
        let _ = (conn, reason);
        Box::pin(std::future::ready(()))
    }
}

impl<F> OnCloseBorrowsBoth<F> for &HookProbe<F> where F: for<'a> FnRef2Both<'a> {}

// `F: for<'a> Fn(&'a Conn) -> Fut` cannot hold for an `async fn`, whose
// future captures `'a`: these traits name the output per lifetime instead.

/// `Fn(&'a Conn) -> _`.
pub trait FnRef1<'a> {
    /// The output.
    type Out;
}

impl<'a, F: Fn(&'a Conn) -> O, O> FnRef1<'a> for F {
    type Out = O;
}

/// `Fn(&'a Conn, CloseReason) -> _`.
pub trait FnRef2Conn<'a> {
    /// The output.
    type Out;
}

impl<'a, F: Fn(&'a Conn, CloseReason) -> O, O> FnRef2Conn<'a> for F {
    type Out = O;
}

/// `Fn(Conn, &'a CloseReason) -> _`.
pub trait FnRef2Reason<'a> {
    /// The output.
    type Out;
}

impl<'a, F: Fn(Conn, &'a CloseReason) -> O, O> FnRef2Reason<'a> for F {
    type Out = O;
}

/// `Fn(&'a Conn, &'a CloseReason) -> _`.
pub trait FnRef2Both<'a> {
    /// The output.
    type Out;
}

impl<'a, F: Fn(&'a Conn, &'a CloseReason) -> O, O> FnRef2Both<'a> for F {
    type Out = O;
}
