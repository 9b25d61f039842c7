//! Room history: the positions of a room's messages and the last ones kept
//! for clients that reconnect.
//!
//! A room of a route with `history = N` (and optionally `history_ttl`)
//! numbers every message delivered to it: a [`Position`] is the room's
//! epoch (random, drawn when the room's history starts) and an offset that
//! grows by one per message. The room keeps its last `N` messages (younger
//! than `history_ttl`); a client that reconnects with the position of the
//! last message it saw (`?since=<pos>` on the route's URL) first gets a
//! [`Recovery`] notice, then every message after that position, then the
//! live stream.
//!
//! ```
//! use wirehub::hub::Position;
//!
//! let pos: Position = "7f3a9c-42".parse().unwrap();
//! assert_eq!(pos.offset(), 42);
//! assert_eq!(pos.to_string(), "7f3a9c-42");
//! assert!("42".parse::<Position>().is_err());
//! ```
//!
//! Invariants:
//! - offsets are given and messages delivered under the room's lock, so
//!   every member sees a room's messages in offset order;
//! - a join that recovers reads the history and becomes a member under the
//!   same lock: a message published meanwhile is either in what it
//!   recovers or in its live stream, never both, never neither;
//! - a history holds at most its count of messages (older ones leave as
//!   new ones come) and nothing older than its age; the payloads are shared
//!   (`Bytes`) with every member's copy, never copied;
//! - the epoch changes whenever a history is lost (a room forgotten, a
//!   process restart), so a position of the old one is never taken for a
//!   position of the new one.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use tokio::time::Instant;
use tokio_tungstenite::tungstenite;

/// The position of a message in a room's history: the history's epoch and
/// the message's offset (1 for the room's first message, then +1 each).
///
/// Clients see it as an opaque string (`"<epoch hex>-<offset>"`), which is
/// what [`Display`](fmt::Display), [`FromStr`] and serde use.
///
/// ```
/// use wirehub::hub::Position;
///
/// let pos: Position = "a1-7".parse().unwrap();
/// assert_eq!(serde_json::to_value(pos).unwrap(), serde_json::json!("a1-7"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    epoch: u64,
    offset: u64,
}

impl Position {
    /// The offset of the message in its room (1, 2, ...).
    ///
    /// ```
    /// assert_eq!("ff-3".parse::<wirehub::hub::Position>().unwrap().offset(), 3);
    /// ```
    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub(crate) fn new(epoch: u64, offset: u64) -> Position {
        Position { epoch, offset }
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// A random position for a hub to build messages with before their
    /// real position is known (see `shared.rs`): 36 characters unlikely to
    /// appear in a message by chance.
    pub(crate) fn stand_in() -> Position {
        let random = |salt: u64| std::hash::BuildHasher::hash_one(&std::hash::RandomState::new(), salt);
        Position { epoch: random(1) | 1 << 63, offset: random(2) | 1 << 63 }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}-{}", self.epoch, self.offset)
    }
}

/// A string that is not a [`Position`] (`"<epoch hex>-<offset>"`).
///
/// ```
/// assert!("nope".parse::<wirehub::hub::Position>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a position: {0:?} (expected `<epoch hex>-<offset>`)")]
pub struct BadPosition(String);

impl FromStr for Position {
    type Err = BadPosition;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadPosition(s.chars().take(64).collect());
        let (epoch, offset) = s.split_once('-').ok_or_else(bad)?;
        let epoch = u64::from_str_radix(epoch, 16).map_err(|_| bad())?;
        let offset = offset.parse().map_err(|_| bad())?;
        Ok(Position { epoch, offset })
    }
}

impl serde::Serialize for Position {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Position {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What a reconnecting client is told before its missed messages: whether
/// the history could fill the gap since its position, and how many
/// messages it missed. On the wire (sent by the runtime, first, to a client
/// that connected with `?since=`):
/// `{"type":"recovered","ok":true,"missed":3}`.
///
/// When `ok` is false (the position is of another epoch, too old, or not a
/// position), nothing is replayed: `missed` is then how many messages the
/// client is known to have missed (0 when that cannot be known), and the
/// live stream follows.
///
/// ```
/// let r = wirehub::hub::Recovery { ok: true, missed: 3 };
/// assert_eq!(r.to_json(), r#"{"type":"recovered","ok":true,"missed":3}"#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovery {
    /// Every message after the client's position followed, in order.
    pub ok: bool,
    /// How many messages it missed (those replayed when `ok`).
    pub missed: u64,
}

impl Recovery {
    /// The notice as sent to the client.
    ///
    /// ```
    /// let r = wirehub::hub::Recovery { ok: false, missed: 0 };
    /// assert_eq!(r.to_json(), r#"{"type":"recovered","ok":false,"missed":0}"#);
    /// ```
    pub fn to_json(&self) -> String {
        format!(r#"{{"type":"recovered","ok":{},"missed":{}}}"#, self.ok, self.missed)
    }
}

/// Where a client resumes, from the route's query string: `None` without a
/// `since` parameter, `Some(None)` when its value is not a position.
pub(crate) fn since_in_query(query: Option<&str>) -> Option<Option<Position>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query?).ok()?;
    let (_, value) = pairs.into_iter().rev().find(|(key, _)| key == "since")?;
    Some(value.parse().ok())
}

/// How much of a room's history is kept: by count, and by age if set (a
/// route's `history` and `history_ttl`).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most messages kept.
    pub count: usize,
    /// The oldest a kept message may be.
    pub ttl: Option<Duration>,
}

/// One room's kept messages and its next offset.
pub(crate) struct History {
    epoch: u64,
    /// The offset of the last message (0 before the first).
    top: u64,
    limits: Limits,
    kept: VecDeque<Kept>,
}

