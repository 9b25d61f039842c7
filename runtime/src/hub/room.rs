//! [`Room`]: one room's members and, on routes with `history`, its
//! history. The registry keeps rooms in its sharded maps and calls these
//! under the room's shard lock (read to deliver, write to join or leave).
//!
//! Invariants: a room with history gives offsets (or takes them from a
//! shared history, see `shared.rs`) and delivers under its history's lock,
//! to every member's outbound queue (never a task's own reply FIFO, which
//! the writer drains after the queue), so each member sees offset order; a
//! member whose recovery through the backplane is under way gets the
//! room's messages in its buffer instead, until the recovery ends (under
//! the same lock); a room without history delivers as before, lock-free
//! apart from the shard's read lock.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;

use tokio::time::Instant;
use tokio_tungstenite::tungstenite;

use super::history::Recovery;
use super::history::{History, Limits, Position};
use super::id::ConnId;
use super::peer::{Offer, Peer};
use super::presence::Presence;
use super::shared::{Ended, Pending, Read};
use crate::sync::lock;

/// How a connection joins a room with history: the limits the room keeps
/// (if the join starts its history) and where the client resumes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resume {
    pub(crate) limits: Limits,
    /// `None`: no recovery asked (no `?since=`); `Some(None)`: asked with
    /// something that is not a position (told "not recovered").
    pub(crate) since: Option<Option<Position>>,
}

/// A recovery to start through the backplane (the member is buffering).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Recover {
    pub(crate) since: Position,
    pub(crate) nonce: u64,
    pub(crate) limits: Limits,
}

/// How a member's recovery through the backplane went on.
#[derive(Debug)]
#[cfg_attr(not(feature = "redis"), allow(dead_code))] // steps the Redis backplane takes
pub(crate) enum Step {
    /// The history was read.
    Read(Read),
    /// Every message up to the read went through this instance.
    Marked,
    /// It cannot end well (timeout, Redis error): "not recovered".
    Failed,
}

pub(crate) struct Room<M> {
    pub(crate) members: HashMap<ConnId, M>,
    history: Option<Mutex<Ordered>>,
    /// On routes with `presence` (boxed: other rooms pay one pointer).
    pub(crate) presence: Option<Box<Mutex<Presence>>>,
}

/// A room's history and its members' recoveries under way: under one lock,
/// the lock that orders the room's messages.
struct Ordered {
    log: History,
    pending: HashMap<ConnId, Pending>,
}

impl<M> Default for Room<M> {
    fn default() -> Self {
        Room { members: HashMap::new(), history: None, presence: None }
    }
}

impl<M: Peer> Room<M> {
    /// Whether the room can be forgotten: no members, no presence batch
    /// due, and no history worth keeping (none, or every message expired).
    pub(crate) fn is_idle(&mut self, now: Instant) -> bool {
        self.members.is_empty()
            && self.presence.as_mut().is_none_or(|p| !p.get_mut().unwrap_or_else(|e| e.into_inner()).is_pending())
            && self.history.as_mut().is_none_or(|h| {
                let h = &mut h.get_mut().unwrap_or_else(|p| p.into_inner()).log;
                h.expire(now);
                h.is_empty()
            })
    }

    /// What the room's history keeps, if it has one.
    pub(crate) fn limits(&self) -> Option<Limits> {
        self.history.as_ref().map(|h| lock(h).log.limits())
    }

    /// Adds a member; with `resume`, starts the history if there is none
    /// and, when the client asked, queues its recovery notice and the
    /// messages it missed before anything live (the caller holds the
    /// shard's write lock, so no delivery runs meanwhile). With `shared`
    /// (the backplane keeps the history), a recovery from a position is
    /// returned to be started instead, and the member buffers until it ends.
    pub(crate) fn admit(
        &mut self,
        conn: &M,
        resume: Option<Resume>,
        epoch: impl FnOnce() -> u64,
        shared: bool,
    ) -> Option<Recover> {
        self.members.insert(conn.id(), conn.clone());
        let resume = resume?;
        let history = self.history.get_or_insert_with(|| {
            Mutex::new(Ordered { log: History::new(epoch(), resume.limits), pending: HashMap::new() })
        });
        let since = resume.since?;
        let ordered = history.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(since) = since.filter(|_| shared) {
            let nonce = std::hash::RandomState::new().hash_one(conn.id());
            ordered.pending.insert(conn.id(), Pending::new(nonce, Some(since)));
            return Some(Recover { since, nonce, limits: ordered.log.limits() });
        }
        let (recovery, replay) = ordered.log.since(since, Instant::now());
        hand_over(conn, Ended { recovery, replay, live: Vec::new() }, |m, w| m.offer_in_order(w) == Offer::Queued);
        None
    }

    /// Removes a member (and its recovery under way); whether it was one.
    pub(crate) fn remove(&mut self, id: ConnId) -> bool {
        if let Some(h) = self.history.as_mut() {
            h.get_mut().unwrap_or_else(|p| p.into_inner()).pending.remove(&id);
        }
        self.members.remove(&id).is_some()
    }

