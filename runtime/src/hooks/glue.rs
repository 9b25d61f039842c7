//! What the generated code calls a route's hooks and validator through.
//!
//! `(&&HookProbe(hook)).on_open(conn)` finds, by autoref specialization:
//! [`OnOpenHook`] (the hook fits: it is called), [`OnOpenBorrowsConn`] (it
//! takes `&Conn`: an error that says so), or `HookProbe::on_open`, whose
//! [`OnOpen`] bound reports any other mistake. `on_close` likewise. The
//! `*_glue` methods give the hook's startup and upgrade checks and its plan
//! ([`HookGlue`]); their last resort checks nothing, so a wrong hook is
//! reported once, by the call.

use std::any::TypeId;
use std::future::ready;
use std::marker::PhantomData;

use futures_util::future::BoxFuture;

use super::traits::{HandshakeArgs, OnClose, OnOpen, Validator};
use crate::auth::Reject;
use crate::close::{CloseCode, CloseReason};
use crate::connection::call::RejectAction;
use crate::connection::{Conn, SessionPlan};
use crate::extract::{AdmitCx, AdmitError, CheckCx, CheckError, HandshakeCx, Needs, Rejection};
use crate::message::CloseFrame;

/// What a route's hooks add to it, gathered when the app starts: what they
/// need of the upgrade request, and the connection's session values.
#[doc(hidden)]
#[derive(Debug)]
pub struct Plan {
    /// The hooks' extractors' needs.
    pub(crate) needs: Needs,
    /// The session values every connection holds.
    pub(crate) sessions: SessionPlan,
}

impl Default for Plan {
    fn default() -> Self {
        Plan { needs: Needs::NONE, sessions: SessionPlan::default() }
    }
}

/// A hook's checks and plan, as plain functions.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct HookGlue {
    check: fn(&CheckCx<'_>) -> Result<(), CheckError>,
    admit: fn(&AdmitCx<'_>) -> Result<(), AdmitError>,
    plan: fn(&mut Plan),
    /// `on_open`: its own value does not exist while its arguments are made.
    opening: bool,
}

impl HookGlue {
    /// A hook that is reported wrong elsewhere: nothing to check.
    const NONE: HookGlue = HookGlue { check: |_| Ok(()), admit: |_| Ok(()), plan: |_| {}, opening: false };

    /// Runs the hook's extractors' startup checks; an error names the hook.
    pub fn check(&self, cx: &CheckCx<'_>, hook: &'static str, function: &'static str) -> Result<(), CheckError> {
        let cx = CheckCx { before_open: self.opening, ..*cx };
        (self.check)(&cx).map_err(|error| CheckError::Hook { hook, function, error: Box::new(error) })
    }

    /// Runs the hook's extractors' upgrade checks.
    pub fn admit(&self, cx: &AdmitCx<'_>) -> Result<(), AdmitError> {
        (self.admit)(cx)
    }

    /// Adds the hook's needs and values to the route's plan.
    pub fn plan(&self, plan: &mut Plan) {
        (self.plan)(plan);
    }
}

/// A hook or validator function, for the autoref probes of this module.
#[doc(hidden)]
#[derive(Debug)]
pub struct HookProbe<F>(pub F);

/// An `on_open` hook that fits.
#[doc(hidden)]
pub trait OnOpenHook<A> {
    /// Calls it.
    fn on_open(self, conn: Conn) -> BoxFuture<'static, ()>;
    /// Its checks and plan.
    fn open_glue(self) -> HookGlue;
    /// What it returns, as a type.
    fn opened(self) -> PhantomData<fn() -> Self::Made>;
    /// What it returns.
    type Made;
}

impl<F: OnOpen<A>, A> OnOpenHook<A> for &&HookProbe<F> {
    type Made = F::Output;

    fn on_open(self, conn: Conn) -> BoxFuture<'static, ()> {
        match self.0.open(&conn) {
            Ok(hook) => Box::pin(async move {
                let made = hook.await;
                if TypeId::of::<F::Output>() != TypeId::of::<()>() {
                    conn.0.sessions.insert(Box::new(made));
                }
            }),
            Err(rejection) => refused(&conn, "on_open", rejection),
        }
    }

    fn open_glue(self) -> HookGlue {
        HookGlue {
            check: F::check,
            admit: F::admit,
            plan: |plan| {
                plan.needs = Needs::combine(&[plan.needs, F::NEEDS]);
                plan.sessions.by_on_open::<F::Output>();
            },
            opening: true,
        }
    }

    fn opened(self) -> PhantomData<fn() -> F::Output> {
        PhantomData
    }
}

