//! Presence between instances (route option `presence`, Redis backplane):
//! the payload of a presence envelope on a room's channel.
//!
//! Each instance publishes, per room, what changed in its own identities
//! at each batch (a delta), its whole set every `presence_ttl / 3` (the
//! lease) and, when it subscribes to the room, its whole set with a
//! question (`ask`) that the others answer with theirs. An instance not
//! heard from within `presence_ttl` is dropped with its identities (they
//! leave), so a crashed instance leaves no ghosts.
//!
//! ```text
//! {"s":true,"a":false,"j":[["ada",{"status":"away"}],["bob",null]],"l":["eve"]}
//! ```
//! `s`: a whole set (replaces what was known of the instance); `a`: asks
//! for the others' sets; `j`: identities present there with their
//! metadata; `l`: identities gone from there.

use std::sync::Arc;

use serde_json::Value;

use crate::hub::presence::PresenceDelta;

/// The payload of `delta` (metadata is JSON text already: copied as it is).
pub(crate) fn encode(delta: &PresenceDelta) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + 24 * (delta.joins.len() + delta.leaves.len()));
    out.extend_from_slice(format!("{{\"s\":{},\"a\":{},\"j\":[", delta.sync, delta.ask).as_bytes());
    for (i, (key, meta)) in delta.joins.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"[" } else { b",[" });
        push_str(&mut out, key);
        out.push(b',');
        out.extend_from_slice(meta.as_deref().unwrap_or("null").as_bytes());
        out.push(b']');
    }
    out.extend_from_slice(b"],\"l\":[");
    for (i, key) in delta.leaves.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_str(&mut out, key);
    }
    out.extend_from_slice(b"]}");
    out
}

fn push_str(out: &mut Vec<u8>, text: &str) {
    // Writing a `str` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// The delta in `payload`; `None` when it is not one (from another version, or garbage).
pub(crate) fn decode(payload: &[u8]) -> Option<PresenceDelta> {
    let value: Value = serde_json::from_slice(payload).ok()?;
    let joins = value.get("j")?.as_array()?.iter().map(|pair| {
        let [key, meta] = pair.as_array()?.as_slice() else { return None };
        let meta = (!meta.is_null()).then(|| Arc::from(meta.to_string()));
        Some((Arc::from(key.as_str()?), meta))
    });
    let leaves = value.get("l")?.as_array()?.iter().map(|key| key.as_str().map(Arc::from));
    Some(PresenceDelta {
        sync: value.get("s")?.as_bool()?,
        ask: value.get("a")?.as_bool()?,
        joins: joins.collect::<Option<_>>()?,
        leaves: leaves.collect::<Option<_>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_round_trip() {
        let cases = [
            PresenceDelta::default(),
            PresenceDelta {
                sync: true,
                ask: true,
                joins: vec![
                    (Arc::from("ada \"the\" first"), Some(Arc::from(r#"{"status":"away"}"#))),
                    (Arc::from("7"), None),
                ],
                leaves: vec![Arc::from("eve")],
            },
        ];
        for delta in cases {
            assert_eq!(decode(&encode(&delta)), Some(delta));
        }
    }

    #[test]
    fn garbage_is_no_delta() {
        for bad in [
            &b""[..],
            b"{}",
            b"[1]",
            br#"{"s":1,"a":false,"j":[],"l":[]}"#,
            br#"{"s":true,"a":false,"j":[["x"]],"l":[]}"#,
        ] {
            assert_eq!(decode(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
