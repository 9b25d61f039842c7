//! [`Registry`]: the sharded maps behind [`Hub`](crate::Hub): connections
//! by id, rooms by name, connections by principal.

use std::collections::hash_map::{Entry, HashMap};
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock, Weak};

use prometheus::{Histogram, IntGauge};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_tungstenite::tungstenite;

use super::history::Position;
use super::id::ConnId;
use super::peer::{Member, Offer, Peer, SendError};
use super::relay::{Relay, Target};
#[cfg(feature = "redis")]
use super::room::Step;
use super::room::{Resume, Room};
use super::shared::Template;
use crate::close::CloseReason;
use crate::message::{CloseFrame, Message};
use crate::sync::{lock, read, write};

/// Number of independently locked shards of the registry and of the rooms.
const SHARDS: usize = 32;

/// One independently locked part of a sharded map.
type Shard<K, V> = RwLock<HashMap<K, V>>;

/// The registry of one app's connections (generic over the member type: the
/// hub sits below the connection engine and knows its members through the
/// [`Peer`] port). [`Hub`](crate::Hub) is the public handle of a
/// `Registry<Conn>`.
pub(crate) struct Registry<M> {
    conns: Box<[Shard<ConnId, M>]>,
    rooms: Box<[Shard<Arc<str>, Room<M>>]>,
    /// Connections by identity principal (all tabs of one user).
    principals: Box<[Shard<Arc<str>, Vec<M>>]>,
    hasher: RandomState,
    conn_count: AtomicUsize,
    room_count: AtomicUsize,
    next_id: AtomicU64,
    dropped: AtomicU64,
    emptied: Notify,
    rooms_gauge: OnceLock<IntGauge>,
    external_fanout: OnceLock<Histogram>,
    /// This hub's instance number (20 bits): the high bits of its connection
    /// ids. A backplane may replace it (with the number it claimed) before
    /// the server starts.
    instance: AtomicU32,
    /// Set once the 32-bit counter of ids went round.
    wrapped: AtomicBool,
    relay: OnceLock<Arc<dyn Relay>>,
    /// Draws the epochs of room histories (random per hub, then counted).
    epochs: AtomicU64,
    /// What `publish` builds a message with when a backplane gives its
    /// position (see `shared.rs`), and its text.
    stand_in: Position,
    stand_in_text: Box<str>,
    /// Wakes `room_synced` waiters when a recovery took a step.
    recoveries: Notify,
    /// When memberless rooms were last swept (ms since `created`).
    swept_ms: AtomicU64,
    created: tokio::time::Instant,
    /// This registry (presence batches run later, on a task).
    me: Weak<Registry<M>>,
    /// The runtime the connections run on (presence batches are spawned there).
    runtime: OnceLock<tokio::runtime::Handle>,
}

impl<M: Peer> Registry<M> {
    pub(crate) fn new() -> Arc<Self> {
        let stand_in = Position::stand_in();
        Arc::new_cyclic(|me| Registry {
            conns: (0..SHARDS).map(|_| RwLock::default()).collect(),
            rooms: (0..SHARDS).map(|_| RwLock::default()).collect(),
            principals: (0..SHARDS).map(|_| RwLock::default()).collect(),
            hasher: RandomState::new(),
            conn_count: AtomicUsize::new(0),
            room_count: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            dropped: AtomicU64::new(0),
            emptied: Notify::new(),
            rooms_gauge: OnceLock::new(),
            external_fanout: OnceLock::new(),
            instance: AtomicU32::new(
                ((RandomState::new().hash_one(std::time::SystemTime::now()) as u32) & 0xF_FFFF).max(1),
            ),
            wrapped: AtomicBool::new(false),
            relay: OnceLock::new(),
            epochs: AtomicU64::new(RandomState::new().hash_one(std::time::SystemTime::now()) >> 16),
            stand_in,
            stand_in_text: stand_in.to_string().into(),
            recoveries: Notify::new(),
            swept_ms: AtomicU64::new(0),
            created: tokio::time::Instant::now(),
            me: me.clone(),
            runtime: OnceLock::new(),
        })
    }