/// An `on_close` hook that fits.
#[doc(hidden)]
pub trait OnCloseHook<A> {
    /// Calls it.
    fn on_close(self, conn: Conn, reason: CloseReason) -> BoxFuture<'static, ()>;
    /// Its checks and plan.
    fn close_glue(self) -> HookGlue;
}

impl<F: OnClose<A>, A> OnCloseHook<A> for &&HookProbe<F> {
    fn on_close(self, conn: Conn, reason: CloseReason) -> BoxFuture<'static, ()> {
        match self.0.close(&conn, &reason) {
            Ok(hook) => hook,
            Err(rejection) => refused(&conn, "on_close", rejection),
        }
    }

    fn close_glue(self) -> HookGlue {
        HookGlue {
            check: F::check,
            admit: F::admit,
            plan: |plan| plan.needs = Needs::combine(&[plan.needs, F::NEEDS]),
            opening: false,
        }
    }
}

/// A hook whose arguments could not be extracted: not called, logged, and
/// the connection closes (a close the hook's rejection asks for, or 1011).
fn refused(conn: &Conn, hook: &'static str, rejection: Rejection) -> BoxFuture<'static, ()> {
    let (code, reason) = match rejection.action {
        RejectAction::Close(code, reason) => (code, reason),
        RejectAction::Reply(_) | RejectAction::Error(_) => {
            (CloseCode::Error, format!("{hook} hook arguments unavailable"))
        }
    };
    tracing::error!(hook, code = %code, reason = %reason, "hook not called: an argument could not be extracted");
    conn.request_close(CloseReason::Local { code }, Some(CloseFrame::new(code, &reason)));
    Box::pin(ready(()))
}

/// A validator's checks (its call is [`validate`]).
#[doc(hidden)]
pub trait AuthGlue<A> {
    /// Its checks.
    fn auth_glue(self) -> HookGlue;
}

impl<F, A> AuthGlue<A> for &&HookProbe<F>
where
    F: for<'a> Validator<'a, A>,
{
    fn auth_glue(self) -> HookGlue {
        HookGlue {
            check: <<F as Validator<'static, A>>::Args as HandshakeArgs>::check,
            admit: <<F as Validator<'static, A>>::Args as HandshakeArgs>::admit,
            plan: |_| {},
            opening: false,
        }
    }
}

impl<F> HookProbe<F> {
    /// Any other `on_open` hook: `OnOpen`'s bound says what is wrong.
    pub fn on_open<A>(self, conn: Conn) -> BoxFuture<'static, ()>
    where
        F: OnOpen<A>,
    {
        (&&self).on_open(conn)
    }

    /// Any other `on_close` hook: `OnClose`'s bound says what is wrong.
    pub fn on_close<A>(self, conn: Conn, reason: CloseReason) -> BoxFuture<'static, ()>
    where
        F: OnClose<A>,
    {
        (&&self).on_close(conn, reason)
    }

    /// A wrong hook: reported by its call, nothing to check here.
    pub fn open_glue(&self) -> HookGlue {
        HookGlue::NONE
    }

    /// A wrong hook: reported by its call, nothing to check here.
    pub fn close_glue(&self) -> HookGlue {
        HookGlue::NONE
    }

    /// A wrong validator: reported by its call, nothing to check here.
    pub fn auth_glue(&self) -> HookGlue {
        HookGlue::NONE
    }

    /// A wrong hook: reported by its call; it makes nothing.
    pub fn opened(&self) -> PhantomData<fn() -> ()> {
        PhantomData
    }
}

/// Calls a validator: extracts its arguments from the handshake, then
/// calls it (its output, a `Result` or a future of one, goes to `AuthWrap`).
#[doc(hidden)]
pub fn validate<'a, F, A>(validator: &F, cx: &HandshakeCx<'a>) -> Result<F::Output, Reject>
where
    F: Validator<'a, A>,
{
    validator.validate(cx)
}

/// A validator call that could not start (an argument was refused).
#[doc(hidden)]
pub fn refuse<'a, T: Send + 'a>(reject: Reject) -> BoxFuture<'a, Result<T, Reject>> {
    Box::pin(ready(Err(reject)))
}

