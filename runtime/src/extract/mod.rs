//! Extractors: the types a `#[ws_route]` handler can take as arguments.
//!
//! A handler is called once per incoming message; each argument is built
//! from that message and its connection by the argument type's [`Extract`]
//! implementation, in any order:
//!
//! | extractor | gives | message kinds |
//! |---|---|---|
//! | [`Conn`](crate::Conn) | the connection handle: id, peer, params, send, close, rooms | any |
//! | [`Message`](crate::Message) | the message itself: text, binary, ping or pong | all, including ping and pong |
//! | `String`, [`Utf8Bytes`](crate::Utf8Bytes) | the text | text only |
//! | [`Bytes`](bytes::Bytes), `Vec<u8>` | the payload | binary only |
//! | [`Json<T>`] | `T` deserialized from the payload | text and binary |
//! | [`Path<T>`] | `T` from the `{param}` segments | any |
//! | [`Query<T>`] | `T` from the upgrade request's query string | any |
//! | [`State<T>`] | shared state registered with [`App::state`](crate::App::state) | any |
//! | [`Headers`] | the upgrade request's headers (copied only for routes that ask) | any |
//! | [`Auth<T>`](crate::Auth) | the identity the route's `auth` validator returned (`T` checked at compile time) | any |
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
//! - Which extractors a handler uses is known at compile time, so a route
//!   whose handler does not take [`Headers`] or [`Query<T>`] keeps none of the
//!   upgrade request.

mod data;
mod json;
mod params;
mod path;
mod query;
pub(crate) mod state;

pub use json::Json;
pub use path::Path;
pub use query::Query;
pub use state::State;

use http::HeaderMap;

use crate::connection::{CloseCode, Conn};
use crate::message::Message;

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
    fn check(cx: &CheckCx<'_>) -> Result<(), String> {
        let _ = cx;
        Ok(())
    }

    /// Checks an upgrade request before it is accepted: an `Err` answers it
    /// with 400 and that text, and no connection opens. For extractors whose
    /// input is fixed by the request (`Path`, `Query`).
    fn admit(cx: &AdmitCx<'_>) -> Result<(), String> {
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

/// What an extractor sees: the connection and the message being handled.
#[derive(Debug)]
pub struct CallCx<'a> {
    pub(crate) conn: &'a Conn,
    pub(crate) message: &'a Message,
}

impl<'a> CallCx<'a> {
    /// The connection the message arrived on.
    pub fn conn(&self) -> &'a Conn {
        self.conn
    }

    /// The message being handled.
    pub fn message(&self) -> &'a Message {
        self.message
    }
}

/// What [`Extract::check`] sees when the app starts.
#[derive(Debug)]
pub struct CheckCx<'a> {
    pub(crate) params: &'static [&'static str],
    pub(crate) state: &'a state::StateMap,
    pub(crate) has_auth: bool,
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

/// Why an argument could not be extracted, and what the runtime does about it.
#[derive(Debug)]
pub struct Rejection {
    pub(crate) action: RejectAction,
}

#[derive(Debug)]
pub(crate) enum RejectAction {
    /// Send this to the peer and keep the connection open.
    Reply(Message),
    /// Close the connection.
    Close(CloseCode, String),
}

impl Rejection {
    /// Answer the peer with an error message and keep the connection open.
    pub fn reply(message: impl Into<Message>) -> Self {
        Rejection { action: RejectAction::Reply(message.into()) }
    }

    /// Close the connection with this code and reason.
    pub fn close(code: CloseCode, reason: impl Into<String>) -> Self {
        Rejection { action: RejectAction::Close(code, reason.into()) }
    }

    /// The usual error reply: `{"type":"error","error":"<text>"}`.
    pub fn error_reply(text: &str) -> Self {
        Rejection::reply(serde_json::json!({ "type": "error", "error": text }).to_string())
    }
}

/// The set of message kinds a handler accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kinds(u8);

impl Kinds {
    /// Text messages.
    pub const TEXT: Kinds = Kinds(1);
    /// Binary messages.
    pub const BINARY: Kinds = Kinds(2);
    /// Text and binary messages.
    pub const DATA: Kinds = Kinds(3);
    /// Data and control frames (ping, pong, close).
    pub const ALL: Kinds = Kinds(7);
    const CONTROL: u8 = 4;

    /// The kinds a handler with these argument kinds accepts: the
    /// intersection of those that care, text and binary if none cares.
    #[doc(hidden)]
    pub const fn combine(args: &[Option<Kinds>]) -> Kinds {
        let mut acc = Kinds::ALL.0;
        let mut any = false;
        let mut i = 0;
        while i < args.len() {
            if let Some(k) = args[i] {
                acc &= k.0;
                any = true;
            }
            i += 1;
        }
        if any {
            Kinds(acc)
        } else {
            Kinds::DATA
        }
    }

    /// Whether a message of this kind goes to the handler.
    pub(crate) const fn accepts(self, message: &Message) -> bool {
        let bit = match message {
            Message::Text(_) => 1,
            Message::Binary(_) => 2,
            _ => Kinds::CONTROL,
        };
        self.0 & bit != 0
    }
}

/// What of the upgrade request a route's connections keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs(u8);

impl Needs {
    /// Nothing.
    pub const NONE: Needs = Needs(0);
    /// The request headers.
    pub const HEADERS: Needs = Needs(1);
    /// The query string.
    pub const QUERY: Needs = Needs(2);

    /// The union of what each argument needs.
    #[doc(hidden)]
    pub const fn combine(args: &[Needs]) -> Needs {
        let mut acc = 0;
        let mut i = 0;
        while i < args.len() {
            acc |= args[i].0;
            i += 1;
        }
        Needs(acc)
    }

    pub(crate) const fn contains(self, other: Needs) -> bool {
        self.0 & other.0 == other.0
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

impl Extract for Headers {
    const NEEDS: Needs = Needs::HEADERS;

    fn extract(cx: &CallCx<'_>) -> Result<Self, Rejection> {
        Ok(Headers(cx.conn.headers().cloned().unwrap_or_default()))
    }
}

impl Extract for Conn {
    fn extract(cx: &CallCx<'_>) -> Result<Self, Rejection> {
        Ok(cx.conn.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_intersect_the_arguments_that_care() {
        assert_eq!(Kinds::combine(&[]), Kinds::DATA);
        assert_eq!(Kinds::combine(&[None, None]), Kinds::DATA);
        assert_eq!(Kinds::combine(&[Some(Kinds::ALL)]), Kinds::ALL);
        assert_eq!(Kinds::combine(&[Some(Kinds::ALL), Some(Kinds::TEXT), None]), Kinds::TEXT);
        assert_eq!(Kinds::combine(&[Some(Kinds::TEXT), Some(Kinds::BINARY)]), Kinds(0));
        assert!(!Kinds::TEXT.accepts(&Message::binary(vec![1])));
        assert!(Kinds::ALL.accepts(&Message::Ping(bytes::Bytes::new())));
    }

    #[test]
    fn needs_are_the_union() {
        let n = Needs::combine(&[Needs::NONE, Needs::QUERY]);
        assert!(n.contains(Needs::QUERY));
        assert!(!n.contains(Needs::HEADERS));
    }
}
