//! Presence in the registry: tracking members as they join and leave,
//! running a room's batch when it is due, and what crosses instances
//! (through the relay port: deltas out, deltas in, periodic whole sets).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

#[cfg(feature = "redis")]
use super::PresenceDelta;
use super::{Meta, Presence, Tracking};
use crate::hub::id::ConnId;
use crate::hub::peer::Peer;
use crate::hub::registry::Registry;
use crate::hub::room::Room;
use crate::sync::{lock, read, write};

/// The identity of a member: its principal, else its connection id.
fn identity_key<M: Peer>(conn: &M) -> Arc<str> {
    conn.principal().cloned().unwrap_or_else(|| Arc::from(conn.id().to_string()))
}

impl<M: Peer> Registry<M> {
    /// Tracks a member that joined `room` on a route with presence (under
    /// the room's shard write lock).
    pub(crate) fn presence_admit(&self, room: &Arc<str>, entry: &mut Room<M>, conn: &M, tracking: Tracking) {
        let presence = entry.presence.get_or_insert_with(|| Box::new(Mutex::new(Presence::new(tracking))));
        if lock(presence).admit(conn.id(), identity_key(conn), conn.is_opening()) {
            self.schedule_batch(room.clone(), tracking.interval);
        }
    }

    /// A member left `room` (under the room's shard write lock).
    pub(crate) fn presence_remove(&self, room: &Arc<str>, entry: &Room<M>, id: ConnId) {
        let Some(presence) = &entry.presence else { return };
        let mut presence = lock(presence);
        if presence.remove(id) {
            self.schedule_batch(room.clone(), presence.tracking.interval);
        }
    }

    /// Sets the metadata of `conn`'s identity in every presence room it is in.
    pub(crate) fn set_presence_meta(&self, conn: &M, meta: Arc<str>) {
        let rooms = lock(conn.rooms());
        for room in rooms.iter() {
            let shard = read(self.room_shard(room));
            let Some(presence) = shard.get(room).and_then(|r| r.presence.as_ref()) else { continue };
            let mut presence = lock(presence);
            if presence.set_meta(conn.id(), meta.clone()) {
                self.schedule_batch(room.clone(), presence.tracking.interval);
            }
        }
    }

    /// Runs `room`'s batch once `interval` passed (on the runtime the hub's
    /// connections run on).
    fn schedule_batch(&self, room: Arc<str>, interval: Duration) {
        let Some(runtime) = self.runtime() else {
            tracing::warn!(%room, "presence batch not scheduled: no tokio runtime");
            return;
        };
        let me = self.me();
        runtime.spawn(async move {
            tokio::time::sleep(interval).await;
            if let Some(registry) = me.upgrade() {
                registry.run_batch(&room);
            }
        });
    }

    /// Sends `room`'s batch: the diff to listed members, the state to new
    /// ones; this instance's changes to the other instances.
    fn run_batch(&self, room: &Arc<str>) {
        let shard = read(self.room_shard(room));
        let Some(entry) = shard.get(room) else { return };
        let Some(presence) = &entry.presence else { return };
        let mut presence = lock(presence);
        let batch = presence.batch(room, |id| entry.members.get(&id).map(Peer::is_opening));
        let fresh: HashSet<ConnId> = batch.fresh.iter().copied().collect();
        for (id, member) in &entry.members {
            if !presence.is_listed(*id) {
                continue;
            }
            let state = batch.state_to_all || fresh.contains(id);
            let message = if state { &batch.state } else { &batch.diff };
            if let Some(message) = message {
                self.offer(member, message.clone(), true);
            }
        }
        let interval = presence.tracking.interval;
        drop(presence);
        let emptied = entry.members.is_empty();
        drop(shard);
        if let (Some(delta), Some(relay)) = (&batch.outgoing, self.relay()) {
            relay.presence_publish(room, delta);
        }
        if batch.again {
            self.schedule_batch(room.clone(), interval);
        }
        if emptied {
            let mut shard = write(self.room_shard(room));
            if shard.get_mut(&**room).is_some_and(|r| r.is_idle(Instant::now())) {
                shard.remove(&**room);
            }
        }
    }

    /// Another instance's presence in `room` changed (relayed); answers
    /// with this instance's whole set when it asks.
    #[cfg(feature = "redis")]
    pub(crate) fn presence_remote(&self, room: &str, instance: u32, delta: PresenceDelta) {
        let ask = delta.ask;
        let shard = read(self.room_shard(room));
        let Some((key, entry)) = shard.get_key_value(room) else { return };
        let Some(presence) = &entry.presence else { return };
        let mut presence = lock(presence);
        if presence.apply_remote(instance, delta, Instant::now()) {
            self.schedule_batch(key.clone(), presence.tracking.interval);
        }
        let answer = ask.then(|| presence.local_sync(false));
        let key = key.clone();
        drop(presence);
        drop(shard);
        if let (Some(answer), Some(relay)) = (answer, self.relay()) {
            relay.presence_publish(&key, &answer);
        }
    }

    /// Asks the other instances for their presence in `room` (this instance
    /// just subscribed to it), sending its own.
    #[cfg(feature = "redis")]
    pub(crate) fn presence_resync(&self, room: &Arc<str>) {
        let sync = read(self.room_shard(room))
            .get(&**room)
            .and_then(|r| r.presence.as_ref())
            .map(|p| lock(p).local_sync(true));
        if let (Some(sync), Some(relay)) = (sync, self.relay()) {
            relay.presence_publish(room, &sync);
        }
    }

    /// The lease: sends this instance's whole set of every presence room
    /// (every `ttl / 3`), and forgets instances not heard from within `ttl`.
    #[cfg(feature = "redis")]
    pub(crate) fn presence_tick(&self, ttl: Duration) {
        let now = Instant::now();
        let mut syncs = Vec::new();
        for shard in self.room_shards() {
            for (room, entry) in read(shard).iter() {
                let Some(presence) = &entry.presence else { continue };
                let mut presence = lock(presence);
                if presence.expire(now, ttl) {
                    self.schedule_batch(room.clone(), presence.tracking.interval);
                }
                let sync = presence.local_sync(false);
                if !sync.joins.is_empty() {
                    syncs.push((room.clone(), sync));
                }
            }
        }
        if let Some(relay) = self.relay() {
            for (room, sync) in syncs {
                relay.presence_publish(&room, &sync);
            }
        }
    }

    /// How many identities are present in `room` (O(1)).
    pub(crate) fn identities(&self, room: &str) -> usize {
        read(self.room_shard(room)).get(room).and_then(|r| r.presence.as_ref()).map_or(0, |p| lock(p).identities())
    }

    /// The identities present in `room`, with their metadata.
    pub(crate) fn present(&self, room: &str) -> Vec<(Arc<str>, Meta)> {
        read(self.room_shard(room))
            .get(room)
            .and_then(|r| r.presence.as_ref())
            .map(|p| lock(p).list())
            .unwrap_or_default()
    }
}
