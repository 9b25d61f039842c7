//! Who a reply goes to: [`ToSender`] and [`ToRoom`] set the audience of the
//! messages of the reply they wrap that have none yet (the innermost
//! wrapper wins). Errors always go to the sender.

use super::value::{IntoReply, Reply};
use crate::message::Message;

/// Sends the wrapped reply's messages to the sender only, also on a route
/// with `broadcast = "..."` (where a plain return goes to the room).
///
/// ```
/// use wirehub::prelude::*;
/// use wirehub::reply::{ToRoom, ToSender};
///
/// #[ws_route("/rooms/{room}", broadcast = "room:{room}")]
/// async fn say(text: String) -> Result<(ToRoom<String>, ToSender<&'static str>), ErrorReply> {
///     if text.is_empty() {
///         return Err(ErrorReply::new("empty message")); // to the sender only
///     }
///     Ok((ToRoom(text), ToSender("sent"))) // the room gets the text, then the sender the ack
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ToSender<R>(pub R);

/// Sends the wrapped reply's messages to the route's room. Only on a route
/// with `broadcast = "..."`: elsewhere a handler returning it does not
/// compile (or, behind a type the macro cannot see, such as
/// `impl IntoReply`, its connection closes with 1011, logged).
/// `exclude_sender` applies.
///
/// ```
/// use wirehub::prelude::*;
/// use wirehub::reply::{ToRoom, ToSender};
///
/// #[ws_route("/lobby", broadcast = "lobby", exclude_sender = true)]
/// async fn lobby(text: String) -> (ToRoom<String>, ToSender<String>) {
///     let echo = format!("you said: {text}");
///     (ToRoom(text), ToSender(echo)) // the others get the text, the sender its echo
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ToRoom<R>(pub R);

impl<R: IntoReply> IntoReply for ToSender<R> {
    const TO_ROOM: bool = R::TO_ROOM;
    const ACKS: bool = R::ACKS;

    fn into_reply(self) -> Reply {
        aim(self.0.into_reply(), Reply::ToSender)
    }
}

impl<R: IntoReply> IntoReply for ToRoom<R> {
    const TO_ROOM: bool = true;
    const ACKS: bool = R::ACKS;

    fn into_reply(self) -> Reply {
        aim(self.0.into_reply(), Reply::ToRoom)
    }
}

/// Gives the messages of `reply` without an audience this one.
fn aim(reply: Reply, to: fn(Message) -> Reply) -> Reply {
    match reply {
        Reply::Message(message) => to(message),
        Reply::Many(replies) => Reply::Many(replies.into_iter().map(|r| aim(r, to)).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::error::ErrorReply;

    fn text(reply: &Reply) -> &str {
        match reply {
            Reply::Message(m) | Reply::ToSender(m) | Reply::ToRoom(m) => m.as_text().unwrap_or("<binary>"),
            _ => "<not a message>",
        }
    }

    #[test]
    fn tuples_keep_their_order_and_their_audiences() {
        let Reply::Many(parts) = (ToRoom("a"), ToSender("b"), "c").into_reply() else { panic!("not a list") };
        assert!(matches!(&parts[..], [Reply::ToRoom(_), Reply::ToSender(_), Reply::Message(_)]));
        assert_eq!(parts.iter().map(text).collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn to_room_is_known_at_compile_time_through_wrappers() {
        const fn to_room<R: IntoReply>() -> bool {
            R::TO_ROOM
        }
        assert!(!to_room::<String>());
        assert!(!to_room::<(String, ToSender<String>)>());
        assert!(to_room::<ToRoom<String>>());
        assert!(to_room::<Result<Option<(ToSender<String>, ToRoom<String>)>, ErrorReply>>());
        assert!(to_room::<ToSender<ToRoom<String>>>(), "the innermost wrapper wins");
    }

    #[test]
    fn the_innermost_audience_wins() {
        let Reply::Many(parts) = ToSender((ToRoom("a"), "b")).into_reply() else { panic!("not a list") };
        assert!(matches!(&parts[..], [Reply::ToRoom(_), Reply::ToSender(_)]));
        assert!(matches!(ToRoom(Some("x")).into_reply(), Reply::ToRoom(_)));
        assert!(matches!(ToRoom(None::<String>).into_reply(), Reply::None));
    }

    #[test]
    fn errors_are_not_aimed() {
        let reply = ToRoom(Result::<String, _>::Err("boom")).into_reply();
        assert!(matches!(reply, Reply::Error { .. }));
    }
}
