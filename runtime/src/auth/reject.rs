//! [`Reject`]: how a validator refuses a handshake.

use bytes::Bytes;

/// A refused handshake: the HTTP answer to the upgrade request.
///
/// The default, [`Reject::unauthorized`], answers `401` with
/// `WWW-Authenticate: Bearer`. The message goes into the response body; keep
/// secrets out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub(crate) status: u16,
    pub(crate) message: Bytes,
    pub(crate) bearer_challenge: bool,
}

impl Reject {
    /// `401 Unauthorized` with `WWW-Authenticate: Bearer`: no or bad credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Reject { status: 401, message: Bytes::from(message.into()), bearer_challenge: true }
    }

    /// `403 Forbidden`: valid credentials, not allowed here.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Reject { status: 403, message: Bytes::from(message.into()), bearer_challenge: false }
    }

    /// Any status (4xx or 5xx; anything else becomes 500).
    pub fn status(status: u16, message: impl Into<String>) -> Self {
        let status = if (400..600).contains(&status) { status } else { 500 };
        Reject { status, message: Bytes::from(message.into()), bearer_challenge: status == 401 }
    }

    /// The HTTP status code.
    pub fn status_code(&self) -> u16 {
        self.status
    }
}

impl Default for Reject {
    fn default() -> Self {
        Reject::unauthorized("authentication required")
    }
}
