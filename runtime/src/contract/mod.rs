//! Typed routes: the messages a route receives and sends, their
//! acknowledgements, and the server's requests to a client.
//!
//! # Declaring the messages
//!
//! `#[ws_route(.., receives = In, sends = Out)]` names the route's inbound
//! and outbound types (usually `#[serde(tag = "type")]` enums):
//!
//! - the handler takes `msg: In` (written as in `receives`); a message that
//!   is not an `In` is answered with the app's error body and the
//!   connection stays open. A text frame that is no JSON object and does
//!   not decode is offered to `In` as a string, so an `#[serde(untagged)]`
//!   `Text(String)` variant keeps plain text frames working (a JSON object
//!   that is no `In` is refused, never taken as text);
//! - the handler's return type is checked against `sends` at compile time:
//!   `Json<Out>` (or `Option`, `Result`, `ToRoom`, `ToSender`, [`Ack`](crate::Ack) of
//!   it, a tuple), or `()`; [`Out<Out>`](Out) sends typed messages from the
//!   handler and hooks. Sending anything else goes through the untyped
//!   [`Conn::send`](crate::Conn::send) / [`Hub`](crate::Hub) methods: you
//!   say so by calling them.
//!
//! # The wire rules (one place; the JavaScript client follows them)
//!
//! - A client message (a JSON object) may carry `"id"`, a string or an
//!   integer unique among its pending ones. On a route with `receives`, it
//!   then gets **exactly one** answer, to it only, after the rest of its
//!   reply (a room message first): `{"type":"ack","id":<id>, ..}` (the
//!   fields of the handler's [`Ack`](crate::Ack), if any), or, when the handler or an
//!   extractor fails with an answer, the app's error body with the `"id"`:
//!   `{"type":"error","id":<id>,"error":"..","code":".."}`. An error that
//!   closes the connection answers with the close. Without `"id"`, no answer.
//! - The server asks the client with [`Conn::request`](crate::Conn::request)
//!   / [`Out::request`]: the message carries `"id":"s<n>"`; the client
//!   answers it once with `{"type":"ack","id":"s<n>", ..}` or
//!   `{"type":"error","id":"s<n>","error":".."}`. Such answers never reach
//!   the handler. A request waits at most its timeout, and the connection's
//!   end resolves it with [`RequestError::Closed`].
//! - So `"type":"ack"` and `"type":"error"` are the runtime's: an inbound
//!   type does not use them, and it does not `deny_unknown_fields` (the
//!   `"id"` is a field of every message).
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use wirehub::contract::Out;
//! use wirehub::prelude::*;
//! use wirehub::reply::Ack;
//!
//! #[derive(Deserialize)]
//! #[serde(tag = "type", rename_all = "snake_case")]
//! enum ChatIn { Message { text: String } }
//!
//! #[derive(Serialize)]
//! #[serde(tag = "type", rename_all = "snake_case")]
//! enum ChatOut { Message { from: ConnId, text: String } }
//!
//! #[derive(Serialize)]
//! struct Sent { reached: usize }
//!
//! // {"type":"message","text":"hi","id":"c1"} → the room gets
//! // {"type":"message","from":..,"text":"hi"}, the sender then {"type":"ack","id":"c1","reached":2}
//! #[ws_route("/chat/{room}", broadcast = "chat:{room}", receives = ChatIn, sends = ChatOut)]
//! async fn chat(out: Out<ChatOut>, msg: ChatIn) -> Ack<Sent> {
//!     let ChatIn::Message { text } = msg;
//!     let reached = out.to_room(ChatOut::Message { from: out.conn().id(), text });
//!     Ack(Sent { reached })
//! }
//! ```

#[cfg(feature = "contract")]
mod asyncapi;
mod out;
pub(crate) mod received;
#[cfg(feature = "contract")]
pub(crate) mod schema;
pub(crate) mod spec;
#[cfg(feature = "contract")]
mod typescript;

pub use crate::correlation::RequestError;
#[cfg(feature = "contract")]
pub use asyncapi::{asyncapi, Info};
pub use out::Out;
#[cfg(feature = "contract")]
pub use schema::RouteSet;
#[cfg(feature = "contract")]
pub use typescript::typescript;

pub(crate) use spec::MessageFn;
