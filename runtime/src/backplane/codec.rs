//! The wire format of backplane messages: one encoding per broadcast, the
//! payload bytes copied once into the frame and shared again on the way out.
//!
//! ```text
//! [version: u8 = 1][origin instance: u32 BE][except conn: u64 BE, 0 = none]
//! [kind: u8][key length: u16 BE][key bytes][payload bytes]
//! ```
//! `key` is the principal for principal targets and empty otherwise (the
//! room or the connection is in the channel name). `kind` is 1 (text), 2
//! (binary) or 3 (presence, on a room's channel: see `presence.rs`).
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
use crate::hub::Member;

const VERSION: u8 = 1;
const HEADER: usize = 1 + 4 + 8 + 1 + 2;

/// A decoded backplane message.
#[derive(Debug, PartialEq)]
pub(crate) struct Envelope {
    pub(crate) origin: u32,
    pub(crate) except: Option<ConnId>,
    pub(crate) key: String,
    pub(crate) message: tungstenite::Message,
    /// A presence delta (kind 3), its payload in `message` (binary).
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

/// A presence envelope (kind 3) carrying `payload`.
pub(crate) fn encode_presence(origin: u32, payload: &[u8]) -> Option<Bytes> {
    frame(origin, None, PRESENCE, "", payload)
}

const PRESENCE: u8 = 3;

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

pub(crate) fn decode(frame: Bytes) -> Option<Envelope> {
    if frame.len() < HEADER || frame[0] != VERSION {
        return None;
    }
    let origin = u32::from_be_bytes(frame[1..5].try_into().ok()?);
    let except = u64::from_be_bytes(frame[5..13].try_into().ok()?);
    let kind = frame[13];
    let key_len = usize::from(u16::from_be_bytes(frame[14..16].try_into().ok()?));
    let key = std::str::from_utf8(frame.get(HEADER..HEADER + key_len)?).ok()?.to_owned();
    let payload = frame.slice(HEADER + key_len..);
    let message = match kind {
        1 => tungstenite::Message::Text(Utf8Bytes::try_from(payload).ok()?),
        2 | PRESENCE => tungstenite::Message::Binary(payload),
        _ => return None,
    };
    let except = (except != 0).then_some(ConnId::from_u64(except));
    Some(Envelope { origin, except, key, message, presence: kind == PRESENCE })
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
