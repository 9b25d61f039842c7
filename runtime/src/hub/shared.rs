//! Shared history: a room whose history and positions a backplane keeps
//! (Redis Streams), so that every instance gives the same positions and a
//! client can recover on any instance.
//!
//! The backplane assigns a message's position *after* the app built it, in
//! one atomic step with storing and relaying it (one offset sequence per
//! room across instances). So the hub builds the message once with a
//! stand-in position (a random [`Position`] per hub) and cuts it where the
//! stand-in's text appears: a [`Template`]. Whoever learns the position
//! (each instance, from Redis) fills it in where the stand-in was.
//!
//! ```
//! // What the hub does with `publish(room, |pos| format!("{{\"pos\":\"{}\"}}", pos.unwrap()))`:
//! // the stand-in `ab-99` is cut out, the real position filled in later.
//! let text = r#"{"pos":"ab-99"}"#;
//! let parts: Vec<&str> = text.split("ab-99").collect();
//! assert_eq!(parts.join("7f-12"), r#"{"pos":"7f-12"}"#);
//! ```
//!
//! The seam of a recovery (see `room.rs`): a member that recovers through
//! the backplane is in the room at once, but what the room delivers is
//! buffered for it ([`Pending`]) until two things are known: what the
//! history held when it was read (a [`Read`], up to the room's offset
//! `top` then), and that every message up to `top` went through this
//! instance (a marker Redis relays on the room's channel right after the
//! read, in the same atomic step). The member then gets the notice, the
//! missed messages, and what was buffered after `top`: nothing lost at the
//! seam (the subscription was confirmed before the read, so every message
//! after `top` reaches the buffer) and nothing twice (what is buffered up
//! to `top` was in the read).

use bytes::{Bytes, BytesMut};
use tokio_tungstenite::tungstenite::{self, Utf8Bytes};

use super::history::{Position, Recovery};

/// Messages buffered for a member whose recovery is under way, at most: a
/// recovery that would need more ends "not recovered", live from there.
pub(crate) const MAX_BUFFERED: usize = 4096;

/// A room message whose position is not known yet: its payload cut where
/// the hub's stand-in position was (so `parts.len() - 1` places get the
/// position). Built by the hub, filled in by whoever learns the position.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    text: bool,
    parts: Vec<Bytes>,
}

impl Template {
    /// Cuts `wire` wherever `stand_in` appears; `None` for a message that
    /// is neither text nor binary.
    pub(crate) fn new(wire: tungstenite::Message, stand_in: &str) -> Option<Template> {
        let (text, payload): (bool, Bytes) = match wire {
            tungstenite::Message::Text(t) => (true, t.into()),
            tungstenite::Message::Binary(b) => (false, b),
            _ => return None,
        };
        let starts = find_all(&payload, stand_in.as_bytes());
        let mut parts = Vec::with_capacity(starts.len() + 1);
        let mut from = 0;
        for start in starts {
            parts.push(payload.slice(from..start));
            from = start + stand_in.len();
        }
        parts.push(payload.slice(from..));
        Some(Template { text, parts })
    }

    /// A template from decoded parts (`text`: a text message).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))] // the backplane's codec
    pub(crate) fn from_parts(text: bool, parts: Vec<Bytes>) -> Template {
        Template { text, parts }
    }

    /// Whether it is a text message.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))] // the backplane's codec
    pub(crate) fn is_text(&self) -> bool {
        self.text
    }

    /// The payload's parts around the places of the position.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))] // the backplane's codec
    pub(crate) fn parts(&self) -> &[Bytes] {
        &self.parts
    }

    /// The message with `pos` where the stand-in was; `None` when a text
    /// message is not UTF-8 (decoded from a peer that lied).
    pub(crate) fn fill(&self, pos: Position) -> Option<tungstenite::Message> {
        let payload = match self.parts.as_slice() {
            [whole] => whole.clone(),
            parts => {
                let pos = pos.to_string();
                let len = parts.iter().map(Bytes::len).sum::<usize>() + pos.len() * (parts.len() - 1);
                let mut out = BytesMut::with_capacity(len);
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(pos.as_bytes());
                    }
                    out.extend_from_slice(part);
                }
                out.freeze()
            }
        };
        Some(if self.text {
            tungstenite::Message::Text(Utf8Bytes::try_from(payload).ok()?)
        } else {
            tungstenite::Message::Binary(payload)
        })
    }
}

