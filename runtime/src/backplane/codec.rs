//! The wire format of backplane messages: one encoding per broadcast, the
//! payload bytes copied once into the frame and shared again on the way out.
//!
//! ```text
//! [version: u8 = 1][origin instance: u32 BE][except conn: u64 BE, 0 = none]
//! [kind: u8][key length: u16 BE][key bytes][payload bytes]
//! ```
//! `key` is the principal for principal targets and empty otherwise (the
//! room or the connection is in the channel name).
//!
//! A presence set member is the text `id|principal` (`principal` empty for
//! an identity without one).

use bytes::{BufMut, Bytes, BytesMut};
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
}

pub(crate) fn encode(origin: u32, except: Option<ConnId>, key: &str, message: &tungstenite::Message) -> Option<Bytes> {
    let (kind, payload): (u8, &[u8]) = match message {
        tungstenite::Message::Text(t) => (1, t.as_bytes()),
        tungstenite::Message::Binary(b) => (2, b),
        _ => return None,
    };
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
        2 => tungstenite::Message::Binary(payload),
        _ => return None,
    };
    Some(Envelope { origin, except: (except != 0).then_some(ConnId::from_u64(except)), key, message })
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
            assert_eq!(env, Envelope { origin, except, key: key.to_owned(), message });
        }
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
