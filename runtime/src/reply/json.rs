//! [`Json<T>`] going out: as a handler's reply, and as what the send
//! methods take ([`IntoMessage`]). Both serialize through [`Message::json`].

use super::error::OnError;
use super::value::{IntoReply, Reply};
use crate::checks::JsonReply;
use crate::close::CloseCode;
use crate::extract::Json;
use crate::message::{IntoMessage, Message};

/// `T` serialized as one text message. A value that does not serialize
/// (a map with non-string keys, a `Serialize` impl that fails) closes the
/// connection with 1011: that is a bug of the server, not of the peer.
impl<T: JsonReply> IntoReply for Json<T> {
    fn into_reply(self) -> Reply {
        match Message::json(&self.0) {
            Ok(message) => Reply::Message(message),
            Err(e) => Reply::Error {
                message: format!("cannot serialize reply: {e}"),
                on_error: Some(OnError::Close(CloseCode::Error)),
            },
        }
    }
}

/// `Json(value)` in a send: `conn.send(Json(&event)).await?`.
impl<T: JsonReply> IntoMessage for Json<T> {
    fn into_message(self) -> Result<Message, serde_json::Error> {
        Message::json(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::error::{ErrorBody, ErrorInfo, ErrorSource};

    struct Refuses;

    impl serde::Serialize for Refuses {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("no"))
        }
    }

    #[test]
    fn a_custom_body_that_does_not_serialize_falls_back_to_the_default() {
        let body = ErrorBody::custom(|_| Json(Refuses));
        let info = ErrorInfo { message: "m", code: None, source: ErrorSource::Extractor };
        assert_eq!(body.render(&info), info.default_body());
    }

    #[test]
    fn a_reply_that_does_not_serialize_closes_with_1011() {
        let Reply::Error { message, on_error } = Json(Refuses).into_reply() else { panic!("not an error") };
        assert_eq!(
            (message.as_str(), on_error),
            ("cannot serialize reply: no", Some(OnError::Close(CloseCode::Error)))
        );
        assert!(matches!(Json(Refuses).into_message(), Err(e) if e.to_string() == "no"));
    }
}
