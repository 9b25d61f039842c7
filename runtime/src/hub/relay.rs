//! The relay port: what the hub asks of a backplane (`crate::backplane`
//! implements it). The hub owns this trait, so the backplane depends on
//! the hub and never the reverse.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio_tungstenite::tungstenite;

use super::history::{Limits, Position};
use super::id::ConnId;
use super::peer::Member;
use super::presence::PresenceDelta;
use super::shared::Template;

/// Where a relayed message goes.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// Every member of a room.
    Room(&'a str),
    /// One connection (on the instance its id names).
    Conn(ConnId),
    /// Every connection of an identity.
    Principal(&'a str),
}

/// A running backplane, as the hub sees it. Every method returns at once.
#[doc(hidden)]
pub trait Relay: Send + Sync + 'static {
    /// A room got its first local member: receive its messages from now on.
    fn subscribe(&self, room: &Arc<str>);
    /// A room lost its last local member.
    fn unsubscribe(&self, room: &Arc<str>);
    /// Sends a message to the other instances.
    fn publish(&self, target: Target<'_>, except: Option<ConnId>, message: &tungstenite::Message);
    /// A local member joined a room.
    fn presence_add(&self, room: &Arc<str>, member: &Member);
    /// A local member left a room.
    fn presence_remove(&self, room: &Arc<str>, member: &Member);
    /// Sends this instance's presence change in `room` (route option
    /// `presence`) to the other instances, which hand it to
    /// `Hub`'s registry (`presence_remote`). A backplane that does not
    /// relay presence keeps it per instance.
    fn presence_publish(&self, room: &str, delta: &PresenceDelta) {
        let _ = (room, delta);
    }
    /// The members of a room on every instance.
    fn presence<'a>(&'a self, room: &'a str) -> BoxFuture<'a, Vec<Member>>;
    /// Resolves once messages other instances publish to `room` reach this
    /// instance (its subscription is confirmed), or at once when that cannot
    /// happen soon (the backplane is down).
    fn subscribed<'a>(&'a self, room: &'a str) -> BoxFuture<'a, ()>;
    /// Whether rooms with history keep it in the backplane now (it is up):
    /// then their positions come from it (see `hub/shared.rs`).
    fn history_up(&self) -> bool {
        false
    }
    /// Whether a message for `room`'s shared history would come back to
    /// this instance now (up, and the room's subscription confirmed).
    fn history_ready(&self, _room: &str) -> bool {
        false
    }
    /// Appends a message to `room`'s shared history, which gives it its
    /// position and relays it to every instance, this one included
    /// (`Registry::deliver_at`). Gives it back when that cannot be done now
    /// (the hub then delivers it locally).
    fn append(&self, _room: &str, _limits: Limits, _except: Option<ConnId>, message: Template) -> Result<(), Template> {
        Err(message)
    }
    /// Starts reading what `member` missed in `room` since `since`; the
    /// answer comes back through the hub (`Registry::recovery_read`,
    /// `recovery_marked`, `recovery_failed`), in bounded time. `false` when
    /// it cannot start (the hub answers "not recovered").
    fn recover(&self, _room: &Arc<str>, _member: ConnId, _nonce: u64, _since: Position, _limits: Limits) -> bool {
        false
    }
    /// Stops the backplane's tasks (the app is shutting down); resolves once
    /// what they still had to send went out (bounded by the backplane).
    fn shutdown(&self) -> BoxFuture<'_, ()>;
}

impl std::fmt::Debug for dyn Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Relay")
    }
}
