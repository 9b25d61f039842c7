//! Extractors for the message itself: `Message`, text and binary payloads.

use bytes::Bytes;

use super::{CallCx, Extract, Kinds, Rejection};
use crate::close::CloseCode;
use crate::message::{Message, Utf8Bytes};

fn wrong_kind(expected: &str) -> Rejection {
    Rejection::close(CloseCode::Unsupported, format!("this endpoint takes {expected} messages"))
}

impl Extract for Message {
    const KINDS: Option<Kinds> = Some(Kinds::ALL);

    fn extract(cx: &CallCx<'_>) -> Result<Self, Rejection> {
        Ok(cx.message.clone())
    }
}

impl Extract for Utf8Bytes {
    const KINDS: Option<Kinds> = Some(Kinds::TEXT);

    fn extract(cx: &CallCx<'_>) -> Result<Self, Rejection> {
        match cx.message {
            Message::Text(t) => Ok(t.clone()),
            _ => Err(wrong_kind("text")),
        }
    }
}

impl Extract for String {
    const KINDS: Option<Kinds> = Some(Kinds::TEXT);

    fn extract(cx: &CallCx<'_>) -> Result<Self, Rejection> {
        match cx.message {
            Message::Text(t) => Ok(t.as_str().to_owned()),
            _ => Err(wrong_kind("text")),
        }
    }
}

impl Extract for Bytes {
    const KINDS: Option<Kinds> = Some(Kinds::BINARY);

    fn extract(cx: &CallCx<'_>) -> Result<Self, Rejection> {
        match cx.message {
            Message::Binary(b) => Ok(b.clone()),
            _ => Err(wrong_kind("binary")),
        }
    }
}

impl Extract for Vec<u8> {
    const KINDS: Option<Kinds> = Some(Kinds::BINARY);

    fn extract(cx: &CallCx<'_>) -> Result<Self, Rejection> {
        match cx.message {
            Message::Binary(b) => Ok(b.to_vec()),
            _ => Err(wrong_kind("binary")),
        }
    }
}
