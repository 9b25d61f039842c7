//! The JSON text of presence messages, written once per batch (keys and
//! room names escaped by serde_json; metadata is serde_json's own output).

use std::sync::Arc;

use tokio_tungstenite::tungstenite;

/// An identity's metadata: JSON text, `None` until the app sets one.
pub(crate) type Meta = Option<Arc<str>>;

/// `{"type":..,"room":..,"count":N` + what `rest` writes + `}`.
pub(super) fn json_message(
    room: &str,
    kind: &str,
    count: usize,
    rest: impl FnOnce(&mut Vec<u8>),
) -> tungstenite::Message {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\",\"room\":");
    push_str(&mut out, room);
    out.extend_from_slice(format!(",\"count\":{count}").as_bytes());
    rest(&mut out);
    out.push(b'}');
    // Only JSON text went in: keys and rooms escaped by serde_json, metadata serde_json's output.
    tungstenite::Message::text(String::from_utf8(out).unwrap_or_default())
}

/// `,"name":{"key":meta,..}`.
pub(super) fn push_map<'a>(out: &mut Vec<u8>, name: &str, entries: impl Iterator<Item = (&'a Arc<str>, &'a Meta)>) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":{");
    for (i, (key, meta)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_str(out, key);
        out.push(b':');
        out.extend_from_slice(meta.as_deref().unwrap_or("null").as_bytes());
    }
    out.push(b'}');
}

fn push_str(out: &mut Vec<u8>, text: &str) {
    // Writing a `str` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}
