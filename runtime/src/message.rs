//! WebSocket messages: the five frame kinds a handler can see and send.
//!
//! Payloads are [`Bytes`]-backed: cloning a message (for example to send it to
//! every member of a room) bumps a reference count and never copies the payload.
//!
//! ```
//! use wirehub::Message;
//! let m = Message::text("hello");
//! assert!(m.is_text());
//! assert_eq!(m.len(), 5);
//! ```

use bytes::Bytes;
use tokio_tungstenite::tungstenite::{self, protocol::frame::coding::CloseCode as TCode};

pub use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::close::CloseCode;

/// One WebSocket message, of any of the five kinds of RFC 6455.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A UTF-8 text message.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping control frame (payload at most 125 bytes). The runtime answers
    /// pings with pongs itself; a handler taking `Message` also sees them.
    Ping(Bytes),
    /// A pong control frame (payload at most 125 bytes).
    Pong(Bytes),
    /// A close frame, with its code and reason when there is one. Handlers
    /// never receive it (the peer's close reaches `on_close`); it is here so
    /// a `Message` can say everything the wire can.
    Close(Option<CloseFrame>),
}

/// The code and reason of a close frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The close code.
    pub code: CloseCode,
    /// The reason, at most 123 bytes of UTF-8.
    pub reason: Utf8Bytes,
}

/// The kind of a [`Message`], used in logs, metrics and errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// [`Message::Text`]
    Text,
    /// [`Message::Binary`]
    Binary,
    /// [`Message::Ping`]
    Ping,
    /// [`Message::Pong`]
    Pong,
    /// [`Message::Close`]
    Close,
}

impl MessageKind {
    /// The lowercase name used as a metric label (`text`, `binary`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Binary => "binary",
            MessageKind::Ping => "ping",
            MessageKind::Pong => "pong",
            MessageKind::Close => "close",
        }
    }
}

impl Message {
    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> Self {
        Message::Text(text.into())
    }

    /// A binary message.
    pub fn binary(bytes: impl Into<Bytes>) -> Self {
        Message::Binary(bytes.into())
    }

    /// `value` serialized as JSON in a text message: the primitive under
    /// every `Json(value)` sent or returned.
    ///
    /// ```
    /// let m = wirehub::Message::json(&serde_json::json!({ "type": "hello" }))?;
    /// assert_eq!(m.as_text(), Some(r#"{"type":"hello"}"#));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When `value`'s `Serialize` fails (a map with non-string keys, a
    /// custom impl that refuses).
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::to_string(value).map(Message::text)
    }

    /// The kind of this message.
    pub const fn kind(&self) -> MessageKind {
        match self {
            Message::Text(_) => MessageKind::Text,
            Message::Binary(_) => MessageKind::Binary,
            Message::Ping(_) => MessageKind::Ping,
            Message::Pong(_) => MessageKind::Pong,
            Message::Close(_) => MessageKind::Close,
        }
    }

    /// Whether this is a text message.
    pub const fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// Whether this is a binary message.
    pub const fn is_binary(&self) -> bool {
        matches!(self, Message::Binary(_))
    }

    /// The payload length in bytes (for a close frame, the reason's length).
    pub fn len(&self) -> usize {
        match self {
            Message::Text(t) => t.len(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b.len(),
            Message::Close(c) => c.as_ref().map_or(0, |c| c.reason.len()),
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text, if this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(t) => Some(t.as_str()),
            _ => None,
        }
    }

    pub(crate) fn from_wire(msg: tungstenite::Message) -> Option<Self> {
        Some(match msg {
            tungstenite::Message::Text(t) => Message::Text(t),
            tungstenite::Message::Binary(b) => Message::Binary(b),
            tungstenite::Message::Ping(b) => Message::Ping(b),
            tungstenite::Message::Pong(b) => Message::Pong(b),
            tungstenite::Message::Close(c) => {
                Message::Close(c.map(|c| CloseFrame { code: CloseCode::from(u16::from(c.code)), reason: c.reason }))
            }
            tungstenite::Message::Frame(_) => return None,
        })
    }

    pub(crate) fn into_wire(self) -> tungstenite::Message {
        match self {
            Message::Text(t) => tungstenite::Message::Text(t),
            Message::Binary(b) => tungstenite::Message::Binary(b),
            Message::Ping(b) => tungstenite::Message::Ping(b),
            Message::Pong(b) => tungstenite::Message::Pong(b),
            Message::Close(c) => tungstenite::Message::Close(c.map(CloseFrame::into_wire)),
        }
    }
}

impl CloseFrame {
    /// A close frame; the reason is cut to the 123 bytes a close frame can hold
    /// (at a character boundary).
    pub fn new(code: CloseCode, reason: &str) -> Self {
        CloseFrame { code, reason: Utf8Bytes::from(truncate_reason(reason).to_owned()) }
    }

    /// The frame as sent. A code RFC 6455 forbids on the wire (1004-1006,
    /// 1015, anything below 1000, the unassigned 1016-2999, 5000 and up) is
    /// sent as 1011 instead: a peer would fail the connection on it.
    pub(crate) fn into_wire(self) -> tungstenite::protocol::CloseFrame {
        let mut code = u16::from(self.code);
        if !sendable(code) {
            tracing::debug!(code, "close code may not be sent; sending 1011");
            code = 1011;
        }
        tungstenite::protocol::CloseFrame { code: TCode::from(code), reason: self.reason }
    }
}