/// The start of every non-overlapping occurrence of `needle` in `hay`.
fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    let mut found = Vec::new();
    let Some(&first) = needle.first() else { return found };
    let mut at = 0;
    while at + needle.len() <= hay.len() {
        match hay[at..].iter().position(|b| *b == first) {
            Some(i) if hay[at + i..].starts_with(needle) => {
                found.push(at + i);
                at += i + needle.len();
            }
            Some(i) => at += i + 1,
            None => break,
        }
    }
    found
}

/// What a shared history held when a recovery read it.
#[derive(Debug, Default)]
pub(crate) struct Read {
    /// The history's epoch; `None` when it has none (never written, or lost).
    pub(crate) epoch: Option<u64>,
    /// The room's last offset then.
    pub(crate) top: u64,
    /// The messages after the client's position (when it is of this epoch
    /// and they are all kept), oldest first, with their offsets.
    pub(crate) entries: Vec<(u64, tungstenite::Message)>,
}

impl Read {
    /// The notice and the messages to replay to a client last at `since`.
    fn since(self, since: Option<Position>) -> (Recovery, Vec<tungstenite::Message>) {
        let refused = |missed| (Recovery { ok: false, missed }, Vec::new());
        let Some(epoch) = self.epoch else { return refused(0) };
        let Some(since) = since.filter(|s| s.epoch() == epoch && s.offset() <= self.top) else { return refused(0) };
        let missed = self.top - since.offset();
        let contiguous = self.entries.len() as u64 == missed
            && self.entries.iter().zip(since.offset() + 1..).all(|((offset, _), want)| *offset == want);
        if !contiguous {
            return refused(missed);
        }
        (Recovery { ok: true, missed }, self.entries.into_iter().map(|(_, wire)| wire).collect())
    }

    /// The last position the read covers.
    fn last(&self) -> Option<Position> {
        self.epoch.map(|epoch| Position::new(epoch, self.top))
    }
}

/// A member's recovery under way: where it resumes, what the history read
/// gave, whether the marker after the read went through, and the room's
/// messages meanwhile.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) nonce: u64,
    since: Option<Position>,
    read: Option<Read>,
    marked: bool,
    buffer: Vec<(Option<Position>, tungstenite::Message)>,
}

impl Pending {
    pub(crate) fn new(nonce: u64, since: Option<Position>) -> Pending {
        Pending { nonce, since, read: None, marked: false, buffer: Vec::new() }
    }

    /// Buffers a room message; `false` when the buffer is full.
    pub(crate) fn buffer(&mut self, pos: Option<Position>, wire: tungstenite::Message) -> bool {
        self.buffer.push((pos, wire));
        self.buffer.len() < MAX_BUFFERED
    }

    /// Records the read; whether the recovery can end.
    pub(crate) fn read(&mut self, read: Read) -> bool {
        self.read = Some(read);
        self.marked
    }

    /// Records the marker; whether the recovery can end.
    pub(crate) fn mark(&mut self) -> bool {
        self.marked = true;
        self.read.is_some()
    }

    /// What the member gets, in order: the notice, the missed messages (if
    /// recovered), then what was buffered after the read (everything
    /// buffered when there was no read, or another epoch).
    pub(crate) fn end(self) -> Ended {
        let last = self.read.as_ref().and_then(Read::last);
        let (recovery, replay) = match self.read.filter(|_| self.marked) {
            Some(read) => read.since(self.since),
            None => (Recovery { ok: false, missed: 0 }, Vec::new()),
        };
        let after = |pos: &Option<Position>| match (pos, last) {
            (Some(pos), Some(last)) => pos.epoch() != last.epoch() || pos.offset() > last.offset(),
            _ => true,
        };
        let live = self.buffer.into_iter().filter(|(pos, _)| after(pos)).map(|(_, wire)| wire).collect();
        Ended { recovery, replay, live }
    }
}

/// How a recovery ended: the notice, the messages it replays, then the
/// live ones that came meanwhile.
#[derive(Debug)]
pub(crate) struct Ended {
    pub(crate) recovery: Recovery,
    pub(crate) replay: Vec<tungstenite::Message>,
    pub(crate) live: Vec<tungstenite::Message>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAND_IN: &str = "fedcba9876543210-18446744073709551615";