    /// Whether `id`'s recovery through the backplane is under way.
    pub(crate) fn is_recovering(&self, id: ConnId) -> bool {
        self.history.as_ref().is_some_and(|h| lock(h).pending.contains_key(&id))
    }

    /// Delivers the message `make` builds (given the position it gets, in a
    /// room with history) to every member but `except`; returns its
    /// position, the wire message (to relay) and how many members it was
    /// queued for. `offer` queues a message for a member (its `on_full`
    /// policy applies; the flag asks for its outbound queue) and says if it
    /// was queued.
    pub(crate) fn deliver(
        &self,
        make: impl FnOnce(Option<Position>) -> Option<tungstenite::Message>,
        except: Option<ConnId>,
        offer: &impl Fn(&M, tungstenite::Message, bool) -> bool,
    ) -> Option<(Option<Position>, tungstenite::Message, usize)> {
        let Some(history) = &self.history else {
            let wire = make(None)?;
            let mut queued = 0;
            for (id, member) in &self.members {
                if Some(*id) != except {
                    queued += usize::from(offer(member, wire.clone(), false));
                }
            }
            return Some((None, wire, queued));
        };
        let mut ordered = lock(history);
        let wire = make(Some(ordered.log.next()))?;
        let pos = ordered.log.push(wire.clone(), Instant::now());
        let queued = self.offer_ordered(&mut ordered, pos, &wire, except, offer);
        Some((Some(pos), wire, queued))
    }

    /// Delivers a message of the shared history at `pos` (relayed by the
    /// backplane, in offset order) to every member but `except`; how many
    /// members it was queued for.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))] // what the Redis backplane relays
    pub(crate) fn deliver_at(
        &self,
        pos: Position,
        wire: &tungstenite::Message,
        except: Option<ConnId>,
        offer: &impl Fn(&M, tungstenite::Message, bool) -> bool,
    ) -> usize {
        match &self.history {
            Some(history) => self.offer_ordered(&mut lock(history), pos, wire, except, offer),
            // Joined from another route (no history here): only this task delivers.
            None => self
                .members
                .iter()
                .filter(|(id, _)| Some(**id) != except)
                .fold(0, |queued, (_, member)| queued + usize::from(offer(member, wire.clone(), true))),
        }
    }

    /// Offers to each member in offset order, buffering for members that
    /// recover (one whose buffer fills ends its recovery "not recovered").
    fn offer_ordered(
        &self,
        ordered: &mut Ordered,
        pos: Position,
        wire: &tungstenite::Message,
        except: Option<ConnId>,
        offer: &impl Fn(&M, tungstenite::Message, bool) -> bool,
    ) -> usize {
        let mut queued = 0;
        let mut full = Vec::new();
        let recovering = !ordered.pending.is_empty();
        for (id, member) in &self.members {
            if Some(*id) == except {
                continue;
            }
            let pending = if recovering { ordered.pending.get_mut(id) } else { None };
            if let Some(pending) = pending {
                if !pending.buffer(Some(pos), wire.clone()) {
                    full.push(*id);
                }
                continue;
            }
            queued += usize::from(offer(member, wire.clone(), true));
        }
        for id in full {
            self.end(ordered, id, offer);
        }
        queued
    }

    /// Takes a step of `id`'s recovery (if `nonce` is still its recovery);
    /// when it can end, the member gets what it missed, then goes live.
    pub(crate) fn recovery(
        &self,
        id: ConnId,
        nonce: u64,
        step: Step,
        offer: &impl Fn(&M, tungstenite::Message, bool) -> bool,
    ) {
        let Some(history) = &self.history else { return };
        let mut ordered = lock(history);
        let Some(pending) = ordered.pending.get_mut(&id).filter(|p| p.nonce == nonce) else { return };
        let ends = match step {
            Step::Read(read) => pending.read(read),
            Step::Marked => pending.mark(),
            Step::Failed => true,
        };
        if ends {
            self.end(&mut ordered, id, offer);
        }
    }

    fn end(&self, ordered: &mut Ordered, id: ConnId, offer: &impl Fn(&M, tungstenite::Message, bool) -> bool) {
        let Some(pending) = ordered.pending.remove(&id) else { return };
        let Some(member) = self.members.get(&id) else { return };
        hand_over(member, pending.end(), |m, w| offer(m, w, true));
    }
}

/// Queues a recovery for `member`: the notice and the replay all at once
/// (or, when they do not all fit its queue, a "not recovered" notice
/// instead: never `ok` with messages dropped), then the live messages
/// through `offer`.
fn hand_over<M: Peer>(member: &M, ended: Ended, offer: impl Fn(&M, tungstenite::Message) -> bool) {
    let Ended { recovery, replay, live } = ended;
    let mut notice = Some(recovery);
    if recovery.ok && !replay.is_empty() {
        let batch = std::iter::once(tungstenite::Message::text(recovery.to_json())).chain(replay).collect();
        notice = (!member.offer_batch(batch)).then_some(Recovery { ok: false, missed: recovery.missed });
    }
    let notice = notice.map(|n| tungstenite::Message::text(n.to_json()));
    for wire in notice.into_iter().chain(live) {
        if !offer(member, wire) {
            break;
        }
    }
}
