//! What a handler returns, and what the runtime does with it.
//!
//! | return type | effect |
//! |---|---|
//! | `()` | nothing is sent |
//! | `String`, `&'static str`, `Utf8Bytes` | one text message |
//! | `Vec<u8>`, `Bytes` | one binary message |
//! | `Message` | that message |
//! | `Json<T>` | `T` serialized as one text message |
//! | `Option<R>` | `None` sends nothing, `Some(r)` as `r` |
//! | `Result<R, E>` | `Ok(r)` as `r`; `Err(e)` closes with `e.close_code()` (1011 by default) and `e`'s text as the reason, cut to 123 bytes |
//!
//! A returned message goes to the sender, or, on a route with
//! `broadcast = "..."`, to the route's room.

use bytes::Bytes;

use crate::checks::JsonReply;
use crate::connection::CloseCode;
use crate::extract::Json;
use crate::message::{Message, Utf8Bytes};

/// The runtime's view of a handler's return value.
#[derive(Debug)]
pub enum Reply {
    /// Send nothing.
    None,
    /// Send this message (to the sender, or to the route's room).
    Message(Message),
    /// Close the connection: the handler failed.
    Close(CloseCode, String),
}

/// A handler return type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a `#[ws_route]` handler",
    label = "not a reply type",
    note = "return `()`, a message (`String`, `&'static str`, `Vec<u8>`, `Bytes`, `Message`, `Json<T>`), \
            or an `Option` or `Result` of one (the error type implements `wirehub::HandlerError`)"
)]
pub trait IntoReply {
    /// Converts the value.
    fn into_reply(self) -> Reply;
}

/// An error a handler can return in `Err`: it closes the connection.
///
/// Implement it for your error type (an empty `impl` is enough: the default
/// closes with 1011 and the error's `Display` text as the reason), or override
/// [`close_code`](HandlerError::close_code) to pick another code.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler's error type",
    label = "does not implement `wirehub::HandlerError`",
    note = "add `impl wirehub::HandlerError for {Self} {{}}` (it needs `Display`), or return `wirehub::Close`"
)]
pub trait HandlerError: std::fmt::Display {
    /// The close code. Default: 1011 (internal error).
    fn close_code(&self) -> CloseCode {
        CloseCode::Error
    }
}

impl HandlerError for String {}
impl HandlerError for &'static str {}
impl HandlerError for std::io::Error {}
impl HandlerError for serde_json::Error {}
impl HandlerError for Box<dyn std::error::Error + Send + Sync> {}
impl HandlerError for std::fmt::Error {}

/// An error that closes the connection with a chosen code and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    /// The close code.
    pub code: CloseCode,
    /// The reason (cut to 123 bytes on the wire).
    pub reason: String,
}

impl Close {
    /// A close with this code and reason.
    pub fn new(code: CloseCode, reason: impl Into<String>) -> Self {
        Close { code, reason: reason.into() }
    }
}

impl std::fmt::Display for Close {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Close {}

impl HandlerError for Close {
    fn close_code(&self) -> CloseCode {
        self.code
    }
}

impl IntoReply for () {
    fn into_reply(self) -> Reply {
        Reply::None
    }
}

impl IntoReply for Reply {
    fn into_reply(self) -> Reply {
        self
    }
}

macro_rules! message_replies {
    ($($ty:ty),*) => {$(
        impl IntoReply for $ty {
            fn into_reply(self) -> Reply {
                Reply::Message(Message::from(self))
            }
        }
    )*};
}

message_replies!(String, Utf8Bytes, Vec<u8>, Bytes, Message);

impl IntoReply for &'static str {
    fn into_reply(self) -> Reply {
        Reply::Message(Message::text(Utf8Bytes::from_static(self)))
    }
}

impl<T: JsonReply> IntoReply for Json<T> {
    fn into_reply(self) -> Reply {
        match serde_json::to_string(&self.0) {
            Ok(text) => Reply::Message(Message::text(text)),
            Err(e) => Reply::Close(CloseCode::Error, format!("cannot serialize reply: {e}")),
        }
    }
}

impl<R: IntoReply> IntoReply for Option<R> {
    fn into_reply(self) -> Reply {
        self.map_or(Reply::None, IntoReply::into_reply)
    }
}

impl<R: IntoReply, E: HandlerError> IntoReply for Result<R, E> {
    fn into_reply(self) -> Reply {
        match self {
            Ok(r) => r.into_reply(),
            Err(e) => Reply::Close(e.close_code(), e.to_string()),
        }
    }
}
