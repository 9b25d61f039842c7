//! A room's presence state: identities with their connections here and
//! on other instances, what changed since the last batch, and the batch
//! itself (see the module docs of `presence`).

use std::collections::hash_map::{Entry, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_tungstenite::tungstenite;

use super::wire::{json_message, push_map, Meta};
use crate::hub::id::ConnId;

/// How a route tracks presence in its room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tracking {
    /// At most one diff per interval.
    pub(crate) interval: Duration,
    /// Identities listed at most; above, counts only.
    pub(crate) limit: usize,
}

/// One instance's presence in a room as other instances learn it (what the
/// backplane carries between instances).
#[doc(hidden)]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PresenceDelta {
    /// The instance's whole set, replacing what was known of it.
    pub sync: bool,
    /// Asks the other instances to answer with their whole set.
    pub ask: bool,
    /// Identities present there (new, or with new metadata), with their metadata (JSON).
    pub joins: Vec<(Arc<str>, Option<Arc<str>>)>,
    /// Identities no longer present there.
    pub leaves: Vec<Arc<str>>,
}

/// An identity in the room: its connections here, the other instances
/// that hold it, its metadata.
#[derive(Debug)]
struct Holder {
    local: u32,
    remote: u32,
    meta: Meta,
}

/// What is known of another instance's presence in the room.
#[derive(Debug)]
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
struct Remote {
    identities: HashMap<Arc<str>, Meta>,
    heard: Instant,
}

/// A member whose `on_open` has not returned yet: listed at the first batch after.
#[derive(Debug)]
struct Opening {
    key: Arc<str>,
    meta: Meta,
}

/// What a batch sends.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// To every listed member but `fresh` (or to all, with `state_to_all`).
    pub(crate) diff: Option<tungstenite::Message>,
    /// To the `fresh` members (or, with `state_to_all`, to every listed one).
    pub(crate) state: Option<tungstenite::Message>,
    pub(crate) fresh: Vec<ConnId>,
    pub(crate) state_to_all: bool,
    /// This instance's changes, for the other instances.
    pub(crate) outgoing: Option<PresenceDelta>,
    /// Members still opening: another batch is due.
    pub(crate) again: bool,
}

/// A room's presence (only in rooms of routes with `presence`).
#[derive(Debug)]
pub(crate) struct Presence {
    pub(crate) tracking: Tracking,
    /// Listed local connections and their identity.
    conns: HashMap<ConnId, Arc<str>>,
    opening: HashMap<ConnId, Opening>,
    holders: HashMap<Arc<str>, Holder>,
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    remotes: HashMap<u32, Remote>,
    /// For each identity touched since the last batch: its metadata then
    /// (`Some`) or absent (`None`).
    before: HashMap<Arc<str>, Option<Meta>>,
    /// Local changes for the other instances: present here with this
    /// metadata (`Some`), or gone from here (`None`).
    outgoing: HashMap<Arc<str>, Option<Meta>>,
    /// Listed since the last batch: they get the state.
    fresh: Vec<ConnId>,
    scheduled: bool,
    /// Whether the last messages listed identities.
    listed: bool,
    /// The count the last message carried.
    sent_count: usize,
}

impl Presence {
    pub(crate) fn new(tracking: Tracking) -> Self {
        Presence {
            tracking,
            conns: HashMap::new(),
            opening: HashMap::new(),
            holders: HashMap::new(),
            remotes: HashMap::new(),
            before: HashMap::new(),
            outgoing: HashMap::new(),
            fresh: Vec::new(),
            scheduled: false,
            listed: true,
            sent_count: 0,
        }
    }

    /// The number of identities present (here and, with a backplane, elsewhere).
    pub(crate) fn identities(&self) -> usize {
        self.holders.len()
    }

    /// Every identity present with its metadata.
    pub(crate) fn list(&self) -> Vec<(Arc<str>, Meta)> {
        self.holders.iter().map(|(k, h)| (k.clone(), h.meta.clone())).collect()
    }

    /// Whether a batch is due (the room must be kept until it ran).
    pub(crate) fn is_pending(&self) -> bool {
        self.scheduled
    }

    /// Marks a batch due; true when the caller must schedule it.
    fn schedule(&mut self) -> bool {
        !std::mem::replace(&mut self.scheduled, true)
    }

