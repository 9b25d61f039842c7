//! `msg: T` on a route with `receives = T`: the message decoded as `T`.

use serde::de::{DeserializeOwned, IntoDeserializer};

use super::spec::short;
use crate::checks::contract::Receivable;
use crate::extract::{CallCx, Extract, Kinds, Rejection};
use crate::message::Message;

/// What the macro puts in place of a handler argument of the route's
/// `receives` type (`msg: ChatIn`): its `Extract` decodes the message.
#[doc(hidden)]
#[derive(Debug)]
pub struct Received<T>(pub T);

impl<T: Receivable> Extract for Received<T> {
    const KINDS: Option<Kinds> = Some(Kinds::DATA);

    fn extract(cx: &CallCx<'_>) -> Result<Self, Rejection> {
        decode(cx.message()).map(Received).map_err(|e| {
            Rejection::error_reply(&format!(
                "this endpoint receives `{}` messages: {e}",
                short(std::any::type_name::<T>())
            ))
        })
    }
}

/// A JSON text or binary message as `T`. A text frame that is no JSON
/// object and does not decode is offered to `T` as a string (`hello`,
/// `42`), so a `T` with a string variant (an `#[serde(untagged)]`
/// `Text(String)`) takes plain text frames; a JSON object that is no `T`
/// is refused, never relayed as text.
pub(crate) fn decode<T: DeserializeOwned>(message: &Message) -> Result<T, String> {
    match message {
        Message::Text(text) => match serde_json::from_str(text.as_str()) {
            Ok(value) => Ok(value),
            Err(e) if !text.as_str().trim_start().starts_with('{') => {
                let plain: serde::de::value::StrDeserializer<'_, serde_json::Error> = text.as_str().into_deserializer();
                T::deserialize(plain).map_err(|_| match e.is_syntax() || e.is_eof() {
                    true => format!("invalid JSON: {e}"),
                    false => e.to_string(),
                })
            }
            Err(e) => Err(e.to_string()),
        },
        Message::Binary(bytes) => serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}")),
        _ => Err("expected a JSON message".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(untagged)]
    enum In {
        Tagged(Tagged),
        Text(String),
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Tagged {
        Message { text: String },
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Only {
        n: u8,
    }

    #[test]
    fn json_and_plain_text_decode() {
        let tagged = decode::<In>(&Message::text(r#"{"type":"message","text":"hi","id":"c1"}"#));
        assert_eq!(tagged, Ok(In::Tagged(Tagged::Message { text: "hi".into() })));
        assert_eq!(decode::<In>(&Message::text("hello there")), Ok(In::Text("hello there".into())));
        assert_eq!(decode::<In>(&Message::text("42")), Ok(In::Text("42".into())), "JSON, but no `In`");
        let err = decode::<In>(&Message::text(r#"{"type":"shout"}"#)).expect_err("an object is never text");
        assert!(err.contains("did not match any variant"), "{err}");
        assert_eq!(decode::<Only>(&Message::binary(br#"{"n":3}"#.to_vec())), Ok(Only { n: 3 }));
    }

    #[test]
    fn what_does_not_fit_says_why() {
        let err = decode::<Only>(&Message::text("hello")).expect_err("not JSON");
        assert!(err.starts_with("invalid JSON"), "{err}");
        let err = decode::<Only>(&Message::text(r#"{"n":"x"}"#)).expect_err("wrong field");
        assert!(err.contains("invalid type"), "{err}");
    }
}
