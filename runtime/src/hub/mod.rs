//! The hub: the registry of open connections and the rooms they are in.
//!
//! ```no_run
//! # async fn f(hub: wirehub::Hub) {
//! // From anywhere (a background task, an HTTP handler): push to a room.
//! hub.broadcast("news", "breaking: the hub works");
//! println!("{} connections in {} rooms", hub.connections(), hub.rooms());
//! # }
//! ```
//!
//! Layout: the registry and the rooms are each split into `SHARDS` (32)
//! independently locked maps (by hash of id or room name), so joins, leaves
//! and broadcasts to different rooms do not contend on one lock. Locks are
//! `std` locks held only for map work and non-blocking queue pushes, never
//! across an `.await`.
//!
//! Invariants:
//! - a broadcast converts its message to the wire form once; every member
//!   gets a clone that shares the payload bytes;
//! - a broadcast never waits for a member: a full queue is handled by that
//!   member's `on_full` policy (close with 1013, or drop and count);
//! - a room counts (`Hub::rooms`) exactly while it has members; a room
//!   with history outlives its members while its history keeps messages
//!   (see `history`);
//! - a connection that ended is in no room and not in the registry (its task
//!   removes it through a drop guard, on every exit path).

mod handle;
pub(crate) mod history;
pub(crate) mod id;
pub(crate) mod peer;
pub mod presence;
pub(crate) mod registry;
pub(crate) mod relay;
pub(crate) mod room;
pub(crate) mod shared;

pub use crate::connection::conn::Hub;
pub use history::{BadPosition, Position, Recovery};
pub use peer::Member;

pub(crate) use id::ConnId;
pub(crate) use peer::{Offer, Peer, SendError};
