//! The traits a hook or validator function implements, by its arguments:
//! one impl per arity, each argument an extractor, so the compiler checks
//! every argument and the runtime extracts them in order.

use std::future::Future;

use futures_util::future::BoxFuture;

use crate::auth::{Handshake, Reject};
use crate::close::CloseReason;
use crate::connection::Conn;
use crate::extract::{
    AdmitCx, AdmitError, CheckCx, CheckError, FromConn, FromHandshake, HandshakeCx, Needs, Rejection,
};

/// An `on_close` hook argument: a [`FromConn`] extractor or the
/// [`CloseReason`].
#[doc(hidden)]
pub trait FromClose: Sized + Send + 'static {
    /// What the connection must copy from the upgrade request for it.
    const NEEDS: Needs;
    /// As [`FromConn::check`].
    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError>;
    /// As [`FromConn::admit`].
    fn admit(cx: &AdmitCx<'_>) -> Result<(), AdmitError>;
    /// Builds the value.
    fn from_close(conn: &Conn, reason: &CloseReason) -> Result<Self, Rejection>;
}

#[diagnostic::do_not_recommend]
impl<T: FromConn> FromClose for T {
    const NEEDS: Needs = <T as FromConn>::NEEDS;
    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError> {
        <T as FromConn>::check(cx)
    }
    fn admit(cx: &AdmitCx<'_>) -> Result<(), AdmitError> {
        <T as FromConn>::admit(cx)
    }
    fn from_close(conn: &Conn, _reason: &CloseReason) -> Result<Self, Rejection> {
        T::from_conn(conn)
    }
}

impl FromClose for CloseReason {
    const NEEDS: Needs = Needs::NONE;
    fn check(_cx: &CheckCx<'_>) -> Result<(), CheckError> {
        Ok(())
    }
    fn admit(_cx: &AdmitCx<'_>) -> Result<(), AdmitError> {
        Ok(())
    }
    fn from_close(_conn: &Conn, reason: &CloseReason) -> Result<Self, Rejection> {
        Ok(reason.clone())
    }
}

/// A function usable as `on_open = path`: an `async fn` whose arguments are
/// [`FromConn`] extractors. Its return value, unless `()`, becomes the
/// connection's [`Session`](crate::extract::Session) of that type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an `on_open` hook",
    label = "not an `async fn` of extractors",
    note = "an `on_open` hook is written `async fn name(conn: Conn, ...) {{ ... }}`: it takes extractors that need \
            no message (`Conn`, `State<T>`, `Path<T>`, `Query<T>`, `Headers`, `Auth<T>`, `Session<T>`), its \
            future is `Send`, and what it returns (if not `()`) becomes the connection's `Session<T>`"
)]
pub trait OnOpen<A> {
    /// What the hook returns.
    type Output: Send + 'static;
    /// What its extractors need of the upgrade request.
    const NEEDS: Needs;
    /// Its extractors' startup checks.
    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError>;
    /// Its extractors' upgrade checks.
    fn admit(cx: &AdmitCx<'_>) -> Result<(), AdmitError>;
    /// Extracts the arguments and calls the hook.
    fn open(&self, conn: &Conn) -> Result<BoxFuture<'static, Self::Output>, Rejection>;
}

/// A function usable as `on_close = path`: an `async fn` of [`FromConn`]
/// extractors and the [`CloseReason`], returning `()`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an `on_close` hook",
    label = "not an `async fn` of extractors returning `()`",
    note = "an `on_close` hook is written `async fn name(conn: Conn, reason: CloseReason) {{ ... }}`: it takes \
            `CloseReason` and extractors that need no message (`Conn`, `State<T>`, `Path<T>`, `Query<T>`, \
            `Headers`, `Auth<T>`, `Session<T>`), returns `()`, and its future is `Send`"
)]
pub trait OnClose<A> {
    /// What its extractors need of the upgrade request.
    const NEEDS: Needs;
    /// Its extractors' startup checks.
    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError>;
    /// Its extractors' upgrade checks.
    fn admit(cx: &AdmitCx<'_>) -> Result<(), AdmitError>;
    /// Extracts the arguments and calls the hook.
    fn close(&self, conn: &Conn, reason: &CloseReason) -> Result<BoxFuture<'static, ()>, Rejection>;
}

macro_rules! hook_impls {
    ($($arg:ident),*) => {
        impl<F, Fut, $($arg),*> OnOpen<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> Fut,
            Fut: Future + Send + 'static,
            Fut::Output: Send + 'static,
            $($arg: FromConn,)*
        {
            type Output = Fut::Output;
            const NEEDS: Needs = Needs::combine(&[$(<$arg as FromConn>::NEEDS),*]);

            fn check(_cx: &CheckCx<'_>) -> Result<(), CheckError> {
                $(<$arg as FromConn>::check(_cx)?;)*
                Ok(())
            }

            fn admit(_cx: &AdmitCx<'_>) -> Result<(), AdmitError> {
                $(<$arg as FromConn>::admit(_cx)?;)*
                Ok(())
            }

            #[allow(non_snake_case)]
            fn open(&self, _conn: &Conn) -> Result<BoxFuture<'static, Self::Output>, Rejection> {
                $(let $arg = <$arg as FromConn>::from_conn(_conn)?;)*
                Ok(Box::pin(self($($arg),*)))
            }
        }

        impl<F, Fut, $($arg),*> OnClose<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> Fut,
            Fut: Future<Output = ()> + Send + 'static,
            $($arg: FromClose,)*
        {
            const NEEDS: Needs = Needs::combine(&[$(<$arg as FromClose>::NEEDS),*]);

            fn check(_cx: &CheckCx<'_>) -> Result<(), CheckError> {
                $(<$arg as FromClose>::check(_cx)?;)*
                Ok(())
            }

            fn admit(_cx: &AdmitCx<'_>) -> Result<(), AdmitError> {
                $(<$arg as FromClose>::admit(_cx)?;)*
                Ok(())
            }

            #[allow(non_snake_case)]
            fn close(&self, _conn: &Conn, _reason: &CloseReason) -> Result<BoxFuture<'static, ()>, Rejection> {
                $(let $arg = <$arg as FromClose>::from_close(_conn, _reason)?;)*
                Ok(Box::pin(self($($arg),*)))
            }
        }