    /// A member joined; `opening`: its `on_open` has not returned yet.
    /// Whether a batch must be scheduled.
    pub(crate) fn admit(&mut self, id: ConnId, key: Arc<str>, opening: bool) -> bool {
        if opening {
            self.opening.insert(id, Opening { key, meta: None });
        } else {
            self.track(id, key, None);
        }
        self.schedule()
    }

    /// A member left. Whether a batch must be scheduled.
    pub(crate) fn remove(&mut self, id: ConnId) -> bool {
        if self.opening.remove(&id).is_some() {
            return false;
        }
        let Some(key) = self.conns.remove(&id) else { return false };
        if !self.fresh.is_empty() {
            self.fresh.retain(|f| *f != id);
        }
        self.touch(&key);
        if let Some(holder) = self.holders.get_mut(&key) {
            holder.local = holder.local.saturating_sub(1);
            if holder.local == 0 {
                self.outgoing.insert(key.clone(), None);
                if holder.remote == 0 {
                    self.holders.remove(&key);
                }
            }
        }
        self.schedule()
    }

    /// The app set a member's metadata. Whether a batch must be scheduled.
    pub(crate) fn set_meta(&mut self, id: ConnId, meta: Arc<str>) -> bool {
        if let Some(opening) = self.opening.get_mut(&id) {
            opening.meta = Some(meta);
            return false;
        }
        let Some(key) = self.conns.get(&id).cloned() else { return false };
        self.touch(&key);
        if let Some(holder) = self.holders.get_mut(&key) {
            holder.meta = Some(meta.clone());
            self.outgoing.insert(key, Some(Some(meta)));
        }
        self.schedule()
    }

    fn track(&mut self, id: ConnId, key: Arc<str>, meta: Meta) {
        self.touch(&key);
        let holder = self.holders.entry(key.clone()).or_insert(Holder { local: 0, remote: 0, meta: None });
        holder.local += 1;
        let first = holder.local == 1;
        let changed = meta.is_some() && holder.meta != meta;
        if meta.is_some() {
            holder.meta = meta;
        }
        if first || changed {
            self.outgoing.insert(key.clone(), Some(holder.meta.clone()));
        }
        self.conns.insert(id, key);
        self.fresh.push(id);
    }

    /// Records how `key` was at the last batch, the first time it changes.
    fn touch(&mut self, key: &Arc<str>) {
        if let Entry::Vacant(slot) = self.before.entry(key.clone()) {
            slot.insert(self.holders.get(key).map(|h| h.meta.clone()));
        }
    }

    /// Runs a batch: lists the members whose `on_open` returned
    /// (`opening(id)`: `Some(true)` still opening, `None` gone), then builds
    /// the diff since the last batch and the state for new members.
    pub(crate) fn batch(&mut self, room: &str, opening: impl Fn(ConnId) -> Option<bool>) -> Batch {
        self.scheduled = false;
        let ready: Vec<ConnId> = self.opening.keys().copied().filter(|id| opening(*id) != Some(true)).collect();
        for id in ready {
            if let Some(o) = self.opening.remove(&id) {
                if opening(id).is_some() {
                    self.track(id, o.key, o.meta);
                }
            }
        }
        let count = self.holders.len();
        let listed = count <= self.tracking.limit;
        let before = std::mem::take(&mut self.before);
        let mut batch = Batch { fresh: std::mem::take(&mut self.fresh), ..Batch::default() };
        if listed && !self.listed {
            batch.state_to_all = true;
        } else if listed {
            batch.diff = self.diff(room, count, before);
        } else if count != self.sent_count {
            batch.diff = Some(json_message(room, "presence_diff", count, |_| {}));
        }
        if batch.state_to_all || !batch.fresh.is_empty() {
            batch.state = Some(self.state(room, count, listed));
        }
        if batch.diff.is_some() || batch.state.is_some() {
            self.sent_count = count;
        }
        self.listed = listed;
        if !self.outgoing.is_empty() {
            let mut delta = PresenceDelta::default();
            for (key, now) in self.outgoing.drain() {
                match now {
                    Some(meta) => delta.joins.push((key, meta)),
                    None => delta.leaves.push(key),
                }
            }
            batch.outgoing = Some(delta);
        }
        batch.again = !self.opening.is_empty() && self.schedule();
        batch
    }

