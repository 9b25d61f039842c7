//! [`Ack`]: the answer to a client message that carried an `"id"`.

use serde::Serialize;

use super::error::OnError;
use super::value::{IntoReply, Reply};
use crate::close::CloseCode;

/// The fields of the acknowledgement of the message being handled, on a
/// route with `receives = T`: the client's `{"type":..,"id":"c1",..}` is
/// answered `{"type":"ack","id":"c1", ..fields}`, to it only, after the rest
/// of the reply (a room message goes out first). A message without an
/// `"id"` gets no acknowledgement, and `Ack` then sends nothing.
///
/// Every message with an `"id"` gets exactly one answer: a handler that
/// returns no `Ack` is acknowledged without fields, one that fails gets the
/// app's error body with the `"id"` instead (see
/// [`wirehub::contract`](crate::contract)). `T` serializes to a JSON object
/// (or `()`: no fields).
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use wirehub::prelude::*;
/// use wirehub::reply::Ack;
///
/// #[derive(Deserialize)]
/// #[serde(tag = "type", rename_all = "snake_case")]
/// enum In { Add { a: i64, b: i64 } }
///
/// #[derive(Serialize)]
/// struct Sum { sum: i64 }
///
/// // {"type":"add","a":1,"b":2,"id":"q1"} → {"type":"ack","id":"q1","sum":3}
/// #[ws_route("/calc", receives = In)]
/// async fn calc(msg: In) -> Ack<Sum> {
///     let In::Add { a, b } = msg;
///     Ack(Sum { sum: a + b })
/// }
/// ```
///
/// A route without `receives` cannot return it: it reads no `"id"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ack<T = ()>(pub T);

impl<T: Serialize> IntoReply for Ack<T> {
    const ACKS: bool = true;

    fn into_reply(self) -> Reply {
        match serde_json::to_value(&self.0) {
            Ok(serde_json::Value::Object(fields)) => Reply::Ack(Some(fields)),
            Ok(serde_json::Value::Null) => Reply::Ack(None),
            Ok(_) => Reply::Error {
                message: "the fields of an `Ack` must serialize to a JSON object".to_owned(),
                on_error: Some(OnError::Close(CloseCode::Error)),
            },
            Err(e) => Reply::Error {
                message: format!("cannot serialize ack: {e}"),
                on_error: Some(OnError::Close(CloseCode::Error)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_an_object_or_nothing() {
        #[derive(Serialize)]
        struct Pos {
            pos: &'static str,
        }
        let Reply::Ack(Some(fields)) = Ack(Pos { pos: "a-1" }).into_reply() else { panic!("fields") };
        assert_eq!(fields.get("pos"), Some(&serde_json::Value::from("a-1")));
        assert!(matches!(Ack(()).into_reply(), Reply::Ack(None)));
        assert!(matches!(Ack(3).into_reply(), Reply::Error { .. }), "a number has no fields");
    }
}