        impl<$($arg: FromHandshake),*> HandshakeArgs for ($($arg,)*) {
            fn check(_cx: &CheckCx<'_>) -> Result<(), CheckError> {
                $(<$arg as FromHandshake>::check(_cx)?;)*
                Ok(())
            }

            fn admit(_cx: &AdmitCx<'_>) -> Result<(), AdmitError> {
                $(<$arg as FromHandshake>::admit(_cx)?;)*
                Ok(())
            }
        }

        impl<'a, F, O, $($arg: FromHandshake),*> Validator<'a, (WithHandshake, ($($arg,)*))> for F
        where
            F: Fn(&'a Handshake, $($arg),*) -> O,
        {
            type Output = O;
            type Args = ($($arg,)*);

            #[allow(non_snake_case)]
            fn validate(&self, cx: &HandshakeCx<'a>) -> Result<O, Reject> {
                $(let $arg = <$arg as FromHandshake>::from_handshake(cx)?;)*
                Ok(self(cx.handshake, $($arg),*))
            }
        }

        impl<'a, F, O, $($arg: FromHandshake),*> Validator<'a, (WithoutHandshake, ($($arg,)*))> for F
        where
            F: Fn($($arg),*) -> O,
        {
            type Output = O;
            type Args = ($($arg,)*);

            #[allow(non_snake_case)]
            fn validate(&self, _cx: &HandshakeCx<'a>) -> Result<O, Reject> {
                $(let $arg = <$arg as FromHandshake>::from_handshake(_cx)?;)*
                Ok(self($($arg),*))
            }
        }
    };
}

hook_impls!();
hook_impls!(A1);
hook_impls!(A1, A2);
hook_impls!(A1, A2, A3);
hook_impls!(A1, A2, A3, A4);
hook_impls!(A1, A2, A3, A4, A5);
hook_impls!(A1, A2, A3, A4, A5, A6);

/// The extractors of a validator, after its optional `&Handshake`.
#[doc(hidden)]
pub trait HandshakeArgs {
    /// Their startup checks.
    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError>;
    /// Their upgrade checks.
    fn admit(cx: &AdmitCx<'_>) -> Result<(), AdmitError>;
}

/// Marks a validator whose first argument is `&Handshake`.
#[doc(hidden)]
#[derive(Debug)]
pub struct WithHandshake;

/// Marks a validator of extractors only.
#[doc(hidden)]
#[derive(Debug)]
pub struct WithoutHandshake;

/// A function usable as `auth = path`, called on a handshake that lives for
/// `'a`: `fn name(hs: &Handshake, ...) -> Result<T, Reject>` or its `async`
/// form, where `...` are [`FromHandshake`] extractors (`&Handshake` itself
/// may be left out).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an `auth` validator",
    label = "not a validator",
    note = "a validator is `fn name(hs: &Handshake) -> Result<T, Reject>` or an `async fn` with that signature; \
            after `&Handshake` (which may be left out) it can take `State<T>`, `Path<T>`, `Query<T>` and `Headers`"
)]
pub trait Validator<'a, A> {
    /// What the function returns: `Result<T, Reject>` or a future of one.
    type Output;
    /// Its extractors.
    type Args: HandshakeArgs;
    /// Extracts the arguments and calls the validator.
    fn validate(&self, cx: &HandshakeCx<'a>) -> Result<Self::Output, Reject>;
}
