//! The wire format of backplane messages: one encoding per broadcast, the
//! payload bytes copied once into the frame and shared again on the way out.
//!
//! ```text
//! [version: u8 = 1][origin instance: u32 BE][except conn: u64 BE, 0 = none]
//! [kind: u8][key length: u16 BE][key bytes][payload bytes]
//! ```
//! `key` is the principal for principal targets and empty otherwise (the
//! room or the connection is in the channel name). `kind` is 1 (text), 2
//! (binary) or 5 (presence, on a room's channel: see `presence.rs`).
//!
//! A message of a shared room history (kind 3 text, 4 binary) is a
//! [`Template`]: its payload is `[parts: u16 BE][part length: u32 BE]...`
//! then the parts, and its position goes between them. Redis gives the
//! position and relays such a frame on the room's channel as
//! `[2]<position>|<frame>`; the marker after a recovery's read is
//! `[3]<conn id>:<nonce>` (see `stream.rs`).
//!
//! A presence set member is the text `id|principal` (`principal` empty for
//! an identity without one).
//!
//! With a shared key ([`Redis::shared_key`](super::Redis::shared_key)), every
//! frame is sealed: a 32-byte HMAC-SHA256 tag over the channel name and the
//! frame is appended, and a frame whose tag does not verify (constant time)
//! is refused, so a client that can publish to Redis cannot forge messages.
//! Binding the channel keeps a frame from being replayed into another room;
//! replaying it into the same channel is not prevented.

use bytes::{BufMut, Bytes, BytesMut};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio_tungstenite::tungstenite::{self, Utf8Bytes};

use std::sync::Arc;

use crate::connection::ConnId;
use crate::hub::shared::Template;
use crate::hub::{Member, Position};

const VERSION: u8 = 1;
const HEADER: usize = 1 + 4 + 8 + 1 + 2;

/// A decoded backplane message.
#[derive(Debug, PartialEq)]
pub(crate) struct Envelope {
    pub(crate) origin: u32,
    pub(crate) except: Option<ConnId>,
    pub(crate) key: String,
    pub(crate) message: tungstenite::Message,
    /// A presence delta (kind 5), its payload in `message` (binary).
    pub(crate) presence: bool,
}

/// The length of the tag [`seal`] appends.
pub(crate) const TAG: usize = 32;

/// The MAC of `frame` on `channel` (`None` never happens: HMAC takes keys
/// of every length, but the API says `Result`).
fn mac(key: &[u8], channel: &str, frame: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(&(channel.len() as u64).to_be_bytes());
    mac.update(channel.as_bytes());
    mac.update(frame);
    Some(mac)
}

/// `frame` with its tag for `channel` appended.
pub(crate) fn seal(key: &[u8], channel: &str, frame: &[u8]) -> Option<Bytes> {
    let tag = mac(key, channel, frame)?.finalize().into_bytes();
    let mut out = BytesMut::with_capacity(frame.len() + TAG);
    out.put_slice(frame);
    out.put_slice(&tag);
    Some(out.freeze())
}

/// The frame of a sealed message whose tag verifies for `channel`.
pub(crate) fn open(key: &[u8], channel: &str, sealed: Bytes) -> Option<Bytes> {
    let at = sealed.len().checked_sub(TAG)?;
    mac(key, channel, &sealed[..at])?.verify_slice(&sealed[at..]).ok()?;
    Some(sealed.slice(..at))
}

pub(crate) fn encode(origin: u32, except: Option<ConnId>, key: &str, message: &tungstenite::Message) -> Option<Bytes> {
    let (kind, payload): (u8, &[u8]) = match message {
        tungstenite::Message::Text(t) => (1, t.as_bytes()),
        tungstenite::Message::Binary(b) => (2, b),
        _ => return None,
    };
    frame(origin, except, kind, key, payload)
}

/// A presence envelope (kind 5) carrying `payload`.
pub(crate) fn encode_presence(origin: u32, payload: &[u8]) -> Option<Bytes> {
    frame(origin, None, PRESENCE, "", payload)
}

/// Not 3 or 4: those are a shared history's templates (`decode_at`).
const PRESENCE: u8 = 5;

fn frame(origin: u32, except: Option<ConnId>, kind: u8, key: &str, payload: &[u8]) -> Option<Bytes> {
    let key_len = u16::try_from(key.len()).ok()?;
    let mut out = BytesMut::with_capacity(HEADER + key.len() + payload.len());
    out.put_u8(VERSION);
    out.put_u32(origin);
    out.put_u64(except.map_or(0, ConnId::to_u64));
    out.put_u8(kind);
    out.put_u16(key_len);
    out.put_slice(key.as_bytes());
    out.put_slice(payload);
    Some(out.freeze())
}