    /// The number of open connections.
    pub(crate) fn connections(&self) -> usize {
        self.conn_count.load(Ordering::Acquire)
    }

    /// The number of rooms (rooms with at least one member).
    pub(crate) fn rooms(&self) -> usize {
        self.room_count.load(Ordering::Acquire)
    }

    /// Messages dropped for members with full queues (`on_full = "drop"`).
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The ids of the members of `room` (empty if there is no such room).
    pub(crate) fn members(&self, room: &str) -> Vec<ConnId> {
        let shard = read(self.room_shard(room));
        shard.get(room).map(|r| r.members.keys().copied().collect()).unwrap_or_default()
    }

    /// How many members `room` has here, without listing them (O(1)).
    pub(crate) fn count(&self, room: &str) -> usize {
        read(self.room_shard(room)).get(room).map_or(0, |r| r.members.len())
    }

    /// Who is in `room`: each member's id and identity principal (presence).
    pub(crate) fn presence(&self, room: &str) -> Vec<Member> {
        let shard = read(self.room_shard(room));
        shard.get(room).map(|r| r.members.values().map(member_of).collect()).unwrap_or_default()
    }

    /// Sends to every open connection of the identity `principal` (every tab
    /// of one user); returns how many it was queued for.
    /// With a backplane, other instances deliver to their connections of
    /// the identity too (the count is of local connections).
    pub(crate) fn send_to_principal(&self, principal: &str, message: impl Into<Message>) -> usize {
        let wire = message.into().into_wire();
        if let Some(relay) = self.relay.get() {
            relay.publish(Target::Principal(principal), None, &wire);
        }
        self.deliver_principal(principal, wire)
    }

    pub(crate) fn deliver_principal(&self, principal: &str, wire: tungstenite::Message) -> usize {
        let shard = read(self.principal_shard(principal));
        let Some(conns) = shard.get(principal) else { return 0 };
        let mut queued = 0;
        for conn in conns {
            queued += usize::from(self.offer(conn, wire.clone(), false));
        }
        queued
    }

    /// The ids of the open connections of the identity `principal`.
    pub(crate) fn connections_of(&self, principal: &str) -> Vec<ConnId> {
        read(self.principal_shard(principal))
            .get(principal)
            .map(|c| c.iter().map(Peer::id).collect())
            .unwrap_or_default()
    }

    /// The connection with this id, if it is open.
    pub(crate) fn get(&self, id: ConnId) -> Option<M> {
        read(self.conn_shard(id)).get(&id).cloned()
    }

    /// Sends to every member of `room`; returns how many it was queued for.
    pub(crate) fn broadcast(&self, room: &str, message: impl Into<Message>) -> usize {
        self.external(self.fan_out(room, message.into().into_wire(), None))
    }

    /// Sends to every member of `room` but `except`.
    pub(crate) fn broadcast_except(&self, room: &str, message: impl Into<Message>, except: ConnId) -> usize {
        self.external(self.fan_out(room, message.into().into_wire(), Some(except)))
    }

    fn external(&self, queued: usize) -> usize {
        if let Some(h) = self.external_fanout.get() {
            h.observe(queued as f64);
        }
        queued
    }

    /// Sends to one connection (without waiting: a full queue is an error).
    ///
    /// With a backplane, an id of another instance is relayed there; the
    /// result is then `Ok` once the message is handed to the backplane.
    pub(crate) fn send_to(&self, id: ConnId, message: impl Into<Message>) -> Result<(), SendError> {
        let wire = message.into().into_wire();
        match self.relay.get() {
            Some(relay) if id.instance() != self.instance() => {
                relay.publish(Target::Conn(id), None, &wire);
                Ok(())
            }
            _ => self.deliver_conn(id, wire),
        }
    }

    pub(crate) fn deliver_conn(&self, id: ConnId, wire: tungstenite::Message) -> Result<(), SendError> {
        self.get(id).ok_or(SendError::Closed)?.push(wire)
    }

