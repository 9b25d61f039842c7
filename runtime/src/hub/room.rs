//! [`Room`]: one room's members and, on routes with `history`, its
//! history. The registry keeps rooms in its sharded maps and calls these
//! under the room's shard lock (read to deliver, write to join or leave).
//!
//! Invariants: a room with history gives offsets and delivers under its
//! history's lock, to every member's outbound queue (never a task's own
//! reply FIFO, which the writer drains after the queue), so each member
//! sees offset order; a room without history delivers as before, lock-free
//! apart from the shard's read lock.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::time::Instant;
use tokio_tungstenite::tungstenite;

use super::history::{History, Limits, Position};
use super::id::ConnId;
use super::peer::{Offer, Peer};
use super::presence::Presence;
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

pub(crate) struct Room<M> {
    pub(crate) members: HashMap<ConnId, M>,
    history: Option<Mutex<History>>,
    /// On routes with `presence` (boxed: other rooms pay one pointer).
    pub(crate) presence: Option<Box<Mutex<Presence>>>,
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
                let h = h.get_mut().unwrap_or_else(|p| p.into_inner());
                h.expire(now);
                h.is_empty()
            })
    }

    /// Adds a member; with `resume`, starts the history if there is none
    /// and, when the client asked, queues its recovery notice and the
    /// messages it missed before anything live (the caller holds the
    /// shard's write lock, so no delivery runs meanwhile).
    pub(crate) fn admit(&mut self, conn: &M, resume: Option<Resume>, epoch: impl FnOnce() -> u64) {
        self.members.insert(conn.id(), conn.clone());
        let Some(resume) = resume else { return };
        let history = self.history.get_or_insert_with(|| Mutex::new(History::new(epoch(), resume.limits)));
        let Some(since) = resume.since else { return };
        let history = history.get_mut().unwrap_or_else(|p| p.into_inner());
        let (recovery, replay) = history.since(since, Instant::now());
        let notice = tungstenite::Message::text(recovery.to_json());
        for wire in std::iter::once(notice).chain(replay) {
            if conn.offer_in_order(wire) != Offer::Queued {
                break;
            }
        }
    }

    /// Delivers the message `make` builds (given the position it gets, in a
    /// room with history) to every member but `except`; returns its
    /// position, the wire message (to relay) and how many members it was
    /// queued for. `offer` applies a member's `on_full` policy.
    pub(crate) fn deliver(
        &self,
        make: impl FnOnce(Option<Position>) -> Option<tungstenite::Message>,
        except: Option<ConnId>,
        offer: impl Fn(&M, tungstenite::Message, bool) -> bool,
    ) -> Option<(Option<Position>, tungstenite::Message, usize)> {
        let Some(history) = &self.history else {
            let wire = make(None)?;
            let queued = self.offer_all(&wire, except, |m, w| offer(m, w, false));
            return Some((None, wire, queued));
        };
        let mut history = lock(history);
        let wire = make(Some(history.next()))?;
        let pos = history.push(wire.clone(), Instant::now());
        let queued = self.offer_all(&wire, except, |m, w| offer(m, w, true));
        Some((Some(pos), wire, queued))
    }

    fn offer_all(
        &self,
        wire: &tungstenite::Message,
        except: Option<ConnId>,
        offer: impl Fn(&M, tungstenite::Message) -> bool,
    ) -> usize {
        let mut queued = 0;
        for (id, member) in &self.members {
            if Some(*id) != except {
                queued += usize::from(offer(member, wire.clone()));
            }
        }
        queued
    }
}
