//! What a handler returns, who it goes to, and what becomes of its errors.
//!
//! | return type | effect |
//! |---|---|
//! | `()` | nothing is sent |
//! | `String`, `&'static str`, `Utf8Bytes` | one text message |
//! | `Vec<u8>`, `Bytes` | one binary message |
//! | `Message` | that message |
//! | `Json<T>` | `T` serialized as one text message |
//! | [`ToSender(r)`](ToSender) | `r`'s messages to the sender only |
//! | [`ToRoom(r)`](ToRoom) | `r`'s messages to the route's room (routes with `broadcast` only: elsewhere a compile error) |
//! | `(a, b)`, `(a, b, c)` | each reply, in that order |
//! | `Option<R>` | `None` sends nothing, `Some(r)` as `r` |
//! | `Result<R, E>` | `Ok(r)` as `r`; `Err(e)` as [`e.on_error()`](HandlerError::on_error) says, else as [`Config::on_error`](crate::Config::on_error) says: close with 1011 and `e`'s text as the reason (the default), or answer the sender with the app's error body and stay open |
//!
//! Audience: a returned message goes to the sender, or, on a route with
//! `broadcast = "..."`, to the route's room (without the sender under
//! `exclude_sender = true`). [`ToSender`] and [`ToRoom`] choose per message;
//! the innermost one wins. An error answer always goes to the sender only.
//!
//! Errors that keep the connection: return [`ErrorReply`] (or any
//! [`HandlerError`] whose `on_error` says [`OnError::Reply`]); the sender
//! gets the app's error body, `{"type":"error","error":"<text>"}` by
//! default (`"code"` added when the error has one), or whatever
//! [`App::error_body`](crate::App::error_body) formats. The same body
//! answers a message an extractor refuses (a `Json<T>` that does not parse).
//! Errors are counted in `wirehub_handler_errors_total{action="close"|"reply"}`
//! and logged at debug level.
//!
//! ```
//! use wirehub::prelude::*;
//! use wirehub::reply::{ToRoom, ToSender};
//!
//! #[derive(serde::Deserialize)]
//! struct Say { text: String }
//!
//! #[ws_route("/rooms/{room}", broadcast = "room:{room}")]
//! async fn say(Json(say): Json<Say>) -> Result<(ToRoom<String>, ToSender<&'static str>), ErrorReply> {
//!     if say.text.len() > 500 {
//!         return Err(ErrorReply::new("message too long").with_code("too_long")); // the sender only
//!     }
//!     Ok((ToRoom(say.text), ToSender("sent")))
//! }
//! ```
//!
//! Invariant: whether a return type may reach a room ([`IntoReply::TO_ROOM`])
//! is a constant the `#[ws_route]` expansion asserts on routes without
//! `broadcast`, so `ToRoom` there is a compile error, not a silent drop.

mod ack;
mod audience;
mod error;
mod json;
mod value;

pub use ack::Ack;
pub use audience::{ToRoom, ToSender};
pub use error::{Close, ErrorInfo, ErrorReply, ErrorSource, HandlerError, OnError};
pub use value::{IntoReply, Reply};

pub(crate) use error::ErrorBody;