    /// The diff since the last batch, if anything changed.
    fn diff(&self, room: &str, count: usize, before: HashMap<Arc<str>, Option<Meta>>) -> Option<tungstenite::Message> {
        let (mut joins, mut leaves, mut updates) = (Vec::new(), Vec::new(), Vec::new());
        for (key, was) in before {
            match (was, self.holders.get(&key).map(|h| &h.meta)) {
                (None, Some(meta)) => joins.push((key, meta.clone())),
                (Some(meta), None) => leaves.push((key, meta)),
                (Some(old), Some(meta)) if old != *meta => updates.push((key, meta.clone())),
                _ => {}
            }
        }
        if joins.is_empty() && leaves.is_empty() && updates.is_empty() {
            return None;
        }
        Some(json_message(room, "presence_diff", count, |out| {
            push_map(out, "joins", joins.iter().map(|(k, m)| (k, m)));
            push_map(out, "leaves", leaves.iter().map(|(k, m)| (k, m)));
            push_map(out, "updates", updates.iter().map(|(k, m)| (k, m)));
        }))
    }

    fn state(&self, room: &str, count: usize, listed: bool) -> tungstenite::Message {
        json_message(room, "presence_state", count, |out| {
            if listed {
                push_map(out, "members", self.holders.iter().map(|(k, h)| (k, &h.meta)));
            }
        })
    }

    /// Whether `id` is a listed member (diffs go to those only).
    pub(crate) fn is_listed(&self, id: ConnId) -> bool {
        self.conns.contains_key(&id)
    }
}

/// Across instances (the Redis backplane; unused without it).
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
impl Presence {
    /// Another instance's presence changed. Whether a batch must be scheduled.
    pub(crate) fn apply_remote(&mut self, instance: u32, delta: PresenceDelta, now: Instant) -> bool {
        let mut remote =
            self.remotes.remove(&instance).unwrap_or_else(|| Remote { identities: HashMap::new(), heard: now });
        remote.heard = now;
        let mut changed = false;
        if delta.sync {
            let joined: HashMap<Arc<str>, Meta> = delta.joins.iter().cloned().collect();
            let gone: Vec<Arc<str>> = remote.identities.keys().filter(|k| !joined.contains_key(*k)).cloned().collect();
            for key in gone {
                remote.identities.remove(&key);
                changed |= self.remote_leave(&key);
            }
        }
        for (key, meta) in delta.joins {
            match remote.identities.insert(key.clone(), meta.clone()) {
                Some(old) if old == meta => {}
                old => changed |= self.remote_join(&key, meta, old.is_none()),
            }
        }
        for key in delta.leaves {
            if remote.identities.remove(&key).is_some() {
                changed |= self.remote_leave(&key);
            }
        }
        self.remotes.insert(instance, remote);
        changed && self.schedule()
    }

    fn remote_join(&mut self, key: &Arc<str>, meta: Meta, new: bool) -> bool {
        self.touch(key);
        let holder = self.holders.entry(key.clone()).or_insert(Holder { local: 0, remote: 0, meta: None });
        holder.remote += u32::from(new);
        holder.meta = meta;
        true
    }

    fn remote_leave(&mut self, key: &Arc<str>) -> bool {
        self.touch(key);
        if let Some(holder) = self.holders.get_mut(key) {
            holder.remote = holder.remote.saturating_sub(1);
            if holder.local == 0 && holder.remote == 0 {
                self.holders.remove(key);
            }
        }
        true
    }

    /// Forgets the instances not heard from within `ttl` (they died): their
    /// identities leave. Whether a batch must be scheduled.
    pub(crate) fn expire(&mut self, now: Instant, ttl: Duration) -> bool {
        let dead: Vec<u32> = self.remotes.iter().filter(|(_, r)| r.heard + ttl < now).map(|(i, _)| *i).collect();
        let mut changed = false;
        for instance in dead {
            if let Some(remote) = self.remotes.remove(&instance) {
                for key in remote.identities.keys() {
                    changed |= self.remote_leave(key);
                }
            }
        }
        changed && self.schedule()
    }

    /// This instance's whole set, for the other instances.
    pub(crate) fn local_sync(&self, ask: bool) -> PresenceDelta {
        let joins =
            self.holders.iter().filter(|(_, h)| h.local > 0).map(|(k, h)| (k.clone(), h.meta.clone())).collect();
        PresenceDelta { sync: true, ask, joins, leaves: Vec::new() }
    }
}
