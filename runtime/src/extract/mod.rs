//! Extractors: the types a `#[ws_route]` handler can take as arguments.
//!
//! A handler is called once per incoming message; each argument is built
//! from that message and its connection by the argument type's [`Extract`]
//! implementation, in any order:
//!
//! | extractor | gives | message kinds |
//! |---|---|---|
//! | [`Conn`] | the connection handle: id, peer, params, send, close, rooms | any |
//! | [`Message`](crate::Message) | the message itself: text, binary, ping or pong | all, including ping and pong |
//! | `String`, [`Utf8Bytes`](crate::Utf8Bytes) | the text | text only |
//! | [`Bytes`](bytes::Bytes), `Vec<u8>` | the payload | binary only |
//! | [`Json<T>`] | `T` deserialized from the payload | text and binary |
//! | [`Path<T>`] | `T` from the `{param}` segments | any |
//! | [`Query<T>`] | `T` from the upgrade request's query string | any |
//! | [`State<T>`] | shared state registered with [`App::state`](crate::App::state) | any |
//! | [`Headers`] | the upgrade request's headers (copied only for routes that ask) | any |
//! | [`Auth<T>`](crate::Auth) | the identity the route's `auth` validator returned (`T` checked at compile time) | any |
//! | [`Session<T>`] | a value this connection owns: made by `T::default()` or returned by `on_open`, kept between messages | any |
//!
//! Rules:
//! - A `Path<T>` or `Query<T>` that does not parse (`/items/abc` into
//!   `Path<u32>`) is answered with 400 before the upgrade ([`Extract::admit`]);
//!   no connection opens and the handler never runs.
//! - The kinds a handler accepts are the intersection of its arguments' kinds.
//!   A data message of another kind closes the connection with 1003
//!   (unsupported data). A handler with no message argument takes text and binary.
//! - Ping and pong frames reach a handler only if it takes `Message`; the
//!   peer's close frame ends the connection and is reported to `on_close`
//!   (`CloseReason::Peer { code }`), not to the handler;
//!   the runtime answers pings and close frames itself either way.
//! - A message `Json<T>` cannot parse gets an error reply
//!   `{"type":"error","error":"..."}` and the connection stays open.
//! - The extractors that need no message ([`FromConn`]) are what `on_open`
//!   and `on_close` hooks take; a validator takes [`FromHandshake`] ones
//!   (see [`hooks`](crate::hooks)).
//! - Which extractors a handler uses is known at compile time, so a route
//!   whose handler does not take [`Headers`] or [`Query<T>`] keeps none of the
//!   upgrade request.

mod auth;
mod data;
mod error;
mod json;
mod params;
mod parts;
mod path;
mod query;
mod session;
pub(crate) mod state;

pub use error::{AdmitError, CheckError};
pub use json::Json;
pub use parts::{FromConn, FromHandshake};
pub use path::Path;
pub use query::Query;
pub use session::Session;
pub use state::State;

use http::HeaderMap;

pub use crate::connection::call::{CallCx, Rejection};
pub use crate::connection::upgrade::{HandshakeCx, Needs};
use crate::connection::{Conn, SessionPlan, StateMap};
pub use crate::message::Kinds;

/// A type a handler can take as an argument.
///
/// Implemented for the extractors listed in the [module docs](self); implement
/// it for your own types to extract them from a [`CallCx`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a `#[ws_route]` handler argument",
    label = "not an extractor",
    note = "handler arguments must implement `wirehub::Extract`: use `Conn`, `Message`, `String`, `Utf8Bytes`, `Auth<T>`, \
            `Bytes`, `Vec<u8>`, `Json<T>`, `Path<T>`, `Query<T>`, `State<T>` or `Headers`"
)]
pub trait Extract: Sized + Send + 'static {
    /// The data kinds this extractor takes; `None` when it does not care.
    const KINDS: Option<Kinds> = None;
    /// What the connection must copy from the upgrade request for it.
    const NEEDS: Needs = Needs::NONE;

    /// Checks, when the app starts, that the extractor fits the route and app
    /// (for example that a `State<T>` was registered).
    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError> {
        let _ = cx;
        Ok(())
    }

    /// Checks an upgrade request before it is accepted: an `Err` answers it
    /// with 400 and the error's text, and no connection opens. For extractors
    /// whose input is fixed by the request (`Path`, `Query`).
    fn admit(cx: &AdmitCx<'_>) -> Result<(), AdmitError> {
        let _ = cx;
        Ok(())
    }

    /// Builds the argument for one call.
    fn extract(cx: &CallCx<'_>) -> Result<Self, Rejection>;
}

/// What [`Extract::admit`] sees: the upgrade request's path params and query.
#[derive(Debug)]
pub struct AdmitCx<'a> {
    pub(crate) names: &'static [&'static str],
    pub(crate) params: &'a [Box<str>],
    pub(crate) query: Option<&'a str>,
}

impl AdmitCx<'_> {
    /// The route's `{param}` names, in order.
    pub fn param_names(&self) -> &'static [&'static str] {
        self.names
    }

    /// The percent-decoded values of the `{param}` segments, in order.
    pub fn params(&self) -> &[Box<str>] {
        self.params
    }

    /// The raw query string (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.query
    }
}

/// What [`Extract::check`] sees when the app starts.
#[derive(Debug)]
pub struct CheckCx<'a> {
    pub(crate) params: &'static [&'static str],
    pub(crate) state: &'a StateMap,
    pub(crate) has_auth: bool,
    /// The session types the route's connections hold.
    pub(crate) sessions: &'a SessionPlan,
    /// Checking an `on_open` hook: its own return value does not exist yet.
    pub(crate) before_open: bool,
    /// The route's `sends` type, for `Out<T>`.
    pub(crate) sends: Option<crate::contract::MessageFn>,
}

impl CheckCx<'_> {
    /// The `{param}` names of the route, in order.
    pub fn params(&self) -> &'static [&'static str] {
        self.params
    }

    /// Whether state of type `T` was registered with `App::state`.
    pub fn has_state<T: Send + Sync + 'static>(&self) -> bool {
        self.state.get::<T>().is_some()
    }
}

/// The headers of the upgrade request, copied into the connection when (and
/// only when) its handler takes this extractor.
#[derive(Debug, Clone)]
pub struct Headers(pub HeaderMap);

impl std::ops::Deref for Headers {
    type Target = HeaderMap;
    fn deref(&self) -> &HeaderMap {
        &self.0
    }
}

impl FromConn for Headers {
    const NEEDS: Needs = Needs::HEADERS;

    fn from_conn(conn: &Conn) -> Result<Self, Rejection> {
        Ok(Headers(conn.headers().cloned().unwrap_or_default()))
    }
}

impl FromHandshake for Headers {
    fn from_handshake(cx: &HandshakeCx<'_>) -> Result<Self, crate::auth::Reject> {
        Ok(Headers(cx.handshake().headers().clone()))
    }
}

impl FromConn for Conn {
    fn from_conn(conn: &Conn) -> Result<Self, Rejection> {
        Ok(conn.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_are_the_union() {
        let n = Needs::combine(&[Needs::NONE, Needs::QUERY]);
        assert!(n.contains(Needs::QUERY));
        assert!(!n.contains(Needs::HEADERS));
    }
}