    /// Delivers to the room's members here and on every other instance;
    /// returns how many local members it was queued for.
    pub(crate) fn fan_out(&self, room: &str, wire: tungstenite::Message, except: Option<ConnId>) -> usize {
        self.publish(room, |_| Some(wire), except).1
    }

    /// Delivers the message `make` builds from the position it gets (in a
    /// room with history; `None` in others) here, then relays it to the
    /// other instances; returns the position and how many local members it
    /// was queued for. `make` runs under the room's lock: it must not use
    /// the hub. Nothing is sent when it returns `None`.
    pub(crate) fn publish(
        &self,
        room: &str,
        make: impl FnOnce(Option<Position>) -> Option<tungstenite::Message>,
        except: Option<ConnId>,
    ) -> (Option<Position>, usize) {
        let shard = read(self.room_shard(room));
        let offer = |m: &M, w, ordered| self.offer(m, w, ordered);
        let delivered = match shard.get(room) {
            Some(r) => match self.shared_history(r, room) {
                Some((relay, limits)) => {
                    let Some(template) = make(Some(self.stand_in)).and_then(|w| Template::new(w, &self.stand_in_text))
                    else {
                        return (None, 0);
                    };
                    let Err(template) = relay.append(room, limits, except, template) else {
                        return (
                            None,
                            r.members.len() - usize::from(except.is_some_and(|e| r.members.contains_key(&e))),
                        );
                    };
                    // Not taken (its queue is full): delivered here, with a
                    // position of this instance's own history.
                    r.deliver(|pos| pos.and_then(|p| template.fill(p)), except, &offer)
                }
                None => r.deliver(make, except, &offer),
            },
            None => make(None).map(|wire| (None, wire, 0)),
        };
        drop(shard);
        let Some((pos, wire, queued)) = delivered else { return (None, 0) };
        if let Some(relay) = self.relay.get() {
            relay.publish(Target::Room(room), except, &wire);
        }
        (pos, queued)
    }

    /// The backplane and the limits of `room`'s shared history, when it
    /// has one and a message for it would come back here now.
    fn shared_history(&self, room: &Room<M>, name: &str) -> Option<(&Arc<dyn Relay>, super::history::Limits)> {
        let relay = self.relay.get()?;
        let limits = room.limits()?;
        relay.history_ready(name).then_some((relay, limits))
    }

    /// Delivers to the room's members on this instance (a message another
    /// instance relayed; a room with history records it).
    #[cfg(feature = "redis")]
    pub(crate) fn deliver_room(&self, room: &str, wire: tungstenite::Message, except: Option<ConnId>) -> usize {
        let shard = read(self.room_shard(room));
        let Some(room) = shard.get(room) else { return 0 };
        let offer = |m: &M, w, ordered| self.offer(m, w, ordered);
        room.deliver(|_| Some(wire), except, &offer).map_or(0, |(_, _, n)| n)
    }

    /// Delivers a message of `room`'s shared history, at `pos`, to its
    /// members on this instance (the backplane relays them in offset order).
    #[cfg(feature = "redis")]
    pub(crate) fn deliver_at(&self, room: &str, pos: Position, wire: &tungstenite::Message, except: Option<ConnId>) {
        let shard = read(self.room_shard(room));
        if let Some(room) = shard.get(room) {
            room.deliver_at(pos, wire, except, &|m: &M, w, ordered| self.offer(m, w, ordered));
        }
    }

    /// Delivers a message of `room`'s shared history here alone (the
    /// backplane could not take it), with a position of this instance's own
    /// history.
    #[cfg(feature = "redis")]
    pub(crate) fn deliver_template(&self, room: &str, template: &Template, except: Option<ConnId>) {
        let shard = read(self.room_shard(room));
        if let Some(room) = shard.get(room) {
            let offer = |m: &M, w, ordered| self.offer(m, w, ordered);
            room.deliver(|pos| pos.and_then(|p| template.fill(p)), except, &offer);
        }
    }

