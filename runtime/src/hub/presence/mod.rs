//! Presence: who is in a room, by identity, with the metadata the app sets,
//! as batched join/leave events (route option `presence = true`; Phoenix
//! Presence is the model).
//!
//! ```no_run
//! use wirehub::prelude::*;
//!
//! #[ws_route("/room/{name}", broadcast = "room:{name}", presence = true, on_open = opened)]
//! async fn room(_text: String) {}
//!
//! async fn opened(conn: Conn) {
//!     // In the member's join event: set in `on_open`, before it is listed.
//!     let _ = conn.set_presence_meta(&serde_json::json!({ "status": "online" }));
//! }
//! ```
//!
//! An **identity** is the connection's `Auth` principal, or its connection
//! id (as a string) on routes without `auth`. A user with two tabs is one
//! identity: it joins when its first connection is listed and leaves when
//! its last one goes, on this instance and, with the Redis backplane, on
//! every instance. Its metadata is the last value any of its connections
//! set (`null` until then).
//!
//! # Wire format (text frames, JSON)
//!
//! A member first gets the room's state, then one diff per batch
//! (`presence_interval`, 100 ms by default) in which anything changed:
//!
//! ```text
//! {"type":"presence_state","room":"room:lobby","count":2,"members":{"ada":{"status":"online"},"bob":null}}
//! {"type":"presence_diff","room":"room:lobby","count":2,"joins":{"eve":null},"leaves":{"bob":null},"updates":{}}
//! ```
//!
//! `count` is the number of identities; `joins` are identities that
//! appeared, `leaves` those that went (with their last metadata), `updates`
//! those whose metadata changed. An identity that joins and leaves within
//! one batch is in neither. Above `presence_limit` identities (1000 by
//! default) messages carry no lists (no `members`, `joins`, `leaves`,
//! `updates`), only `count`, and a diff goes out only when the count
//! changed: every member learning every identity of a huge room is O(N²).
//! When the room shrinks back under the limit, every member gets a fresh
//! `presence_state`.
//!
//! Invariants:
//! - a connection is listed once its `on_open` returned (so metadata set
//!   there is in its join), and gets the state before any diff;
//! - per join or leave: O(1) map work; per batch: one diff built once and
//!   shared by every member, one state built once for that batch's new
//!   members, so a storm of N joins costs O(N) work plus O(N) per batch;
//! - the identity count is kept (O(1) to read), never counted from a list;
//! - routes without `presence` pay nothing: their rooms hold no presence.

mod hub;
mod state;
mod wire;

pub use state::PresenceDelta;
pub(crate) use state::{Presence, Tracking};
pub(crate) use wire::Meta;

#[cfg(test)]
mod tests;
