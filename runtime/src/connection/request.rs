//! [`Conn::request`]: the server asks the client and awaits its one answer.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Conn, SendError};
use crate::correlation::{refusal, RequestError, Requests};
use crate::message::Message;

/// Forgets a request however its wait ends (answer, timeout, a dropped future).
struct Waiting<'a>(&'a Requests, u64);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.forget(self.1);
    }
}

impl Conn {
    /// Sends `message` with a fresh `"id"` (`"s1"`, `"s2"`, ...) and waits
    /// at most `timeout` for the client's answer to it:
    /// `{"type":"ack","id":"s1",..}` deserializes into `R` (the whole frame:
    /// `R`'s fields are the ack's), `{"type":"error","id":"s1","error":..}`
    /// is [`RequestError::Refused`]. `message` serializes to a JSON object.
    /// On a typed route, [`Out::request`](crate::contract::Out::request) checks
    /// the message against the route's `sends` type.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use serde::Deserialize;
    /// use serde_json::json;
    ///
    /// #[derive(Deserialize)]
    /// struct Confirmed { ok: bool }
    ///
    /// # async fn f(conn: wirehub::Conn) -> Result<(), wirehub::contract::RequestError> {
    /// let answer: Confirmed = conn.request(json!({"type": "confirm", "what": "delete"}), Duration::from_secs(5)).await?;
    /// println!("the user said {}", answer.ok);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// Nothing leaks: a timeout or a dropped future forgets the request (a
    /// late answer is ignored), and the connection's end resolves every
    /// waiting request with [`RequestError::Closed`].
    ///
    /// # Errors
    ///
    /// [`RequestError::Timeout`], [`Closed`](RequestError::Closed),
    /// [`Refused`](RequestError::Refused), [`Send`](RequestError::Send) (the
    /// message is not a JSON object) or [`Invalid`](RequestError::Invalid)
    /// (the answer is not an `R`).
    pub async fn request<R: DeserializeOwned>(
        &self,
        message: impl Serialize,
        timeout: Duration,
    ) -> Result<R, RequestError> {
        let mut object = match serde_json::to_value(message) {
            Ok(serde_json::Value::Object(object)) => object,
            Ok(_) => return Err(RequestError::Send("a request is a JSON object".to_owned())),
            Err(e) => return Err(RequestError::Send(e.to_string())),
        };
        let requests = &self.0.requests;
        let (n, id, answer) = requests.register().ok_or(RequestError::Closed)?;
        let _waiting = Waiting(requests, n);
        object.insert("id".to_owned(), id.into());
        let frame = serde_json::to_string(&object).map_err(|e| RequestError::Send(e.to_string()))?;
        self.send(Message::text(frame)).await.map_err(|e| match e {
            SendError::Closed => RequestError::Closed,
            other => RequestError::Send(other.to_string()),
        })?;
        let (ok, frame) = match tokio::time::timeout(timeout, answer).await {
            Err(_) => return Err(RequestError::Timeout),
            Ok(Err(_)) => return Err(RequestError::Closed),
            Ok(Ok(answer)) => answer,
        };
        if !ok {
            return Err(refusal(frame.as_str()));
        }
        serde_json::from_str(frame.as_str()).map_err(|e| RequestError::Invalid(e.to_string()))
    }
}