    /// A step of `member`'s recovery in `room` through the backplane.
    #[cfg(feature = "redis")]
    pub(crate) fn recovery(&self, room: &str, member: ConnId, nonce: u64, step: Step) {
        let shard = read(self.room_shard(room));
        if let Some(room) = shard.get(room) {
            room.recovery(member, nonce, step, &|m: &M, w, ordered| self.offer(m, w, ordered));
        }
        drop(shard);
        self.recoveries.notify_waiters();
    }

    /// Offers a message to one member (its `on_full` policy applies);
    /// whether it was queued. Drops are counted here, app-wide.
    /// `ordered`: through its outbound queue even from its own task (rooms
    /// with history: see `room.rs`).
    pub(super) fn offer(&self, member: &M, wire: tungstenite::Message, ordered: bool) -> bool {
        let offered = if ordered { member.offer_in_order(wire) } else { member.offer(wire) };
        match offered {
            Offer::Queued => true,
            Offer::Dropped => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
            Offer::Refused => false,
        }
    }

    /// Adds `conn` to `room`; whether it is in the room. A connection that
    /// already ended, or that is in as many rooms as it may be, joins nothing.
    /// With `resume`, the room keeps a history and the client gets what it
    /// missed first (see `room.rs`).
    pub(crate) fn join(&self, conn: &M, room: &str, resume: Option<Resume>) -> bool {
        let mut rooms = lock(conn.rooms());
        if rooms.contains(room) {
            return true;
        }
        if conn.is_closed() {
            return false;
        }
        if rooms.len() >= conn.max_rooms() {
            tracing::info!(conn = %conn.id(), rooms = rooms.len(), "join refused: the connection is in as many rooms as it may be");
            return false;
        }
        let mut shard = write(self.room_shard(room));
        let key = match shard.get_key_value(room) {
            Some((key, _)) => key.clone(),
            None => {
                self.sweep(&mut shard);
                Arc::from(room)
            }
        };
        let entry = shard.entry(key.clone()).or_default();
        if entry.members.is_empty() {
            self.room_opened(&key);
        }
        let shared = self.relay.get().is_some_and(|r| r.history_up());
        let recover = entry.admit(conn, resume, || self.epochs.fetch_add(1, Ordering::Relaxed), shared);
        if let Some(tracking) = conn.presence(&key) {
            self.presence_admit(&key, entry, conn, tracking);
        }
        if let Some(relay) = self.relay.get() {
            if let Some(r) = recover {
                if !relay.recover(&key, conn.id(), r.nonce, r.since, r.limits) {
                    let offer = |m: &M, w, ordered| self.offer(m, w, ordered);
                    entry.recovery(conn.id(), r.nonce, super::room::Step::Failed, &offer);
                }
            }
            relay.presence_add(&key, &member_of(conn));
        }
        rooms.insert(key);
        true
    }

    /// Forgets the memberless rooms of a shard whose history emptied (at
    /// most once a second, when a room is created: idle rooms only pile up
    /// as new ones are made).
    fn sweep(&self, shard: &mut HashMap<Arc<str>, Room<M>>) {
        let now = tokio::time::Instant::now();
        let ms = now.saturating_duration_since(self.created).as_millis() as u64;
        let last = self.swept_ms.load(Ordering::Relaxed);
        if ms < last + 1000 || self.swept_ms.compare_exchange(last, ms, Ordering::Relaxed, Ordering::Relaxed).is_err() {
            return;
        }
        shard.retain(|_, room| !room.is_idle(now));
    }

    /// Removes `conn` from `room`; the room goes when it empties.
    pub(crate) fn leave(&self, conn: &M, room: &str) {
        let mut rooms = lock(conn.rooms());
        let Some(key) = rooms.take(room) else { return };
        self.remove_member(&key, conn);
        drop(rooms);
    }

