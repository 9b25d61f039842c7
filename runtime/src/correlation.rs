//! Correlation: one message, exactly one answer, on routes with
//! `receives = T`. The wire rules are documented once, in
//! [`wirehub::contract`](crate::contract); this module reads and writes them:
//!
//! - [`classify`] reads a client frame's `"type"` and `"id"` (one extra
//!   scan of the text, nothing kept but the id);
//! - [`ack`] and [`with_id`] write the one answer a client message with an
//!   `id` gets (success, or the app's error body with the id);
//! - [`Requests`] is a connection's table of server requests awaiting the
//!   client's answer (`Conn::request`), allocated on first use, emptied when
//!   the connection ends (every waiter then resolves with
//!   [`RequestError::Closed`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::oneshot;

use crate::message::{Message, Utf8Bytes};
use crate::sync::lock;

/// The `"type"` of an answer to a message that carried an `"id"`.
pub(crate) const ACK: &str = "ack";
/// The `"type"` of an error answer (the app's error body, with the `"id"`).
pub(crate) const ERROR: &str = "error";
/// The prefix of the ids of the server's own requests (`"s1"`, `"s2"`, ...).
const SERVER_ID_PREFIX: &str = "s";

/// A message's correlation id as it was written (a JSON string or integer),
/// echoed byte for byte in its answer. One pointer wide: the reader holds
/// one for the call in flight and one for the message held back.
#[derive(Debug, Clone)]
pub(crate) struct CorrelationId(Box<Box<RawValue>>);

impl PartialEq for CorrelationId {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json()
    }
}

impl CorrelationId {
    fn json(&self) -> &str {
        self.0.get()
    }
}

/// What a client frame is, as far as correlation goes.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// No `"id"` (or not a JSON object): handled, never answered by the runtime.
    Plain,
    /// A message with an `"id"`: handled, then answered exactly once.
    Request(CorrelationId),
    /// The client's answer (`ack` or `error`) to one of the server's requests.
    Answer { id: CorrelationId, ok: bool },
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
}

/// Why a frame's `"id"` is refused.
pub(crate) const BAD_ID: &str = "`id` must be a string or an integer";

/// Reads a frame's `"type"` and `"id"`. Anything that is not a JSON object
/// is `Plain` (a plain text frame); an `"id"` that is not a string or an
/// integer is refused.
pub(crate) fn classify(text: &str) -> Result<Inbound, &'static str> {
    let Ok(envelope) = serde_json::from_str::<Envelope<'_>>(text) else { return Ok(Inbound::Plain) };
    let Some(raw) = envelope.id.filter(|raw| raw.get() != "null") else { return Ok(Inbound::Plain) };
    let json = raw.get();
    let valid = json.starts_with('"') || json.parse::<i64>().is_ok() || json.parse::<u64>().is_ok();
    if !valid {
        return Err(BAD_ID);
    }
    let id = CorrelationId(Box::new(raw.to_owned()));
    Ok(match envelope.kind.as_deref() {
        Some(ACK) => Inbound::Answer { id, ok: true },
        Some(ERROR) => Inbound::Answer { id, ok: false },
        _ => Inbound::Request(id),
    })
}

/// The success answer: `{"type":"ack","id":<id>, ...fields}`.
pub(crate) fn ack(id: &CorrelationId, fields: Option<&serde_json::Map<String, serde_json::Value>>) -> Message {
    let mut out = format!("{{\"type\":\"{ACK}\",\"id\":{}", id.json());
    for (key, value) in fields.into_iter().flatten() {
        if key == "type" || key == "id" {
            continue;
        }
        // Keys and values of a `Map` always serialize.
        if let (Ok(key), Ok(value)) = (serde_json::to_string(key), serde_json::to_string(value)) {
            out.push(',');
            out.push_str(&key);
            out.push(':');
            out.push_str(&value);
        }
    }
    out.push('}');
    Message::text(out)
}

/// An error answer: the app's error body with `"id"` added, when the body is
/// a JSON object (a body of another shape goes as it is).
pub(crate) fn with_id(body: Message, id: &CorrelationId) -> Message {
    let Message::Text(text) = &body else { return body };
    let Ok(serde_json::Value::Object(mut object)) = serde_json::from_str(text.as_str()) else { return body };
    let Ok(id) = serde_json::from_str(id.json()) else { return body };
    object.insert("id".to_owned(), id);
    serde_json::to_string(&object).map_or(body, Message::text)
}

/// Why a server request (`Conn::request`, `Out::request`) got no reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// No answer within the timeout; a late answer is ignored.
    #[error("the client did not answer in time")]
    Timeout,
    /// The connection closed (or was closing) before the answer came.
    #[error("the connection closed before the client answered")]
    Closed,
    /// The client answered with an error (`{"type":"error","id":..,"error":..}`).
    #[error("the client refused: {message}")]
    Refused {
        /// Its `"error"` text.
        message: String,
        /// Its `"code"`, if any.
        code: Option<String>,
    },
    /// The request could not be sent: it does not serialize to a JSON
    /// object, or the connection's queue refused it.
    #[error("the request could not be sent: {0}")]
    Send(String),
    /// The answer does not deserialize into the type asked for.
    #[error("the client's answer is not what was expected: {0}")]
    Invalid(String),
}

/// What a client answered to a server request: its whole frame.
pub(crate) type Answer = (bool, Utf8Bytes);

/// A connection's server requests awaiting an answer.
#[derive(Default)]
pub(crate) struct Requests(Mutex<Option<Box<Pending>>>);

#[derive(Default)]
struct Pending {
    next: u64,
    waiting: HashMap<u64, oneshot::Sender<Answer>>,
    /// The connection ended: nothing more is registered.
    ended: bool,
}