    fn pos(offset: u64) -> Position {
        Position::new(0xe, offset)
    }

    fn text(wire: &tungstenite::Message) -> &str {
        wire.to_text().unwrap_or_default()
    }

    fn message(n: u64) -> tungstenite::Message {
        tungstenite::Message::text(format!("m{n}"))
    }

    #[test]
    fn a_template_fills_every_place_of_the_stand_in() {
        for (built, filled) in [
            (format!(r#"{{"pos":"{STAND_IN}"}}"#), r#"{"pos":"e-7"}"#.to_owned()),
            (format!("{STAND_IN}{STAND_IN}x"), "e-7e-7x".to_owned()),
            ("no position".to_owned(), "no position".to_owned()),
            (format!("é{STAND_IN}"), "ée-7".to_owned()),
            (STAND_IN[..10].to_owned(), STAND_IN[..10].to_owned()),
        ] {
            let template = Template::new(tungstenite::Message::text(built.clone()), STAND_IN).expect("text");
            let wire = template.fill(pos(7)).expect("fills");
            assert_eq!(text(&wire), filled, "{built}");
        }
        let binary = Template::new(tungstenite::Message::binary(format!("<{STAND_IN}>")), STAND_IN).expect("binary");
        assert_eq!(binary.fill(pos(1)), Some(tungstenite::Message::binary("<e-1>")));
        assert_eq!(Template::new(tungstenite::Message::Ping(Bytes::new()), STAND_IN), None);
        let lying = Template::from_parts(true, vec![Bytes::from_static(&[0xff])]);
        assert_eq!(lying.fill(pos(1)), None);
    }

    fn read(top: u64, offsets: std::ops::RangeInclusive<u64>) -> Read {
        Read { epoch: Some(0xe), top, entries: offsets.map(|o| (o, message(o))).collect() }
    }

    fn ended(pending: Pending) -> Vec<String> {
        let Ended { recovery, replay, live } = pending.end();
        let notice = tungstenite::Message::text(recovery.to_json());
        std::iter::once(notice).chain(replay).chain(live).map(|w| text(&w).to_owned()).collect()
    }

    fn notice(ok: bool, missed: u64) -> String {
        Recovery { ok, missed }.to_json()
    }

    #[test]
    fn the_seam_keeps_each_offset_once_in_order() {
        // Read up to 5 (missed 3..=5); 4 and 5 also came live, then 6 and 7.
        let mut p = Pending::new(1, Some(pos(2)));
        for o in 4..=7 {
            assert!(p.buffer(Some(pos(o)), message(o)));
        }
        assert!(!p.read(read(5, 3..=5)), "the marker is still on its way");
        assert!(p.mark());
        assert_eq!(ended(p), [notice(true, 3), "m3".into(), "m4".into(), "m5".into(), "m6".into(), "m7".into()]);
    }

    #[test]
    fn what_the_history_cannot_fill_is_not_recovered() {
        let cases = [
            (Some(pos(2)), read(5, 4..=5), notice(false, 3)), // 3 is gone
            (Some(Position::new(1, 2)), read(5, 3..=5), notice(false, 0)), // another epoch
            (Some(pos(9)), read(5, 3..=5), notice(false, 0)), // ahead of the history
            (None, read(5, 3..=5), notice(false, 0)),         // not a position
            (Some(pos(2)), Read::default(), notice(false, 0)), // no history
        ];
        for (since, read, want) in cases {
            let mut p = Pending::new(1, since);
            p.buffer(Some(pos(6)), message(6));
            p.mark();
            p.read(read);
            assert_eq!(ended(p), [want, "m6".to_owned()], "{since:?}");
        }
        assert_eq!(ended(Pending::new(1, Some(pos(5)))), [notice(false, 0)], "no read: failed");
        let mut caught_up = Pending::new(1, Some(pos(5)));
        caught_up.mark();
        caught_up.read(Read { epoch: Some(0xe), top: 5, entries: Vec::new() });
        assert_eq!(ended(caught_up), [notice(true, 0)]);
    }

    #[test]
    fn a_buffer_says_when_it_is_full() {
        let mut p = Pending::new(1, Some(pos(0)));
        assert!((1..MAX_BUFFERED as u64).all(|o| p.buffer(Some(pos(o)), message(o))));
        assert!(!p.buffer(None, message(0)));
    }
}