    fn remove_member(&self, room: &Arc<str>, conn: &M) {
        let mut shard = write(self.room_shard(room));
        if let Some(r) = shard.get_mut(&**room) {
            let removed = r.remove(conn.id());
            if removed {
                self.presence_remove(room, r, conn.id());
            }
            if removed && r.members.is_empty() {
                if r.is_idle(tokio::time::Instant::now()) {
                    shard.remove(&**room);
                }
                self.room_closed(room);
            }
        }
        drop(shard);
        if let Some(relay) = self.relay.get() {
            relay.presence_remove(room, &member_of(conn));
        }
    }

    pub(crate) fn attach_metrics(&self, metrics: &crate::metrics::Metrics) {
        let gauge = metrics.rooms_open.clone();
        gauge.set(self.rooms() as i64);
        let _ = self.rooms_gauge.set(gauge);
        if let Ok(h) = metrics.fanout_for("external") {
            let _ = self.external_fanout.set(h);
        }
    }

    fn room_opened(&self, room: &Arc<str>) {
        if let Some(relay) = self.relay.get() {
            relay.subscribe(room);
        }
        self.room_count.fetch_add(1, Ordering::AcqRel);
        if let Some(g) = self.rooms_gauge.get() {
            g.inc();
        }
    }

    fn room_closed(&self, room: &Arc<str>) {
        if let Some(relay) = self.relay.get() {
            relay.unsubscribe(room);
        }
        self.room_count.fetch_sub(1, Ordering::AcqRel);
        if let Some(g) = self.rooms_gauge.get() {
            g.dec();
        }
    }

    /// Connection ids are `instance << 32 | counter`: unique across
    /// instances sharing a backplane (the instance number is random, 20
    /// bits, and claimed in Redis by its backplane), and below 2^53 so
    /// JavaScript clients read them exactly. Once the 32-bit counter went
    /// round (logged once), ids still held by open connections are skipped.
    pub(crate) fn next_id(&self) -> ConnId {
        let instance = u64::from(self.instance()) << 32;
        loop {
            let raw = self.next_id.fetch_add(1, Ordering::Relaxed);
            let counter = raw & 0xFFFF_FFFF;
            if raw > 0xFFFF_FFFF && !self.wrapped.swap(true, Ordering::Relaxed) {
                tracing::warn!("connection id counter went round 2^32: skipping ids still in use");
            }
            let id = ConnId::from_u64(instance | counter);
            let in_use = self.wrapped.load(Ordering::Relaxed) && self.get(id).is_some();
            if counter != 0 && !in_use {
                return id;
            }
        }
    }

    pub(crate) fn instance(&self) -> u32 {
        self.instance.load(Ordering::Relaxed)
    }

    /// Takes the instance number a backplane claimed (before serving).
    #[cfg(feature = "redis")]
    pub(crate) fn set_instance(&self, instance: u32) {
        self.instance.store(instance & 0xF_FFFF, Ordering::Relaxed);
    }

    pub(crate) fn set_relay(&self, relay: Arc<dyn Relay>) {
        let _ = self.relay.set(relay);
    }

    pub(crate) async fn shutdown_relay(&self) {
        if let Some(relay) = self.relay.get() {
            relay.shutdown().await;
        }
    }

    /// Every (room, member) pair of this instance, for presence refreshes.
    #[cfg(feature = "redis")]
    pub(crate) fn local_presence(&self) -> Vec<(Arc<str>, Member)> {
        let mut out = Vec::new();
        for shard in self.rooms.iter() {
            for (room, r) in read(shard).iter() {
                out.extend(r.members.values().map(|c| (room.clone(), member_of(c))));
            }
        }
        out
    }

    /// Who is in `room` on every instance (with a backplane; else this
    /// instance's [`presence`](Hub::presence)).
    pub(crate) async fn presence_all(&self, room: &str) -> Vec<Member> {
        match self.relay.get() {
            Some(relay) => relay.presence(room).await,
            None => self.presence(room),
        }
    }

