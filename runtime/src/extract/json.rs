//! `Json<T>`: a message payload deserialized with serde, and a reply serialized.

use super::{CallCx, Extract, Kinds, Rejection};
use crate::checks::JsonBody;
use crate::message::Message;

/// JSON in (from a text or binary message) and out (as a text message).
///
/// As an argument, a payload that does not parse as `T` is answered with
/// `{"type":"error","error":"invalid JSON: ..."}` and the connection stays open.
/// As a return value, `T` is serialized into one text message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: JsonBody + Send + 'static> Extract for Json<T> {
    const KINDS: Option<Kinds> = Some(Kinds::DATA);

    fn extract(cx: &CallCx<'_>) -> Result<Self, Rejection> {
        let bytes: &[u8] = match cx.message {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
            _ => return Err(Rejection::error_reply("expected a JSON message")),
        };
        serde_json::from_slice(bytes).map(Json).map_err(|e| Rejection::error_reply(&format!("invalid JSON: {e}")))
    }
}
