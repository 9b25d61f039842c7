//! Why a test client's step failed ([`TestError`]), and a refused upgrade
//! ([`Refused`]).
//!
//! Every failure about what arrived carries the client's history (its last
//! frames), so its text says what came instead:
//!
//! ```text
//! expected a text message, but got binary (3 bytes) [01 02 03]
//! received so far: 2 message(s), oldest first:
//!   1. text "welcome"
//!   2. binary (3 bytes) [01 02 03]
//! ```
//!
//! `Debug` prints the same text as `Display`, so a test returning
//! `Result<(), TestError>` (or unwrapping one) fails with it.

use std::fmt;
use std::time::Duration;

/// An upgrade the server refused: the HTTP status and body of its answer.
///
/// ```
/// let refused = wirehub::testing::Refused { status: 401, body: "token required".into() };
/// assert_eq!(refused.to_string(), "401 \"token required\"");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The HTTP status (`401`, `403`, `429`, ...).
    pub status: u16,
    /// The body of the answer, as text (the refusal's message).
    pub body: String,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.status, self.body.trim_end())
    }
}

/// Why a step of a [`TestClient`](super::TestClient) failed.
///
/// ```
/// use std::time::Duration;
/// use wirehub::testing::TestError;
///
/// let e = TestError::Timeout {
///     expected: "a text message".into(),
///     waited: Duration::from_secs(5),
///     received: "received so far: nothing".into(),
/// };
/// assert_eq!(e.to_string(), "expected a text message, but nothing arrived within 5s\nreceived so far: nothing");
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum TestError {
    /// The server answered the upgrade request with this refusal.
    #[error("the upgrade was refused: {0}")]
    Refused(Refused),
    /// The upgrade failed otherwise (an invalid path or header, a broken
    /// answer).
    #[error("the upgrade failed: {0}")]
    Handshake(String),
    /// Nothing arrived within the client's timeout.
    #[error("expected {expected}, but nothing arrived within {waited:?}\n{received}")]
    Timeout {
        /// What the step waited for.
        expected: String,
        /// How long it waited.
        waited: Duration,
        /// The client's history.
        received: String,
    },
    /// Something else arrived (another kind, other content, the close).
    #[error("expected {expected}, but got {got}\n{received}")]
    Unexpected {
        /// What the step waited for.
        expected: String,
        /// What came instead.
        got: String,
        /// The client's history.
        received: String,
    },
    /// A message arrived that is not the JSON expected.
    #[error("expected {expected}, but got {got} ({error})\n{received}")]
    Json {
        /// What the step waited for (names the type).
        expected: String,
        /// The message that came.
        got: String,
        /// Why it does not parse.
        #[source]
        error: serde_json::Error,
        /// The client's history.
        received: String,
    },
    /// A message could not be sent (the connection is closed, or the
    /// server did not read it within the timeout).
    #[error("sending failed: {0}")]
    Send(String),
}

impl fmt::Debug for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl TestError {
    /// The refusal, when the server refused the upgrade.
    ///
    /// ```
    /// use wirehub::testing::{Refused, TestError};
    ///
    /// let e = TestError::Refused(Refused { status: 403, body: "origin not allowed".into() });
    /// assert_eq!(e.refused().map(|r| r.status), Some(403));
    /// ```
    pub fn refused(&self) -> Option<&Refused> {
        match self {
            TestError::Refused(refused) => Some(refused),
            _ => None,
        }
    }
}