    /// Waits (at most `limit`) until the backplane delivers other instances'
    /// messages for `room`, and `member`'s recovery there (if any) ended;
    /// at once without a backplane.
    pub(crate) async fn room_synced(&self, member: ConnId, room: &str, limit: std::time::Duration) {
        let Some(relay) = self.relay.get() else { return };
        let synced = async {
            relay.subscribed(room).await;
            loop {
                let stepped = self.recoveries.notified();
                let mut stepped = std::pin::pin!(stepped);
                stepped.as_mut().enable();
                if !read(self.room_shard(room)).get(room).is_some_and(|r| r.is_recovering(member)) {
                    return;
                }
                stepped.await;
            }
        };
        if tokio::time::timeout(limit, synced).await.is_err() {
            tracing::debug!(room, "backplane subscription or recovery not done in time");
        }
    }

    pub(crate) fn register(&self, conn: &M) {
        if self.runtime.get().is_none() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let _ = self.runtime.set(runtime);
            }
        }
        let mut shard = write(self.conn_shard(conn.id()));
        if let Entry::Vacant(slot) = shard.entry(conn.id()) {
            slot.insert(conn.clone());
            self.conn_count.fetch_add(1, Ordering::AcqRel);
        }
        drop(shard);
        if let Some(principal) = conn.principal() {
            write(self.principal_shard(principal)).entry(principal.clone()).or_default().push(conn.clone());
        }
    }

    /// Removes a connection that ended from every room and from the registry.
    pub(crate) fn unregister(&self, conn: &M) {
        let rooms = std::mem::take(&mut *lock(conn.rooms()));
        for room in rooms {
            self.remove_member(&room, conn);
        }
        if let Some(principal) = conn.principal() {
            let mut shard = write(self.principal_shard(principal));
            if let Some(conns) = shard.get_mut(principal) {
                conns.retain(|c| c.id() != conn.id());
                if conns.is_empty() {
                    shard.remove(principal);
                }
            }
        }
        let removed = write(self.conn_shard(conn.id())).remove(&conn.id()).is_some();
        if removed && self.conn_count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.emptied.notify_waiters();
        }
    }

    /// Asks every connection to close with `reason`.
    pub(crate) fn close_all(&self, reason: &CloseReason, frame: &CloseFrame) {
        for shard in self.conns.iter() {
            let conns: Vec<M> = read(shard).values().cloned().collect();
            for conn in conns {
                conn.close(reason, frame);
            }
        }
    }

    /// Waits until no connection is open, or `limit` passed; returns whether
    /// the registry emptied.
    pub(crate) async fn wait_empty(&self, limit: Duration) -> bool {
        let wait = async {
            loop {
                let emptied = self.emptied.notified();
                if self.connections() == 0 {
                    return;
                }
                emptied.await;
            }
        };
        tokio::time::timeout(limit, wait).await.is_ok()
    }

    #[cfg(feature = "redis")]
    pub(super) fn room_shards(&self) -> impl Iterator<Item = &Shard<Arc<str>, Room<M>>> {
        self.rooms.iter()
    }

    pub(super) fn relay(&self) -> Option<&Arc<dyn Relay>> {
        self.relay.get()
    }

    /// The runtime to spawn on: the caller's, else the connections'.
    pub(super) fn runtime(&self) -> Option<tokio::runtime::Handle> {
        tokio::runtime::Handle::try_current().ok().or_else(|| self.runtime.get().cloned())
    }

    pub(super) fn me(&self) -> Weak<Registry<M>> {
        self.me.clone()
    }

    pub(super) fn room_shard(&self, room: &str) -> &Shard<Arc<str>, Room<M>> {
        &self.rooms[self.shard_of(room)]
    }

    fn principal_shard(&self, principal: &str) -> &Shard<Arc<str>, Vec<M>> {
        &self.principals[self.shard_of(principal)]
    }

    fn conn_shard(&self, id: ConnId) -> &Shard<ConnId, M> {
        &self.conns[self.shard_of(id)]
    }

    fn shard_of(&self, key: impl Hash) -> usize {
        (self.hasher.hash_one(key) as usize) % SHARDS
    }
}

fn member_of<M: Peer>(conn: &M) -> Member {
    Member { id: conn.id(), principal: conn.principal().cloned() }
}
