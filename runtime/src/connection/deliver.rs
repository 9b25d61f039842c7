//! Where a handler's reply goes ([`deliver`]) and how an extractor's
//! refusal is answered ([`rejected`]): the sender's messages through the
//! connection's own FIFO, the room's through the hub, errors as the error
//! says or as the app's `Config::on_error` says, with the app's one error
//! body (`Env::error_body`).
//!
//! Invariants: the parts of a reply go out in their order (a room message
//! then an ack reach the sender in that order: both pass through its FIFO);
//! an error answer goes to the sender only; every handler error is
//! counted (`action="close"` or `"reply"`) and logged at debug level.

use tokio_tungstenite::tungstenite;

use super::call::{RejectAction, Rejection};
use super::{CloseCode, CloseReason, Conn};
use crate::correlation::{self, CorrelationId};
use crate::message::{CloseFrame, Message};
use crate::reply::{ErrorInfo, ErrorSource, OnError, Reply};

/// What [`deliver_now`] could not finish without waiting.
pub(super) enum Later {
    /// A message for the sender's FIFO, which is full: push it, waiting.
    Fifo(tungstenite::Message),
    /// A list, an error or a `ToRoom` without a room: for [`deliver`].
    Reply(Reply),
}

/// Delivers the common replies without waiting (nothing, a room message, a
/// message the sender's FIFO takes now); false when the connection closes.
/// Called on the connection's own task, so [`deliver`]'s large future is
/// needed (and boxed by the reader) only for the rare rest.
pub(super) fn deliver_now(conn: &Conn, reply: Reply) -> Result<bool, Later> {
    match reply {
        // An `Ack` of a message without an `"id"` sends nothing.
        Reply::None | Reply::Ack(_) => Ok(true),
        Reply::Message(message) => match &conn.0.room {
            Some(room) => Ok(to_room(conn, room, message)),
            None => to_sender_now(conn, message),
        },
        Reply::ToSender(message) => to_sender_now(conn, message),
        other => Err(Later::Reply(other)),
    }
}

/// `Conn::send` from the connection's own task, without waiting.
fn to_sender_now(conn: &Conn, message: Message) -> Result<bool, Later> {
    if conn.is_closing() {
        return Ok(false);
    }
    conn.0.replies.try_push(message.into_wire()).map(|()| true).map_err(Later::Fifo)
}

/// Sends a handler's reply where it goes; false when the connection closes.
pub(super) async fn deliver(conn: &Conn, reply: Reply) -> bool {
    let Reply::Many(replies) = reply else {
        return deliver_one(conn, reply).await;
    };
    let mut parts = Vec::with_capacity(replies.len());
    flatten(replies, &mut parts);
    for part in parts {
        if !deliver_one(conn, part).await {
            return false;
        }
    }
    true
}

/// The parts of nested lists (`(a, (b, c))`), in order.
fn flatten(replies: Vec<Reply>, into: &mut Vec<Reply>) {
    for reply in replies {
        match reply {
            Reply::Many(inner) => flatten(inner, into),
            one => into.push(one),
        }
    }
}

/// Sends the reply to a message that carried an `"id"`, then its one
/// answer: the ack (with the fields of the reply's `Ack`, if any), or, when
/// the reply holds an error answered to the sender, that error with the
/// `"id"` instead. False when the connection closes.
pub(super) async fn deliver_acked(conn: &Conn, reply: Reply, id: &CorrelationId) -> bool {
    let mut parts = Vec::new();
    flatten(vec![reply], &mut parts);
    let mut fields = None;
    let mut answered = false;
    for part in parts {
        let open = match part {
            Reply::Ack(these) => {
                fields = these;
                true
            }
            Reply::Error { message, on_error } => {
                answered = true;
                failed(conn, &message, on_error, Some(id)).await
            }
            other => deliver_one(conn, other).await,
        };
        if !open {
            return false;
        }
    }
    answered || conn.send(correlation::ack(id, fields.as_ref())).await.is_ok()
}

async fn deliver_one(conn: &Conn, reply: Reply) -> bool {
    match reply {
        // Lists were flattened by `deliver`; an `Ack` without an `"id"` to answer sends nothing.
        Reply::None | Reply::Many(_) | Reply::Ack(_) => true,
        Reply::Message(message) => match &conn.0.room {
            Some(room) => to_room(conn, room, message),
            None => conn.send(message).await.is_ok(),
        },
        Reply::ToSender(message) => conn.send(message).await.is_ok(),
        Reply::ToRoom(message) => match &conn.0.room {
            Some(room) => to_room(conn, room, message),
            // Only behind a type the macro cannot see (`impl IntoReply`, a
            // hand-made `Reply`): every named type is checked at compile time.
            None => {
                tracing::error!("the handler replied `ToRoom` on a route without `broadcast`: closing with 1011");
                if let Some(m) = conn.metrics() {
                    m.handler_errors.inc();
                }
                let frame = CloseFrame::new(CloseCode::Error, "reply to a room on a route without a room");
                conn.request_close(CloseReason::HandlerError, Some(frame));
                false
            }
        },
        Reply::Error { message, on_error } => failed(conn, &message, on_error, None).await,
    }
}

fn to_room(conn: &Conn, room: &str, message: Message) -> bool {
    let except = conn.0.route.opts.exclude_sender.then(|| conn.id());
    conn.fan_out(room, message, except);
    true
}

/// A handler's error: closes, or answers the sender (with the `"id"` of the
/// message it handled, if any) and stays open.
async fn failed(conn: &Conn, message: &str, on_error: Option<OnError>, id: Option<&CorrelationId>) -> bool {
    match on_error.unwrap_or_else(|| conn.env().on_error.clone()) {
        OnError::Close(code) => {
            tracing::debug!(code = %code, error = %message, "handler returned an error: closing");
            if let Some(m) = conn.metrics() {
                m.handler_errors.inc();
            }
            conn.request_close(CloseReason::HandlerError, Some(CloseFrame::new(code, message)));
            false
        }
        OnError::Reply { code } => {
            tracing::debug!(code = ?code, error = %message, "handler returned an error: answered to the sender");
            if let Some(m) = conn.metrics() {
                m.handler_errors_replied.inc();
            }
            let info = ErrorInfo { message, code: code.as_deref(), source: ErrorSource::Handler };
            conn.send(answer(conn.env().error_body.render(&info), id)).await.is_ok()
        }
    }
}

/// An error answer, with the `"id"` of the message it answers.
fn answer(body: Message, id: Option<&CorrelationId>) -> Message {
    match id {
        Some(id) => correlation::with_id(body, id),
        None => body,
    }
}

/// Answers an extractor's refusal (with the `"id"` of the refused message,
/// if any: that is its one answer); false when the connection closes.
pub(super) async fn rejected(conn: &Conn, rejection: Rejection, id: Option<CorrelationId>) -> bool {
    let id = id.as_ref();
    match rejection.action {
        RejectAction::Reply(reply) => conn.send(answer(reply, id)).await.is_ok(),
        RejectAction::Error(text) => {
            let info = ErrorInfo { message: &text, code: None, source: ErrorSource::Extractor };
            conn.send(answer(conn.env().error_body.render(&info), id)).await.is_ok()
        }
        RejectAction::Close(code, reason) => {
            let why =
                if code == CloseCode::Unsupported { CloseReason::UnsupportedData } else { CloseReason::Local { code } };
            conn.request_close(why, Some(CloseFrame::new(code, &reason)));
            false
        }
    }
}
