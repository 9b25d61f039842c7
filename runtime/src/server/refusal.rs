//! [`Refusal`]: every way the server answers an upgrade request with
//! something other than `101 Switching Protocols`.
//!
//! Each refusal is one value; its status, body, extra headers and metric
//! label are declared once here, one `match` per property, and the server
//! turns it into the response, the `wirehub_handshakes_rejected_total`
//! count and one debug log line in one place (`http::refuse`).
//!
//! ```ignore
//! let refusal = Refusal::Origin;
//! assert_eq!(refusal.status(), StatusCode::FORBIDDEN);
//! assert_eq!(refusal.body(), "origin not allowed\n");
//! ```
//!
//! Invariant: what a validator put into its [`Reject`] (the body) is sent to
//! the peer but never logged, since it may echo what the peer sent.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::StatusCode;

use crate::auth::Reject;
use crate::extract::AdmitError;
use crate::metrics::Rejected;

/// Why an upgrade request is refused. The `Display` text is the body (less
/// its final newline) of every refusal but [`Refusal::Auth`], whose body is
/// the validator's and whose text only says who refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    /// No route matches the path.
    #[error("no route for this path")]
    NotFound,
    /// A request without `Upgrade: websocket` and `Connection: upgrade` on a
    /// WebSocket route (a browser opening the URL).
    #[error("this path serves WebSocket connections only")]
    NotAnUpgrade,
    /// An upgrade that is not a GET over HTTP/1.1 with a `Host`.
    #[error("a WebSocket upgrade is a GET over HTTP/1.1 with a Host")]
    MalformedUpgrade,
    /// A `Sec-WebSocket-Version` other than 13.
    #[error("unsupported WebSocket version")]
    UnsupportedVersion,
    /// No `Sec-WebSocket-Key`, or not the base64 of 16 bytes.
    #[error("missing or malformed Sec-WebSocket-Key")]
    BadKey,
    /// The request did not come through an HTTP/1.1 server that can hand
    /// its connection over (hyper's `OnUpgrade` is missing: HTTP/2, or a
    /// service called outside a server).
    #[error("this server cannot upgrade the connection: serve WebSocket routes over HTTP/1.1")]
    NoUpgrade,
    /// A browser origin the route does not allow.
    #[error("origin not allowed")]
    Origin,
    /// The route requires a subprotocol and the client offered none of them.
    #[error("none of the offered subprotocols is supported")]
    NoProtocol,
    /// The path params or query do not parse into the handler's `Path<T>` or `Query<T>`.
    #[error(transparent)]
    Unparsable(AdmitError),
    /// The route's `max_connections` is reached.
    #[error("too many connections on this route")]
    RouteFull,
    /// The route's `max_connections_per_ip` is reached for this address.
    #[error("too many connections from this address")]
    IpFull,
    /// The validator did not answer within `handshake_timeout`.
    #[error("authentication timed out")]
    AuthTimeout,
    /// The validator refused.
    #[error("refused by the route's validator")]
    Auth(Reject),
}