struct Kept {
    at: Instant,
    wire: tungstenite::Message,
}

impl History {
    pub(crate) fn new(epoch: u64, limits: Limits) -> History {
        History { epoch, top: 0, limits, kept: VecDeque::new() }
    }

    /// What it keeps.
    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    /// The position the next message will have.
    pub(crate) fn next(&self) -> Position {
        Position { epoch: self.epoch, offset: self.top + 1 }
    }

    /// Records a message (at [`next`](History::next)) and drops what the
    /// limits no longer keep.
    pub(crate) fn push(&mut self, wire: tungstenite::Message, now: Instant) -> Position {
        self.top += 1;
        self.kept.push_back(Kept { at: now, wire });
        while self.kept.len() > self.limits.count {
            self.kept.pop_front();
        }
        self.expire(now);
        Position { epoch: self.epoch, offset: self.top }
    }

    /// Drops the messages older than the age limit.
    pub(crate) fn expire(&mut self, now: Instant) {
        let Some(ttl) = self.limits.ttl else { return };
        while self.kept.front().is_some_and(|k| now.saturating_duration_since(k.at) > ttl) {
            self.kept.pop_front();
        }
    }

    /// Whether nothing is kept (after [`expire`](History::expire)).
    pub(crate) fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// How many messages are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.kept.len()
    }

    /// What a client whose last message was at `since` missed: the notice,
    /// and when it is `ok`, the messages after `since`, oldest first.
    pub(crate) fn since(&mut self, since: Option<Position>, now: Instant) -> (Recovery, Vec<tungstenite::Message>) {
        self.expire(now);
        let oldest = self.top + 1 - self.kept.len() as u64;
        let refused = |missed| (Recovery { ok: false, missed }, Vec::new());
        let Some(since) = since.filter(|s| s.epoch == self.epoch) else { return refused(0) };
        if since.offset > self.top {
            return refused(0);
        }
        let missed = self.top - since.offset;
        if since.offset + 1 < oldest {
            return refused(missed);
        }
        let skip = (since.offset + 1 - oldest) as usize;
        let replay = self.kept.iter().skip(skip).map(|k| k.wire.clone()).collect();
        (Recovery { ok: true, missed }, replay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(count: usize, ttl: Option<Duration>) -> History {
        History::new(0xab, Limits { count, ttl })
    }

    fn text(wire: &tungstenite::Message) -> String {
        wire.to_text().unwrap_or_default().to_owned()
    }

    fn pos(offset: u64) -> Option<Position> {
        Some(Position { epoch: 0xab, offset })
    }

    #[test]
    fn positions_parse_and_print() {
        for (text, ok) in
            [("ab-1", true), ("0-0", true), ("ab", false), ("x-1", false), ("ab-", false), ("ab--1", false)]
        {
            assert_eq!(text.parse::<Position>().is_ok(), ok, "{text}");
        }
        assert_eq!("ab-12".parse::<Position>().map(|p| p.to_string()), Ok("ab-12".to_owned()));
    }

    #[test]
    fn since_is_read_from_the_query() {
        let ab_2 = Some(Position { epoch: 0xab, offset: 2 });
        for (query, since) in [
            (None, None),
            (Some(""), None),
            (Some("token=x"), None),
            (Some("since=ab-2"), Some(ab_2)),
            (Some("a=1&since=ab%2D2"), Some(ab_2)),
            (Some("since=zz"), Some(None)),
            (Some("since="), Some(None)),
        ] {
            assert_eq!(since_in_query(query), since, "{query:?}");
        }
    }

    #[test]
    fn a_flood_keeps_only_the_count() {
        let mut h = history(100, None);
        let now = Instant::now();
        for i in 0..100_000 {
            h.push(tungstenite::Message::text(i.to_string()), now);
        }
        assert_eq!(h.len(), 100);
        assert_eq!(h.next().offset(), 100_001);
    }

    #[test]
    fn recovery_replays_what_follows_the_position_in_order() {
        let mut h = history(3, None);
        let now = Instant::now();
        for i in 1..=5 {
            assert_eq!(h.push(tungstenite::Message::text(i.to_string()), now).offset(), i);
        }
        // Kept: 3, 4, 5.
        let (r, replay) = h.since(pos(2), now);
        assert_eq!(r, Recovery { ok: true, missed: 3 });
        assert_eq!(replay.iter().map(text).collect::<Vec<_>>(), ["3", "4", "5"]);
        assert_eq!(h.since(pos(5), now), (Recovery { ok: true, missed: 0 }, Vec::new()));
        assert_eq!(h.since(pos(1), now).0, Recovery { ok: false, missed: 4 });
        assert_eq!(h.since(pos(6), now).0, Recovery { ok: false, missed: 0 });
        assert_eq!(h.since(None, now).0, Recovery { ok: false, missed: 0 });
        let other_epoch = Some(Position { epoch: 1, offset: 4 });
        assert_eq!(h.since(other_epoch, now).0, Recovery { ok: false, missed: 0 });
    }

    #[test]
    fn old_messages_expire() {
        let mut h = history(10, Some(Duration::from_secs(60)));
        let start = Instant::now();
        h.push(tungstenite::Message::text("old"), start);
        h.push(tungstenite::Message::text("new"), start + Duration::from_secs(30));
        let later = start + Duration::from_secs(61);
        assert_eq!(h.since(pos(0), later).0, Recovery { ok: false, missed: 2 });
        let (r, replay) = h.since(pos(1), later);
        assert_eq!((r.ok, replay.iter().map(text).collect::<Vec<_>>()), (true, vec!["new".to_owned()]));
        h.expire(start + Duration::from_secs(100));
        assert!(h.is_empty());
    }
}