/// The frame of a message of a shared history (its position to come).
pub(crate) fn encode_template(origin: u32, except: Option<ConnId>, template: &Template) -> Option<Bytes> {
    let parts = template.parts();
    let count = u16::try_from(parts.len()).ok()?;
    let len: usize = parts.iter().map(|p| 4 + p.len()).sum();
    let mut out = BytesMut::with_capacity(HEADER + 2 + len);
    out.put_u8(VERSION);
    out.put_u32(origin);
    out.put_u64(except.map_or(0, ConnId::to_u64));
    out.put_u8(if template.is_text() { 3 } else { 4 });
    out.put_u16(0);
    out.put_u16(count);
    for part in parts {
        out.put_u32(u32::try_from(part.len()).ok()?);
    }
    for part in parts {
        out.put_slice(part);
    }
    Some(out.freeze())
}

/// The header of a frame: origin, except, kind, key, and the payload.
fn header(frame: &Bytes) -> Option<(u32, Option<ConnId>, u8, String, Bytes)> {
    if frame.len() < HEADER || frame[0] != VERSION {
        return None;
    }
    let origin = u32::from_be_bytes(frame[1..5].try_into().ok()?);
    let except = u64::from_be_bytes(frame[5..13].try_into().ok()?);
    let key_len = usize::from(u16::from_be_bytes(frame[14..16].try_into().ok()?));
    let key = std::str::from_utf8(frame.get(HEADER..HEADER + key_len)?).ok()?.to_owned();
    let except = (except != 0).then_some(ConnId::from_u64(except));
    Some((origin, except, frame[13], key, frame.slice(HEADER + key_len..)))
}

pub(crate) fn decode(frame: Bytes) -> Option<Envelope> {
    let (origin, except, kind, key, payload) = header(&frame)?;
    let message = match kind {
        1 => tungstenite::Message::Text(Utf8Bytes::try_from(payload).ok()?),
        2 => tungstenite::Message::Binary(payload),
        // Only as `encode_presence` writes it: no member skipped, no key.
        PRESENCE if except.is_none() && key.is_empty() => tungstenite::Message::Binary(payload),
        _ => return None,
    };
    Some(Envelope { origin, except, key, message, presence: kind == PRESENCE })
}

/// A shared history's message at `pos`: who it skips and the message.
pub(crate) fn decode_at(frame: Bytes, pos: Position) -> Option<(Option<ConnId>, tungstenite::Message)> {
    let (_, except, kind, _, payload) = header(&frame)?;
    let text = match kind {
        3 => true,
        4 => false,
        _ => return None,
    };
    let count = usize::from(u16::from_be_bytes(payload.get(..2)?.try_into().ok()?));
    let mut at = 2 + 4 * count;
    let mut parts = Vec::with_capacity(count);
    for i in 0..count {
        let len = u32::from_be_bytes(payload.get(2 + 4 * i..6 + 4 * i)?.try_into().ok()?) as usize;
        let end = at.checked_add(len).filter(|end| *end <= payload.len())?;
        parts.push(payload.slice(at..end));
        at = end;
    }
    (at == payload.len() && count > 0).then_some(())?;
    Some((except, Template::from_parts(text, parts).fill(pos)?))
}

/// What Redis relays on a room's channel.
#[derive(Debug, PartialEq)]
pub(crate) enum Relayed {
    /// An instance's frame, as it published it (sealed with a shared key).
    Frame(Bytes),
    /// A shared history's frame (sealed) and the position Redis gave it.
    At(Position, Bytes),
    /// The marker after a recovery's read: the member and the nonce.
    Marker(ConnId, u64),
}

/// Tells apart what Redis relays on a room's channel; `None` when it is
/// none of it.
pub(crate) fn relayed(payload: Bytes) -> Option<Relayed> {
    match payload.first()? {
        &VERSION => Some(Relayed::Frame(payload)),
        2 => {
            let bar = payload.iter().take(64).position(|b| *b == b'|')?;
            let pos = std::str::from_utf8(&payload[1..bar]).ok()?.parse().ok()?;
            Some(Relayed::At(pos, payload.slice(bar + 1..)))
        }
        3 => {
            let (member, nonce) = std::str::from_utf8(&payload[1..]).ok()?.split_once(':')?;
            Some(Relayed::Marker(member.parse().ok()?, nonce.parse().ok()?))
        }
        _ => None,
    }
}

/// The marker a recovery's read relays (see [`relayed`]).
pub(crate) fn marker(member: ConnId, nonce: u64) -> String {
    format!("\u{3}{member}:{nonce}")
}

/// `id|principal`, the member string stored in a presence set.
pub(crate) fn member_key(member: &Member) -> String {
    format!("{}|{}", member.id, member.principal.as_deref().unwrap_or(""))
}

