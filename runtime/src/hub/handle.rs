//! The public API of [`Hub`]: each method hands off to the registry.

use super::history::Position;
use super::id::ConnId;
use super::peer::Member;
use super::peer::SendError;
use crate::connection::conn::Hub;
use crate::connection::Conn;
use crate::message::{serialized, IntoMessage};

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").field("connections", &self.connections()).field("rooms", &self.rooms()).finish()
    }
}

impl Hub {
    /// The number of open connections.
    pub fn connections(&self) -> usize {
        self.0.connections()
    }

    /// The number of rooms (rooms with at least one member).
    pub fn rooms(&self) -> usize {
        self.0.rooms()
    }

    /// Messages dropped for members with full queues (`on_full = "drop"`).
    pub fn dropped(&self) -> u64 {
        self.0.dropped()
    }

    /// The ids of the members of `room` (empty if there is no such room).
    pub fn members(&self, room: &str) -> Vec<ConnId> {
        self.0.members(room)
    }

    /// How many connections are in `room` on this instance, without
    /// building the member list (O(1), unlike `members(room).len()`).
    ///
    /// ```no_run
    /// # fn f(hub: wirehub::Hub) {
    /// println!("{} in the lobby", hub.count("chat:lobby"));
    /// # }
    /// ```
    pub fn count(&self, room: &str) -> usize {
        self.0.count(room)
    }

    /// How many identities are present in `room` (O(1)): on a route with
    /// `presence`, one per user however many connections it has, counted
    /// on every instance with the Redis backplane; 0 in other rooms.
    ///
    /// ```no_run
    /// # fn f(hub: wirehub::Hub) {
    /// println!("{} people in the lobby", hub.identities("chat:lobby"));
    /// # }
    /// ```
    pub fn identities(&self, room: &str) -> usize {
        self.0.identities(room)
    }

    /// The identities present in `room` (route option `presence`), with
    /// their metadata (`None` until the app sets one), in no order; empty in
    /// rooms without presence. Builds the list: for counting, use
    /// [`identities`](Hub::identities).
    ///
    /// ```no_run
    /// # fn f(hub: wirehub::Hub) {
    /// for (identity, meta) in hub.present("chat:lobby") {
    ///     println!("{identity}: {meta:?}");
    /// }
    /// # }
    /// ```
    pub fn present(&self, room: &str) -> Vec<(String, Option<serde_json::Value>)> {
        let parse = |meta: &str| serde_json::from_str(meta).ok();
        self.0.present(room).into_iter().map(|(key, meta)| (key.to_string(), meta.as_deref().and_then(parse))).collect()
    }

    /// Who is in `room`: each member's id and identity principal (presence).
    pub fn presence(&self, room: &str) -> Vec<Member> {
        self.0.presence(room)
    }

    /// Sends to every open connection of the identity `principal` (every tab
    /// of one user); returns how many it was queued for (0, logged, when a
    /// `Json` value does not serialize).
    /// With a backplane, other instances deliver to their connections of
    /// the identity too (the count is of local connections).
    ///
    /// ```no_run
    /// # fn f(hub: wirehub::Hub) {
    /// hub.send_to_principal("ada", wirehub::Json(serde_json::json!({ "type": "logout" })));
    /// # }
    /// ```
    pub fn send_to_principal(&self, principal: &str, message: impl IntoMessage) -> usize {
        serialized(message).map_or(0, |message| self.0.send_to_principal(principal, message))
    }

    /// The ids of the open connections of the identity `principal`.
    pub fn connections_of(&self, principal: &str) -> Vec<ConnId> {
        self.0.connections_of(principal)
    }

    /// The connection with this id, if it is open.
    pub fn get(&self, id: ConnId) -> Option<Conn> {
        self.0.get(id)
    }

    /// Sends to every member of `room`; returns how many it was queued for
    /// (0, logged, when a `Json` value does not serialize: see [`IntoMessage`]).
    /// In a room with history shared through Redis (see [`publish`](Hub::publish)),
    /// members get it once Redis relayed it: the count is then of the local
    /// members it is for.
    /// The value is serialized once, whatever the number of members.
    ///
    /// ```no_run
    /// #[derive(serde::Serialize)]
    /// struct Event { kind: &'static str, count: u32 }
    ///
    /// # fn f(hub: wirehub::Hub) {
    /// let event = Event { kind: "tick", count: 3 };
    /// hub.broadcast("news", wirehub::Json(&event));
    /// # }
    /// ```
    pub fn broadcast(&self, room: &str, message: impl IntoMessage) -> usize {
        serialized(message).map_or(0, |message| self.0.broadcast(room, message))
    }

    /// Sends to every member of `room` the message `make` builds from the
    /// position it gets, and returns that position. In a room with history
    /// (the room of a route with `history = N`) every message gets the next
    /// [`Position`] and is kept for clients that reconnect with
    /// `?since=<pos>`; elsewhere `make` gets `None` (and so does the
    /// caller). Put the position in the message so clients can resume
    /// from it. `make` runs under the room's lock (that is what keeps
    /// positions in delivery order): it must not use the hub. Nothing is
    /// sent (logged) when a `Json` value does not serialize.
    ///
    /// With the Redis backplane, a room with history keeps it in Redis and
    /// Redis gives the position, after `make` ran: `make` then gets a
    /// stand-in position, whose text the runtime replaces with the real
    /// position wherever it is in the message, and the caller gets `None`
    /// (members, this instance's too, get the message once Redis relayed
    /// it). So put the position in the message as it is (serialized, or
    /// formatted with `{}`), not values computed from it.
    ///
    /// ```no_run
    /// # fn f(hub: wirehub::Hub) {
    /// use serde_json::json;
    ///
    /// let pos = hub.publish("chat:lobby", |pos| wirehub::Json(json!({ "text": "hi", "pos": pos })));
    /// println!("sent at {pos:?}");
    /// # }
    /// ```
    pub fn publish<M: IntoMessage>(&self, room: &str, make: impl FnOnce(Option<Position>) -> M) -> Option<Position> {
        let make = |pos| serialized(make(pos)).map(crate::message::Message::into_wire);
        self.0.publish(room, make, None).0
    }

    /// Sends to every member of `room` but `except` (0, logged, when a
    /// `Json` value does not serialize).
    ///
    /// ```no_run
    /// # fn f(hub: wirehub::Hub, author: wirehub::ConnId) {
    /// hub.broadcast_except("news", "someone else posted", author);
    /// # }
    /// ```
    pub fn broadcast_except(&self, room: &str, message: impl IntoMessage, except: ConnId) -> usize {
        serialized(message).map_or(0, |message| self.0.broadcast_except(room, message, except))
    }

    /// Sends to one connection (without waiting: a full queue is an error).
    ///
    /// With a backplane, an id of another instance is relayed there; the
    /// result is then `Ok` once the message is handed to the backplane.
    ///
    /// ```no_run
    /// # fn f(hub: wirehub::Hub, id: wirehub::ConnId) -> Result<(), wirehub::SendError> {
    /// hub.send_to(id, wirehub::Json(serde_json::json!({ "type": "kick" })))
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] when no such connection is open here,
    /// [`SendError::Full`] when its queue is full,
    /// [`SendError::Serialize`] when a `Json` value does not serialize.
    pub fn send_to(&self, id: ConnId, message: impl IntoMessage) -> Result<(), SendError> {
        self.0.send_to(id, message.into_message()?)
    }

    /// Who is in `room` on every instance (with a backplane; else this
    /// instance's [`presence`](Hub::presence)).
    pub async fn presence_all(&self, room: &str) -> Vec<Member> {
        self.0.presence_all(room).await
    }
}