// `F: for<'a> Fn(&'a Conn) -> Fut` cannot hold for an `async fn`, whose
// future captures `'a`: these traits name the output per lifetime instead,
// to tell a hook that borrows its arguments (a clear error) from others.

/// `Fn(&'a Conn) -> _`.
#[doc(hidden)]
pub trait FnRef1<'a> {
    /// The output.
    type Out;
}

impl<'a, F: Fn(&'a Conn) -> O, O> FnRef1<'a> for F {
    type Out = O;
}

/// `Fn(&'a Conn, CloseReason) -> _`.
#[doc(hidden)]
pub trait FnRef2Conn<'a> {
    /// The output.
    type Out;
}

impl<'a, F: Fn(&'a Conn, CloseReason) -> O, O> FnRef2Conn<'a> for F {
    type Out = O;
}

/// `Fn(Conn, &'a CloseReason) -> _`.
#[doc(hidden)]
pub trait FnRef2Reason<'a> {
    /// The output.
    type Out;
}

impl<'a, F: Fn(Conn, &'a CloseReason) -> O, O> FnRef2Reason<'a> for F {
    type Out = O;
}

/// `Fn(&'a Conn, &'a CloseReason) -> _`.
#[doc(hidden)]
pub trait FnRef2Both<'a> {
    /// The output.
    type Out;
}

impl<'a, F: Fn(&'a Conn, &'a CloseReason) -> O, O> FnRef2Both<'a> for F {
    type Out = O;
}

#[diagnostic::on_unimplemented(
    message = "an `on_open` hook takes `conn: Conn`, not a reference",
    label = "this hook takes `&Conn`",
    note = "write `async fn name(conn: Conn) {{ ... }}`: `Conn` is a cheap handle to the connection, clone it to keep it"
)]
/// Never implemented: asserted for an `on_open` hook that takes `&Conn`.
#[doc(hidden)]
pub trait ConnByValue {}

/// An `on_open` hook that takes `&Conn`.
#[doc(hidden)]
pub trait OnOpenBorrowsConn<F> {
    /// Always an error.
    fn on_open(self, conn: Conn) -> BoxFuture<'static, ()>
    where
        Self: Sized,
        F: ConnByValue,
    {
        let _ = conn;
        Box::pin(ready(()))
    }
}

impl<F> OnOpenBorrowsConn<F> for &HookProbe<F> where F: for<'a> FnRef1<'a> {}

#[diagnostic::on_unimplemented(
    message = "an `on_close` hook takes `conn: Conn` and `reason: CloseReason`, not references",
    label = "this hook borrows its arguments",
    note = "write `async fn name(conn: Conn, reason: CloseReason) {{ ... }}`: both are cheap to clone"
)]
/// Never implemented: asserted for an `on_close` hook that borrows an argument.
#[doc(hidden)]
pub trait CloseArgsByValue {}

/// An `on_close` hook written `fn(&Conn, CloseReason)`.
#[doc(hidden)]
pub trait OnCloseBorrowsConn<F> {
    /// Always an error.
    fn on_close(self, conn: Conn, reason: CloseReason) -> BoxFuture<'static, ()>
    where
        Self: Sized,
        F: CloseArgsByValue,
    {
        let _ = (conn, reason);
        Box::pin(ready(()))
    }
}

impl<F> OnCloseBorrowsConn<F> for &HookProbe<F> where F: for<'a> FnRef2Conn<'a> {}

/// An `on_close` hook written `fn(Conn, &CloseReason)`.
#[doc(hidden)]
pub trait OnCloseBorrowsReason<F> {
    /// Always an error.
    fn on_close(self, conn: Conn, reason: CloseReason) -> BoxFuture<'static, ()>
    where
        Self: Sized,
        F: CloseArgsByValue,
    {
        let _ = (conn, reason);
        Box::pin(ready(()))
    }
}

impl<F> OnCloseBorrowsReason<F> for &HookProbe<F> where F: for<'a> FnRef2Reason<'a> {}

/// An `on_close` hook written `fn(&Conn, &CloseReason)`.
#[doc(hidden)]
pub trait OnCloseBorrowsBoth<F> {
    /// Always an error.
    fn on_close(self, conn: Conn, reason: CloseReason) -> BoxFuture<'static, ()>
    where
        Self: Sized,
        F: CloseArgsByValue,
    {
        let _ = (conn, reason);
        Box::pin(ready(()))
    }
}

impl<F> OnCloseBorrowsBoth<F> for &HookProbe<F> where F: for<'a> FnRef2Both<'a> {}