pub(crate) fn parse_member(key: &str) -> Option<Member> {
    let (id, principal) = key.split_once('|')?;
    Some(Member { id: id.parse().ok()?, principal: (!principal.is_empty()).then(|| Arc::from(principal)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_text_and_binary() {
        let cases = [
            (7, None, "", tungstenite::Message::text("héllo")),
            (1 << 19, Some(ConnId::from_u64(42)), "user-1", tungstenite::Message::binary(vec![0u8, 255, 3])),
            (0, None, "", tungstenite::Message::binary(Vec::new())),
        ];
        for (origin, except, key, message) in cases {
            let frame = encode(origin, except, key, &message).expect("encodes");
            let env = decode(frame).expect("decodes");
            assert_eq!(env, Envelope { origin, except, key: key.to_owned(), message, presence: false });
        }
        let env = encode_presence(9, b"{}").and_then(decode).expect("a presence envelope");
        assert!(env.presence && env.origin == 9 && env.message == tungstenite::Message::binary(&b"{}"[..]));
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(decode(Bytes::from_static(b"")), None);
        assert_eq!(decode(Bytes::from_static(&[9; 40])), None);
        let bad_utf8 = encode(1, None, "", &tungstenite::Message::binary(vec![0xff])).map(|f| {
            let mut v = f.to_vec();
            v[13] = 1; // claim text
            Bytes::from(v)
        });
        assert_eq!(bad_utf8.and_then(decode), None);
        assert!(encode(1, None, "", &tungstenite::Message::Ping(Bytes::new())).is_none());
        // A presence frame only as `encode_presence` writes it (found by the
        // fuzzer: one skipping a member decoded, then re-encoded as binary).
        let fuzzed = [1, 0xff, 0xff, 0, 0, 0, 0, 1, 0, 0xff, 0xff, 3, 0, 5, 0, 0];
        assert_eq!(decode(Bytes::copy_from_slice(&fuzzed)), None);
        let keyed = frame(1, None, PRESENCE, "who", b"{}").expect("a frame");
        assert_eq!(decode(keyed), None);
    }

    #[test]
    fn sealed_frames_open_only_with_the_key_and_the_channel() {
        let frame = encode(7, None, "", &tungstenite::Message::text("hi")).expect("encodes");
        let sealed = seal(b"k3y", "app:r:x", &frame).expect("sealed");
        assert_eq!(open(b"k3y", "app:r:x", sealed.clone()), Some(frame.clone()));
        assert_eq!(open(b"other", "app:r:x", sealed.clone()), None, "another key");
        assert_eq!(open(b"k3y", "app:r:y", sealed.clone()), None, "replayed into another room");
        let mut forged = sealed.to_vec();
        forged[HEADER] ^= 1;
        assert_eq!(open(b"k3y", "app:r:x", Bytes::from(forged)), None, "altered payload");
        assert_eq!(open(b"k3y", "app:r:x", frame), None, "unsealed");
        assert_eq!(open(b"k3y", "app:r:x", Bytes::from_static(b"short")), None);
    }

    #[test]
    fn templates_round_trip_with_their_position() {
        let pos: Position = "ab-7".parse().expect("a position");
        let stand_in = "ff-1";
        for (text, message) in [
            (true, tungstenite::Message::text("{\"pos\":\"ff-1\",\"again\":\"ff-1\"}")),
            (false, tungstenite::Message::binary(&b"\0ff-1"[..])),
        ] {
            let template = Template::new(message, stand_in).expect("a template");
            assert_eq!(template.is_text(), text);
            let frame = encode_template(9, Some(ConnId::from_u64(3)), &template).expect("encodes");
            let filled = template.fill(pos);
            assert_eq!(decode_at(frame.clone(), pos), filled.map(|m| (Some(ConnId::from_u64(3)), m)));
            assert_eq!(decode(frame.clone()), None, "not a plain message");
            let mut cut = frame.to_vec();
            cut.pop();
            assert_eq!(decode_at(Bytes::from(cut), pos), None, "truncated");
        }
        let plain = encode(1, None, "", &tungstenite::Message::text("x")).expect("encodes");
        assert_eq!(decode_at(plain, pos), None);
    }

    #[test]
    fn relayed_payloads_are_told_apart() {
        let frame = encode(1, None, "", &tungstenite::Message::text("x")).expect("encodes");
        assert_eq!(relayed(frame.clone()), Some(Relayed::Frame(frame.clone())));
        let at = Bytes::from([&b"\x02ab-7|"[..], &frame].concat());
        assert_eq!(relayed(at), Some(Relayed::At("ab-7".parse().expect("pos"), frame)));
        let id = ConnId::from_u64(1 << 33);
        assert_eq!(relayed(Bytes::from(marker(id, 42))), Some(Relayed::Marker(id, 42)));
        for junk in [&b""[..], b"\x02ab-7", b"\x02zz|x", b"\x03x:1", b"\x09"] {
            assert_eq!(relayed(Bytes::copy_from_slice(junk)), None, "{junk:?}");
        }
    }

    #[test]
    fn member_keys_round_trip() {
        for m in [
            Member { id: ConnId::from_u64(5), principal: None },
            Member { id: ConnId::from_u64(1 << 40), principal: Some("a|b".into()) },
        ] {
            assert_eq!(parse_member(&member_key(&m)), Some(m));
        }
        assert_eq!(parse_member("x|"), None);
    }
}
