//! Close codes (RFC 6455 section 7.4) and the reasons a connection ended.
//!
//! [`CloseCode`] is what goes on the wire; [`CloseReason`] is what wirehub
//! records about *why* a connection ended (it is what `on_close` hooks,
//! logs and the `reason` metric label see). A bottom-layer module: the
//! wire types, the connection engine and the hub all use it.

use std::fmt;

/// A WebSocket close code, with its RFC 6455 meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseCode {
    /// 1000: normal closure, the purpose of the connection was fulfilled.
    Normal,
    /// 1001: the endpoint is going away (server shutdown, browser navigating away).
    Away,
    /// 1002: protocol error.
    Protocol,
    /// 1003: the endpoint cannot accept this kind of data (text vs binary).
    Unsupported,
    /// 1005: no code was present (never sent on the wire).
    Status,
    /// 1006: closed abnormally, without a close frame (never sent on the wire).
    Abnormal,
    /// 1007: message data inconsistent with its type (invalid UTF-8 in text).
    Invalid,
    /// 1008: a policy was violated (rate limit, slow consumer, revoked auth).
    Policy,
    /// 1009: a message was too big to process.
    Size,
    /// 1010: the client expected an extension the server did not negotiate.
    Extension,
    /// 1011: the server hit an unexpected condition (handler error or panic).
    Error,
    /// 1012: the server is restarting.
    Restart,
    /// 1013: try again later (server overloaded).
    Again,
    /// Any other code (3000-3999 for libraries and frameworks, 4000-4999 for
    /// applications).
    Other(u16),
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        match code {
            CloseCode::Normal => 1000,
            CloseCode::Away => 1001,
            CloseCode::Protocol => 1002,
            CloseCode::Unsupported => 1003,
            CloseCode::Status => 1005,
            CloseCode::Abnormal => 1006,
            CloseCode::Invalid => 1007,
            CloseCode::Policy => 1008,
            CloseCode::Size => 1009,
            CloseCode::Extension => 1010,
            CloseCode::Error => 1011,
            CloseCode::Restart => 1012,
            CloseCode::Again => 1013,
            CloseCode::Other(code) => code,
        }
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> CloseCode {
        match code {
            1000 => CloseCode::Normal,
            1001 => CloseCode::Away,
            1002 => CloseCode::Protocol,
            1003 => CloseCode::Unsupported,
            1005 => CloseCode::Status,
            1006 => CloseCode::Abnormal,
            1007 => CloseCode::Invalid,
            1008 => CloseCode::Policy,
            1009 => CloseCode::Size,
            1010 => CloseCode::Extension,
            1011 => CloseCode::Error,
            1012 => CloseCode::Restart,
            1013 => CloseCode::Again,
            other => CloseCode::Other(other),
        }
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", u16::from(*self))
    }
}

/// Why a connection ended. Every connection that opened gets exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// A close handshake initiated by the peer, with the code it sent
    /// (`None` when its close frame carried no code).
    Peer {
        /// The code the peer sent.
        code: Option<CloseCode>,
    },
    /// A close initiated by the application (`Conn::close`, an `Err` reply).
    Local {
        /// The code wirehub sent.
        code: CloseCode,
    },
    /// No frame at all arrived within `heartbeat + heartbeat_timeout`.
    HeartbeatTimeout,
    /// No data message arrived within `idle_timeout`.
    IdleTimeout,
    /// A write or flush did not complete within `write_timeout`.
    WriteTimeout,
    /// The peer broke RFC 6455 (or sent invalid UTF-8, or too big a message).
    ProtocolError {
        /// The code wirehub answered with (1002, 1007 or 1009).
        code: CloseCode,
    },
    /// A data message of a kind the handler does not take (close 1003).
    UnsupportedData,
    /// The member's outbound queue was full (`on_full = "close"`).
    SlowConsumer,
    /// The handler returned `Err` (close 1011 unless the error chose a code).
    HandlerError,
    /// The handler panicked (close 1011).
    Panic,
    /// The server shut down (close 1001).
    Shutdown,
    /// The peer sent data messages faster than the route's `rate`, or
    /// pings, pongs and empty continuation frames faster than its
    /// `control_rate` (close 1008).
    RateLimited,
    /// Re-validation (`reauth`) refused the connection's credentials (close 1008).
    AuthExpired,
    /// A fragmented message was not complete within `fragment_timeout` (close 1008).
    FragmentTimeout,
    /// The TCP connection failed (reset, broken pipe) without a close handshake.
    Io,
}

impl CloseReason {
    /// The short name used as the `reason` metric label and in logs.
    pub const fn as_str(&self) -> &'static str {
        match self {
            CloseReason::Peer { .. } | CloseReason::Local { .. } => "normal",
            CloseReason::HeartbeatTimeout => "heartbeat_timeout",
            CloseReason::IdleTimeout => "idle_timeout",
            CloseReason::WriteTimeout => "write_timeout",
            CloseReason::ProtocolError { .. } => "protocol_error",
            CloseReason::UnsupportedData => "unsupported_data",
            CloseReason::SlowConsumer => "slow_consumer",
            CloseReason::HandlerError => "handler_error",
            CloseReason::Panic => "panic",
            CloseReason::Shutdown => "shutdown",
            CloseReason::RateLimited => "rate_limited",
            CloseReason::AuthExpired => "auth_expired",
            CloseReason::FragmentTimeout => "fragment_timeout",
            CloseReason::Io => "io_error",
        }
    }

    /// Whether the connection ends by dropping the TCP connection, without a
    /// close handshake (the peer is dead or cannot be written to).
    pub(crate) const fn drops(&self) -> bool {
        matches!(self, CloseReason::HeartbeatTimeout | CloseReason::WriteTimeout | CloseReason::Io)
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::Peer { code: Some(code) } => write!(f, "closed by peer with {code}"),
            CloseReason::Peer { code: None } => f.write_str("closed by peer"),
            CloseReason::Local { code } => write!(f, "closed by the application with {code}"),
            CloseReason::ProtocolError { code } => write!(f, "protocol error (closed with {code})"),
            other => f.write_str(other.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_u16() {
        for n in [1000u16, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 3000, 4999] {
            assert_eq!(u16::from(CloseCode::from(n)), n);
        }
        assert_eq!(CloseCode::from(1009), CloseCode::Size);
    }
}
