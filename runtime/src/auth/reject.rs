//! [`Reject`]: how a validator refuses a handshake.

use bytes::Bytes;
use http::StatusCode;

/// A refused handshake: the HTTP answer to the upgrade request.
///
/// The default, [`Reject::unauthorized`], answers `401` with
/// `WWW-Authenticate: Bearer`. The message goes into the response body; keep
/// secrets out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub(crate) status: StatusCode,
    pub(crate) message: Bytes,
    pub(crate) bearer_challenge: bool,
}

impl Reject {
    /// `401 Unauthorized` with `WWW-Authenticate: Bearer`: no or bad credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Reject { status: StatusCode::UNAUTHORIZED, message: Bytes::from(message.into()), bearer_challenge: true }
    }

    /// `403 Forbidden`: valid credentials, not allowed here.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Reject { status: StatusCode::FORBIDDEN, message: Bytes::from(message.into()), bearer_challenge: false }
    }

    /// Any status (4xx or 5xx; anything else becomes 500).
    pub fn status(status: u16, message: impl Into<String>) -> Self {
        let status = StatusCode::from_u16(status)
            .ok()
            .filter(|s| s.is_client_error() || s.is_server_error())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Reject { status, message: Bytes::from(message.into()), bearer_challenge: status == StatusCode::UNAUTHORIZED }
    }

    /// The HTTP status code.
    pub fn status_code(&self) -> u16 {
        self.status.as_u16()
    }
}

impl Default for Reject {
    fn default() -> Self {
        Reject::unauthorized("authentication required")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_status_outside_4xx_and_5xx_becomes_500() {
        assert_eq!(Reject::status(429, "slow down").status_code(), 429);
        assert_eq!(Reject::status(599, "odd").status_code(), 599);
        for not_an_error in [0, 200, 302, 399, 600, 999] {
            assert_eq!(Reject::status(not_an_error, "x").status_code(), 500, "{not_an_error}");
        }
        assert!(Reject::status(401, "who?").bearer_challenge);
        assert!(!Reject::forbidden("no").bearer_challenge);
    }
}
