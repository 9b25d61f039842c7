//! The contract between the connection engine and the handler glue the
//! macro generates: the engine hands each message to the glue in a
//! [`CallCx`], and the glue answers with the handler's future or a
//! [`Rejection`] saying what to do instead. Extractors (`crate::extract`)
//! are built on it.

use super::Conn;
use crate::close::CloseCode;
use crate::message::Message;

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

/// Why an argument could not be extracted, and what the runtime does about it.
#[derive(Debug)]
pub struct Rejection {
    pub(crate) action: RejectAction,
}

#[derive(Debug)]
pub(crate) enum RejectAction {
    /// Send this to the peer and keep the connection open.
    Reply(Message),
    /// Send the app's error body for this text and keep the connection open.
    Error(String),
    /// Close the connection.
    Close(CloseCode, String),
}

impl Rejection {
    /// Answer the peer with this message and keep the connection open.
    ///
    /// ```
    /// let refusal = wirehub::extract::Rejection::reply("send text, not binary");
    /// # drop(refusal);
    /// ```
    pub fn reply(message: impl Into<Message>) -> Self {
        Rejection { action: RejectAction::Reply(message.into()) }
    }

    /// Close the connection with this code and reason.
    ///
    /// ```
    /// let refusal = wirehub::extract::Rejection::close(wirehub::CloseCode::Policy, "not allowed");
    /// # drop(refusal);
    /// ```
    pub fn close(code: CloseCode, reason: impl Into<String>) -> Self {
        Rejection { action: RejectAction::Close(code, reason.into()) }
    }

    /// The usual error answer: the app's error body for this text
    /// (`{"type":"error","error":"<text>"}` unless
    /// [`App::error_body`](crate::App::error_body) formats it), with
    /// [`ErrorSource::Extractor`](crate::reply::ErrorSource::Extractor); the
    /// connection stays open.
    ///
    /// ```
    /// let refusal = wirehub::extract::Rejection::error_reply("expected a JSON message");
    /// # drop(refusal);
    /// ```
    pub fn error_reply(text: &str) -> Self {
        Rejection { action: RejectAction::Error(text.to_owned()) }
    }
}
