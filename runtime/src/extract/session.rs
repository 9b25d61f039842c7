//! `Session<T>`: a value the connection owns, from its opening to its end.

use std::ops::{Deref, DerefMut};

use super::{AdmitCx, AdmitError, CallCx, CheckCx, CheckError, Extract, FromConn, Needs, Rejection};
use crate::close::CloseCode;
use crate::connection::Conn;

/// A value of type `T` that belongs to one connection: made when it opens,
/// changed by its handler calls and hooks, dropped exactly once when it ends.
/// No global map keyed by connection id, no cleanup in `on_close`.
///
/// Where the value comes from:
/// - `T::default()`, made when the connection opens, for each `Session<T>`
///   the route's handler takes with `T: Default`;
/// - or the route's `on_open` hook's return value: a hook
///   `async fn open(conn: Conn) -> T` makes the connection's `T`.
///
/// A handler taking a `Session<T>` that neither makes is a compile error on
/// the argument; a hook taking one is refused when the app starts (naming
/// the route's file and line), as is an `on_open` hook taking the `T` it
/// returns itself.
///
/// The handler (or hook) owns the value while it runs: change it through
/// `DerefMut`, across `.await`s, with no lock. It goes back to the
/// connection when the `Session` is dropped, ready for the next message;
/// keep it inside the call (a `Session` moved into a spawned task is missing
/// for the next message, which then closes the connection with 1011).
///
/// ```
/// use wirehub::prelude::*;
/// use wirehub::extract::Session;
///
/// #[derive(Default)]
/// struct Stats {
///     messages: u64,
/// }
///
/// /// Counts this connection's messages.
/// #[ws_route("/count")]
/// async fn count(mut stats: Session<Stats>, _text: String) -> String {
///     stats.messages += 1;
///     stats.messages.to_string()
/// }
///
/// struct Nick(String);
///
/// /// The nickname is made once, when the connection opens.
/// async fn name(conn: Conn) -> Nick {
///     Nick(conn.param("name").unwrap_or("anonymous").to_owned())
/// }
///
/// #[ws_route("/hello/{name}", on_open = name)]
/// async fn hello(nick: Session<Nick>, text: String) -> String {
///     format!("{}: {text}", nick.0)
/// }
/// # fn main() {}
/// ```
pub struct Session<T: Send + 'static> {
    value: Option<Box<T>>,
    conn: Conn,
}

impl<T: Send + 'static> Deref for Session<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // Some from extraction until drop.
        self.value.as_deref().unwrap_or_else(|| unreachable!("a Session holds its value until dropped"))
    }
}

impl<T: Send + 'static> DerefMut for Session<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value.as_deref_mut().unwrap_or_else(|| unreachable!("a Session holds its value until dropped"))
    }
}

impl<T: Send + 'static> Drop for Session<T> {
    fn drop(&mut self) {
        if let Some(value) = self.value.take() {
            self.conn.0.sessions.give_back(value);
        }
    }
}

impl<T: Send + std::fmt::Debug + 'static> std::fmt::Debug for Session<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Session").field(&**self).finish()
    }
}

impl<T: Send + 'static> FromConn for Session<T> {
    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError> {
        match cx.sessions.has::<T>(cx.before_open) {
            true => Ok(()),
            false => Err(CheckError::SessionNotMade {
                type_name: std::any::type_name::<T>(),
                before_open: cx.before_open,
                made: cx.sessions.names(),
            }),
        }
    }

    fn from_conn(conn: &Conn) -> Result<Self, Rejection> {
        match conn.0.sessions.take::<T>() {
            Some(value) => Ok(Session { value: Some(value), conn: conn.clone() }),
            None => {
                tracing::error!(
                    session = std::any::type_name::<T>(),
                    "session value missing: a `Session` was kept past its call (moved into a task?)"
                );
                Err(Rejection::close(CloseCode::Error, "session value unavailable"))
            }
        }
    }
}

impl<T: Send + 'static> Extract for Session<T> {
    const NEEDS: Needs = <Self as FromConn>::NEEDS;

    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError> {
        <Self as FromConn>::check(cx)
    }

    fn admit(cx: &AdmitCx<'_>) -> Result<(), AdmitError> {
        <Self as FromConn>::admit(cx)
    }

    fn extract(cx: &CallCx<'_>) -> Result<Self, Rejection> {
        Self::from_conn(cx.conn())
    }
}
