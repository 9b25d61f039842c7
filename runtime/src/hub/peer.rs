//! The port between the hub and the connections it holds: what the hub
//! needs of a member ([`Peer`]), and what offering a message to one can
//! give. The connection engine implements it; the hub never names the
//! connection type, so it sits below the engine.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tokio_tungstenite::tungstenite;

use super::id::ConnId;
use crate::close::CloseReason;
use crate::message::CloseFrame;

/// Why a message could not be queued for a connection.
///
/// ```
/// # async fn f(conn: wirehub::Conn) {
/// use wirehub::SendError;
///
/// match conn.send(wirehub::Json(serde_json::json!({ "type": "tick" }))).await {
///     Ok(()) | Err(SendError::Closed) => {} // gone: nothing to do
///     Err(e) => eprintln!("send failed: {e}"), // full, or a value that does not serialize
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The connection is closing or closed.
    #[error("the connection is closed")]
    Closed,
    /// The connection's outbound queue is full (only from `try_send`).
    #[error("the connection's outbound queue is full")]
    Full,
    /// A `Json(value)` did not serialize (the text is serde_json's error);
    /// nothing was sent.
    #[error("the message does not serialize as JSON: {0}")]
    Serialize(String),
}

impl From<serde_json::Error> for SendError {
    fn from(error: serde_json::Error) -> Self {
        SendError::Serialize(error.to_string())
    }
}

/// What became of a message offered to a room member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    /// In the member's queue.
    Queued,
    /// The member's queue was full and its route drops (counted).
    Dropped,
    /// The member is closing (or was just closed for being too slow).
    Refused,
}

/// What the hub needs of a member. Cheap to clone (an `Arc` inside).
pub(crate) trait Peer: Clone + Send + Sync + 'static {
    fn id(&self) -> ConnId;
    /// The identity principal, on routes with `auth`.
    fn principal(&self) -> Option<&Arc<str>>;
    /// The rooms it is in; the hub keeps this set with its rooms.
    fn rooms(&self) -> &Mutex<HashSet<Arc<str>>>;
    /// How many rooms it may be in at once.
    fn max_rooms(&self) -> usize;
    /// Whether it is gone (it must then join nothing).
    fn is_closed(&self) -> bool;
    /// Whether its `on_open` has not returned yet (presence lists it after).
    fn is_opening(&self) -> bool;
    /// How its route tracks presence in `room` (`None`: not at all).
    fn presence(&self, room: &str) -> Option<super::presence::Tracking>;
    /// Queues a message without waiting; a full queue is an error.
    fn push(&self, wire: tungstenite::Message) -> Result<(), SendError>;
    /// Queues a room's message, applying the member's `on_full` policy to
    /// a full queue (close it with 1013, or drop and count).
    fn offer(&self, wire: tungstenite::Message) -> Offer;
    /// Like [`offer`](Peer::offer), always through the outbound queue (never
    /// the own task's reply FIFO), so room messages keep their order.
    fn offer_in_order(&self, wire: tungstenite::Message) -> Offer;
    /// Queues all of `wires` through its outbound queue, in order, or none
    /// of them (they do not all fit, or it is closing): a recovery is
    /// replayed whole or not at all. No `on_full` policy applies.
    fn offer_batch(&self, wires: Vec<tungstenite::Message>) -> bool;
    /// Asks it to close (the first reason wins).
    fn close(&self, reason: &CloseReason, frame: &CloseFrame);
}

/// A member of a room, as presence lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The connection's id.
    pub id: ConnId,
    /// Its identity's principal key, on routes with `auth` (see [`Principal`](crate::Principal)).
    pub principal: Option<Arc<str>>,
}
