//! [`Reply`], the runtime's view of a handler's return value, and
//! [`IntoReply`] for the everyday return types, `Option`, `Result` and
//! tuples.

use bytes::Bytes;

use super::error::{HandlerError, OnError};
use crate::message::{Message, Utf8Bytes};

/// The runtime's view of a handler's return value.
///
/// ```
/// use wirehub::{Message, Reply};
///
/// // What `(ToRoom("hi"), ToSender("sent"))` becomes:
/// let reply = Reply::Many(vec![Reply::ToRoom(Message::text("hi")), Reply::ToSender(Message::text("sent"))]);
/// # drop(reply);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Reply {
    /// Send nothing.
    None,
    /// Send this message to the route's audience: the room on a route
    /// with `broadcast = "..."` (without the sender under
    /// `exclude_sender`), else the sender.
    Message(Message),
    /// Send this message to the sender only.
    ToSender(Message),
    /// Send this message to the route's room (a route with `broadcast`
    /// only: elsewhere the connection closes with 1011, logged).
    ToRoom(Message),
    /// Acknowledge the message being handled with these fields (see
    /// [`Ack`](super::Ack)); nothing when it carried no `"id"`.
    Ack(Option<serde_json::Map<String, serde_json::Value>>),
    /// The handler failed.
    Error {
        /// The error's text: the close reason, or the error body's `message`.
        message: String,
        /// What to do: `None` follows the app's `Config::on_error`.
        on_error: Option<OnError>,
    },
    /// Each of these, in order (stops at an error that closes).
    Many(Vec<Reply>),
}

/// A handler return type.
///
/// ```
/// use wirehub::{IntoReply, Message, Reply};
///
/// struct Pong;
///
/// impl IntoReply for Pong {
///     fn into_reply(self) -> Reply {
///         Reply::Message(Message::text("pong"))
///     }
/// }
/// # let _ = Pong.into_reply();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a `#[ws_route]` handler",
    label = "not a reply type",
    note = "return `()`, a message (`String`, `&'static str`, `Vec<u8>`, `Bytes`, `Message`, `Json<T>`), \
            `ToSender(r)` or `ToRoom(r)`, `Ack(fields)`, a tuple of replies, or an `Option` or `Result` of one (the error type \
            implements `wirehub::HandlerError`)"
)]
pub trait IntoReply {
    /// Whether values of this type may send to the route's room
    /// explicitly ([`Reply::ToRoom`], [`ToRoom`](super::ToRoom)): such a
    /// return type is a compile error on a route without `broadcast`.
    /// Default: `false`; set it if your `into_reply` can give `ToRoom`.
    const TO_ROOM: bool = false;

    /// Whether values of this type may acknowledge the message
    /// ([`Reply::Ack`], [`Ack`](super::Ack)): such a return type is a compile
    /// error on a route without `receives`. Default: `false`.
    const ACKS: bool = false;

    /// Converts the value.
    fn into_reply(self) -> Reply;
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

impl<R: IntoReply> IntoReply for Option<R> {
    const TO_ROOM: bool = R::TO_ROOM;
    const ACKS: bool = R::ACKS;

    fn into_reply(self) -> Reply {
        self.map_or(Reply::None, IntoReply::into_reply)
    }
}

impl<R: IntoReply, E: HandlerError> IntoReply for Result<R, E> {
    const TO_ROOM: bool = R::TO_ROOM;
    const ACKS: bool = R::ACKS;

    fn into_reply(self) -> Reply {
        match self {
            Ok(r) => r.into_reply(),
            Err(e) => Reply::Error { on_error: e.on_error(), message: e.to_string() },
        }
    }
}

macro_rules! tuple_replies {
    ($($name:ident),+) => {
        /// Each reply in order (one allocation per call, for the list).
        impl<$($name: IntoReply),+> IntoReply for ($($name,)+) {
            const TO_ROOM: bool = $($name::TO_ROOM)||+;
            const ACKS: bool = $($name::ACKS)||+;

            #[allow(non_snake_case)]
            fn into_reply(self) -> Reply {
                let ($($name,)+) = self;
                Reply::Many(vec![$($name.into_reply()),+])
            }
        }
    };
}

tuple_replies!(A, B);
tuple_replies!(A, B, C);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::error::ErrorReply;

    #[test]
    fn errors_carry_their_choice() {
        let reply = Result::<String, _>::Err(ErrorReply::new("bad").with_code("c")).into_reply();
        let Reply::Error { message, on_error } = reply else { panic!("not an error") };
        assert_eq!((message.as_str(), on_error), ("bad", Some(OnError::Reply { code: Some("c".into()) })));
        let Reply::Error { on_error, .. } = Result::<(), _>::Err("plain").into_reply() else { panic!("not an error") };
        assert_eq!(on_error, None, "the app decides");
    }
}