impl fmt::Debug for Requests {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let waiting = lock(&self.0).as_ref().map_or(0, |p| p.waiting.len());
        f.debug_struct("Requests").field("waiting", &waiting).finish()
    }
}

impl Requests {
    /// Registers a request: its id (`"s<n>"`, a JSON string) and the
    /// receiver of its answer. `None` once the connection has ended.
    pub(crate) fn register(&self) -> Option<(u64, String, oneshot::Receiver<Answer>)> {
        let mut pending = lock(&self.0);
        let pending = pending.get_or_insert_with(Box::default);
        if pending.ended {
            return None;
        }
        pending.next += 1;
        let n = pending.next;
        let (tx, rx) = oneshot::channel();
        pending.waiting.insert(n, tx);
        Some((n, format!("{SERVER_ID_PREFIX}{n}"), rx))
    }

    /// Forgets a request that timed out or could not be sent.
    pub(crate) fn forget(&self, n: u64) {
        if let Some(pending) = lock(&self.0).as_mut() {
            pending.waiting.remove(&n);
        }
    }

    /// Hands a client's answer to its waiter; false when no request of this
    /// connection has that id (late, or never sent).
    pub(crate) fn answer(&self, id: &CorrelationId, answer: Answer) -> bool {
        let Some(n) = server_id(id.json()) else { return false };
        let waiter = lock(&self.0).as_mut().and_then(|p| p.waiting.remove(&n));
        waiter.is_some_and(|tx| tx.send(answer).is_ok())
    }

    /// Whether any request waits (the reader classifies answers only then).
    pub(crate) fn any(&self) -> bool {
        lock(&self.0).as_ref().is_some_and(|p| !p.waiting.is_empty())
    }

    /// The connection ended: every waiter resolves with `Closed` (its sender
    /// is dropped) and nothing more registers.
    pub(crate) fn end(&self) {
        let waiting = {
            let mut pending = lock(&self.0);
            let pending = pending.get_or_insert_with(Box::default);
            pending.ended = true;
            std::mem::take(&mut pending.waiting)
        };
        drop(waiting);
    }
}

/// `"s12"` → 12.
fn server_id(json: &str) -> Option<u64> {
    json.strip_prefix('"')?.strip_suffix('"')?.strip_prefix(SERVER_ID_PREFIX)?.parse().ok()
}

/// The `"error"` and `"code"` of a client's error answer.
pub(crate) fn refusal(frame: &str) -> RequestError {
    #[derive(Deserialize)]
    struct Refusal {
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        code: Option<String>,
    }
    let refusal = serde_json::from_str::<Refusal>(frame).unwrap_or(Refusal { error: None, code: None });
    RequestError::Refused { message: refusal.error.unwrap_or_default(), code: refusal.code }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(json: &str) -> CorrelationId {
        CorrelationId(Box::new(RawValue::from_string(json.to_owned()).expect("json")))
    }

    #[test]
    fn frames_are_classified_by_type_and_id() {
        assert!(matches!(classify("hello"), Ok(Inbound::Plain)));
        assert!(matches!(classify(r#"{"type":"message","text":"x"}"#), Ok(Inbound::Plain)));
        assert!(matches!(classify(r#"{"type":"message","id":null}"#), Ok(Inbound::Plain)));
        let Ok(Inbound::Request(got)) = classify(r#"{"type":"message","text":"x","id":"c1"}"#) else { panic!() };
        assert_eq!(got, id(r#""c1""#));
        assert!(matches!(classify(r#"{"id":7,"type":"message"}"#), Ok(Inbound::Request(_))));
        assert!(matches!(classify(r#"{"type":"ack","id":"s1"}"#), Ok(Inbound::Answer { ok: true, .. })));
        assert!(matches!(classify(r#"{"type":"error","id":"s1"}"#), Ok(Inbound::Answer { ok: false, .. })));
        assert_eq!(classify(r#"{"type":"message","id":{"a":1}}"#).err(), Some(BAD_ID));
        assert_eq!(classify(r#"{"type":"message","id":1.5}"#).err(), Some(BAD_ID));
    }

    #[test]
    fn answers_echo_the_id_as_written() {
        let mut fields = serde_json::Map::new();
        fields.insert("pos".into(), "1-2".into());
        fields.insert("id".into(), "forged".into());
        let Message::Text(text) = ack(&id(r#""c\"1""#), Some(&fields)) else { panic!() };
        let value: serde_json::Value = serde_json::from_str(text.as_str()).expect("json");
        assert_eq!(value, serde_json::json!({"type": "ack", "id": "c\"1", "pos": "1-2"}));
        let Message::Text(text) = with_id(Message::text(r#"{"type":"error","error":"no"}"#), &id("42")) else {
            panic!()
        };
        let value: serde_json::Value = serde_json::from_str(text.as_str()).expect("json");
        assert_eq!(value, serde_json::json!({"type": "error", "error": "no", "id": 42}));
    }

    #[test]
    fn requests_resolve_once_and_end_with_the_connection() {
        let requests = Requests::default();
        let (n, wire, mut rx) = requests.register().expect("open");
        assert_eq!(wire, format!("s{n}"));
        assert!(requests.any());
        assert!(requests.answer(&id(&format!("\"{wire}\"")), (true, Utf8Bytes::from_static("{}"))));
        assert!(rx.try_recv().is_ok());
        assert!(!requests.answer(&id(&format!("\"{wire}\"")), (true, Utf8Bytes::from_static("{}"))), "only once");
        let (_, _, mut rx) = requests.register().expect("open");
        requests.end();
        assert!(matches!(rx.try_recv(), Err(oneshot::error::TryRecvError::Closed)));
        assert!(requests.register().is_none(), "nothing registers after the end");
    }
}