impl Refusal {
    /// The HTTP status of the answer.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Refusal::NotFound => StatusCode::NOT_FOUND,
            Refusal::NotAnUpgrade | Refusal::UnsupportedVersion => StatusCode::UPGRADE_REQUIRED,
            Refusal::MalformedUpgrade | Refusal::BadKey | Refusal::NoProtocol | Refusal::Unparsable(_) => {
                StatusCode::BAD_REQUEST
            }
            Refusal::Origin => StatusCode::FORBIDDEN,
            Refusal::NoUpgrade => StatusCode::INTERNAL_SERVER_ERROR,
            Refusal::RouteFull | Refusal::AuthTimeout => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::IpFull => StatusCode::TOO_MANY_REQUESTS,
            Refusal::Auth(reject) => reject.status,
        }
    }

    /// The `reason` label of `wirehub_handshakes_rejected_total`.
    pub(crate) fn label(&self) -> Rejected {
        match self {
            Refusal::NotFound => Rejected::NotFound,
            Refusal::NotAnUpgrade | Refusal::UnsupportedVersion => Rejected::UpgradeRequired,
            Refusal::MalformedUpgrade | Refusal::BadKey | Refusal::NoProtocol | Refusal::Unparsable(_) => {
                Rejected::BadRequest
            }
            Refusal::Origin => Rejected::Origin,
            Refusal::NoUpgrade => Rejected::NoUpgrade,
            Refusal::RouteFull | Refusal::IpFull => Rejected::Limit,
            Refusal::AuthTimeout | Refusal::Auth(_) => Rejected::Auth,
        }
    }

    /// The body of the answer (`text/plain`).
    pub(crate) fn body(&self) -> Bytes {
        match self {
            Refusal::Auth(reject) => reject.message.clone(),
            other => Bytes::from(format!("{other}\n")),
        }
    }

    /// The headers the answer carries besides `Content-Type`: what to retry
    /// with (RFC 6455 section 4.2.2, RFC 6750 section 3).
    pub(crate) fn headers(&self) -> Vec<(header::HeaderName, HeaderValue)> {
        match self {
            Refusal::NotAnUpgrade => vec![
                (header::UPGRADE, HeaderValue::from_static("websocket")),
                (header::CONNECTION, HeaderValue::from_static("upgrade")),
            ],
            Refusal::UnsupportedVersion => vec![(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"))],
            Refusal::Auth(reject) if reject.bearer_challenge => {
                vec![(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))]
            }
            _ => Vec::new(),
        }
    }

    /// The complete answer.
    pub(crate) fn response(&self) -> http::Response<http_body_util::Full<Bytes>> {
        let mut response = http::Response::new(http_body_util::Full::new(self.body()));
        *response.status_mut() = self.status();
        let headers: &mut HeaderMap = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
        headers.extend(self.headers());
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_has_its_status_body_and_label() {
        let cases = [
            (Refusal::NotFound, 404, "no route for this path\n", "NotFound"),
            (Refusal::NotAnUpgrade, 426, "this path serves WebSocket connections only\n", "UpgradeRequired"),
            (Refusal::MalformedUpgrade, 400, "a WebSocket upgrade is a GET over HTTP/1.1 with a Host\n", "BadRequest"),
            (Refusal::UnsupportedVersion, 426, "unsupported WebSocket version\n", "UpgradeRequired"),
            (Refusal::BadKey, 400, "missing or malformed Sec-WebSocket-Key\n", "BadRequest"),
            (Refusal::Origin, 403, "origin not allowed\n", "Origin"),
            (
                Refusal::NoUpgrade,
                500,
                "this server cannot upgrade the connection: serve WebSocket routes over HTTP/1.1\n",
                "NoUpgrade",
            ),
            (Refusal::NoProtocol, 400, "none of the offered subprotocols is supported\n", "BadRequest"),
            (Refusal::Unparsable(AdmitError::other("invalid query: x")), 400, "invalid query: x\n", "BadRequest"),
            (Refusal::RouteFull, 503, "too many connections on this route\n", "Limit"),
            (Refusal::IpFull, 429, "too many connections from this address\n", "Limit"),
            (Refusal::AuthTimeout, 503, "authentication timed out\n", "Auth"),
            (Refusal::Auth(Reject::status(429, "slow down")), 429, "slow down", "Auth"),
        ];
        for (refusal, status, body, label) in cases {
            let response = refusal.response();
            assert_eq!(response.status().as_u16(), status, "{refusal:?}");
            assert_eq!(refusal.body(), body, "{refusal:?}");
            assert_eq!(format!("{:?}", refusal.label()), label, "{refusal:?}");
            assert_eq!(response.headers()[header::CONTENT_TYPE], "text/plain; charset=utf-8");
        }
    }

    #[test]
    fn refusals_say_what_to_retry_with() {
        let headers = |r: Refusal| r.response().headers().clone();
        assert_eq!(headers(Refusal::NotAnUpgrade)[header::UPGRADE], "websocket");
        assert_eq!(headers(Refusal::NotAnUpgrade)[header::CONNECTION], "upgrade");
        assert_eq!(headers(Refusal::UnsupportedVersion)[header::SEC_WEBSOCKET_VERSION], "13");
        assert_eq!(headers(Refusal::Auth(Reject::unauthorized("token?")))[header::WWW_AUTHENTICATE], "Bearer");
        assert!(!headers(Refusal::Auth(Reject::forbidden("no"))).contains_key(header::WWW_AUTHENTICATE));
    }
}