/// Whether an endpoint may put `code` in a close frame (RFC 6455 7.4).
const fn sendable(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// The longest prefix of `reason` that fits the 123 bytes of a close frame's
/// reason, cut at a character boundary.
pub(crate) fn truncate_reason(reason: &str) -> &str {
    const MAX: usize = 123;
    if reason.len() <= MAX {
        return reason;
    }
    let mut end = MAX;
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(s.into())
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::Text(s.into())
    }
}

impl From<Utf8Bytes> for Message {
    fn from(s: Utf8Bytes) -> Self {
        Message::Text(s)
    }
}

impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Self {
        Message::Binary(b.into())
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Self {
        Message::Binary(b)
    }
}

/// What the send methods (`Conn::send`, `Hub::broadcast`, ...) take: anything
/// that converts into a [`Message`] (`String`, `&str`, `Bytes`, `Vec<u8>`,
/// `Message`), or [`Json(value)`](crate::Json) of any `T: Serialize`,
/// serialized once into a text message.
///
/// ```no_run
/// use wirehub::Json;
///
/// # async fn f(conn: wirehub::Conn) -> Result<(), wirehub::SendError> {
/// conn.send("plain text").await?;
/// conn.send(Json(serde_json::json!({ "type": "welcome", "id": conn.id() }))).await?;
/// # Ok(())
/// # }
/// ```
///
/// A value that does not serialize fails the send:
/// [`SendError::Serialize`](crate::SendError::Serialize) where the method
/// returns a `Result`; where it returns a count (broadcasts) it is logged
/// as a warning and the count is 0.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent as a WebSocket message",
    label = "not a message",
    note = "send a `String`, `&str`, `Bytes`, `Vec<u8>` or `Message`, or `wirehub::Json(value)` of a \
            `serde::Serialize` value"
)]
pub trait IntoMessage {
    /// The message.
    ///
    /// # Errors
    ///
    /// When a `Json` value does not serialize.
    fn into_message(self) -> Result<Message, serde_json::Error>;
}

impl<T: Into<Message>> IntoMessage for T {
    fn into_message(self) -> Result<Message, serde_json::Error> {
        Ok(self.into())
    }
}

/// The message of a send that returns a count: a value that does not
/// serialize is logged, and nothing is sent.
pub(crate) fn serialized(message: impl IntoMessage) -> Option<Message> {
    message.into_message().map_err(|e| tracing::warn!(error = %e, "a broadcast does not serialize as JSON")).ok()
}

/// The set of message kinds a handler accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kinds(u8);

impl Kinds {
    /// Text messages.
    pub const TEXT: Kinds = Kinds(1);
    /// Binary messages.
    pub const BINARY: Kinds = Kinds(2);
    /// Text and binary messages.
    pub const DATA: Kinds = Kinds(3);
    /// Data and control frames (ping, pong, close).
    pub const ALL: Kinds = Kinds(7);
    const CONTROL: u8 = 4;

    /// The kinds a handler with these argument kinds accepts: the
    /// intersection of those that care, text and binary if none cares.
    #[doc(hidden)]
    pub const fn combine(args: &[Option<Kinds>]) -> Kinds {
        let mut acc = Kinds::ALL.0;
        let mut any = false;
        let mut i = 0;
        while i < args.len() {
            if let Some(k) = args[i] {
                acc &= k.0;
                any = true;
            }
            i += 1;
        }
        if any {
            Kinds(acc)
        } else {
            Kinds::DATA
        }
    }

    /// Whether a message of this kind goes to the handler.
    pub(crate) const fn accepts(self, message: &Message) -> bool {
        let bit = match message {
            Message::Text(_) => 1,
            Message::Binary(_) => 2,
            _ => Kinds::CONTROL,
        };
        self.0 & bit != 0
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn forbidden_close_codes_go_out_as_1011() {
        for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
            let wire = CloseFrame::new(CloseCode::from(code), "x").into_wire();
            assert_eq!(u16::from(wire.code), 1011, "{code}");
        }
        for code in [1000u16, 1001, 1003, 1007, 1008, 1011, 1013, 3000, 4999] {
            assert_eq!(u16::from(CloseFrame::new(CloseCode::from(code), "").into_wire().code), code);
        }
    }

    use super::*;

    #[test]
    fn kinds_intersect_the_arguments_that_care() {
        assert_eq!(Kinds::combine(&[]), Kinds::DATA);
        assert_eq!(Kinds::combine(&[None, None]), Kinds::DATA);
        assert_eq!(Kinds::combine(&[Some(Kinds::ALL)]), Kinds::ALL);
        assert_eq!(Kinds::combine(&[Some(Kinds::ALL), Some(Kinds::TEXT), None]), Kinds::TEXT);
        assert_eq!(Kinds::combine(&[Some(Kinds::TEXT), Some(Kinds::BINARY)]), Kinds(0));
        assert!(!Kinds::TEXT.accepts(&Message::binary(vec![1])));
        assert!(Kinds::ALL.accepts(&Message::Ping(bytes::Bytes::new())));
    }

    #[test]
    fn reasons_are_cut_at_a_char_boundary() {
        let long = "é".repeat(100); // 200 bytes
        let cut = truncate_reason(&long);
        assert!(cut.len() <= 123);
        assert_eq!(cut.len(), 122);
        assert_eq!(truncate_reason("short"), "short");
    }

    #[test]
    fn wire_round_trip_keeps_kind_and_payload() {
        for m in [
            Message::text("a"),
            Message::binary(vec![1, 2]),
            Message::Ping(Bytes::from_static(b"p")),
            Message::Pong(Bytes::new()),
            Message::Close(Some(CloseFrame::new(CloseCode::Normal, "bye"))),
            Message::Close(None),
        ] {
            assert_eq!(Message::from_wire(m.clone().into_wire()), Some(m));
        }
    }
}
