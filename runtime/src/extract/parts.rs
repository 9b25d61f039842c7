//! Extractors that need no message: [`FromConn`] (the connection; usable in
//! handlers and in `on_open` / `on_close` hooks) and [`FromHandshake`] (the
//! upgrade request; usable in `auth` validators, before any connection
//! exists).
//!
//! wirehub's [`FromConn`] types are also [`Extract`]ors; for your own,
//! implement both (`Extract::extract` building it from `cx.conn()`):
//!
//! ```
//! use wirehub::extract::{CallCx, Extract, FromConn, Rejection};
//! use wirehub::Conn;
//!
//! /// The client's address, as text.
//! struct Peer(String);
//!
//! impl FromConn for Peer {
//!     fn from_conn(conn: &Conn) -> Result<Self, Rejection> {
//!         Ok(Peer(conn.peer_addr().to_string()))
//!     }
//! }
//!
//! impl Extract for Peer {
//!     fn extract(cx: &CallCx<'_>) -> Result<Self, Rejection> {
//!         Peer::from_conn(cx.conn())
//!     }
//! }
//! ```

use super::{AdmitCx, AdmitError, CallCx, CheckCx, CheckError, Extract, HandshakeCx, Needs, Rejection};
use crate::auth::Reject;
use crate::connection::Conn;

/// An extractor built from the connection alone, without a message: what an
/// `on_open` or `on_close` hook can take (a handler can take it too).
///
/// wirehub's: [`Conn`], [`State<T>`](super::State), [`Path<T>`](super::Path),
/// [`Query<T>`](super::Query), [`Headers`](super::Headers),
/// [`Auth<T>`](crate::Auth) and [`Session<T>`](super::Session).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be taken by an `on_open` or `on_close` hook",
    label = "not available without a message",
    note = "hooks take extractors that need no message: `Conn`, `State<T>`, `Path<T>`, `Query<T>`, `Headers`, \
            `Auth<T>`, `Session<T>` (and `CloseReason` in `on_close`)"
)]
pub trait FromConn: Sized + Send + 'static {
    /// What the connection must copy from the upgrade request for it.
    const NEEDS: Needs = Needs::NONE;

    /// Checks, when the app starts, that the extractor fits the route and
    /// app (as [`Extract::check`]).
    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError> {
        let _ = cx;
        Ok(())
    }

    /// Checks an upgrade request before it is accepted (as [`Extract::admit`]).
    fn admit(cx: &AdmitCx<'_>) -> Result<(), AdmitError> {
        let _ = cx;
        Ok(())
    }

    /// Builds the value for one call.
    fn from_conn(conn: &Conn) -> Result<Self, Rejection>;
}

/// Implements [`Extract`] for [`FromConn`] types: the same checks, and the
/// value built from the message's connection.
macro_rules! extract_from_conn {
    ($(impl[$($generics:tt)*] $ty:ty;)*) => {$(
        impl<$($generics)*> Extract for $ty {
            const NEEDS: Needs = <Self as FromConn>::NEEDS;

            fn check(cx: &CheckCx<'_>) -> Result<(), CheckError> {
                <Self as FromConn>::check(cx)
            }

            fn admit(cx: &AdmitCx<'_>) -> Result<(), AdmitError> {
                <Self as FromConn>::admit(cx)
            }

            fn extract(cx: &CallCx<'_>) -> Result<Self, Rejection> {
                <Self as FromConn>::from_conn(cx.conn)
            }
        }
    )*};
}

extract_from_conn! {
    impl[] Conn;
    impl[] super::Headers;
}

/// An extractor built from the upgrade request: what an `auth` validator
/// can take besides `&Handshake`.
///
/// wirehub's: [`State<T>`](super::State), [`Path<T>`](super::Path),
/// [`Query<T>`](super::Query) and [`Headers`](super::Headers).
///
/// ```
/// use wirehub::extract::{FromHandshake, HandshakeCx};
/// use wirehub::Reject;
///
/// /// The bearer token, required.
/// struct Token(String);
///
/// impl FromHandshake for Token {
///     fn from_handshake(cx: &HandshakeCx<'_>) -> Result<Self, Reject> {
///         cx.handshake().token().map(Token).ok_or_else(|| Reject::unauthorized("missing token"))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be taken by an `auth` validator",
    label = "not available during the handshake",
    note = "a validator takes `&Handshake` first (optional), then extractors of the upgrade request: `State<T>`, \
            `Path<T>`, `Query<T>`, `Headers`"
)]
pub trait FromHandshake: Sized + Send + 'static {
    /// Checks, when the app starts, that the extractor fits the route and
    /// app (as [`Extract::check`]).
    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError> {
        let _ = cx;
        Ok(())
    }

    /// Checks an upgrade request before the validator runs (as [`Extract::admit`]).
    fn admit(cx: &AdmitCx<'_>) -> Result<(), AdmitError> {
        let _ = cx;
        Ok(())
    }

    /// Builds the value for one validation; an `Err` refuses the upgrade.
    fn from_handshake(cx: &HandshakeCx<'_>) -> Result<Self, Reject>;
}
