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
    /// The path params or query do not parse into the handler's `Path<T>`
    /// or `Query<T>`. The text names which, never the value (it may be a
    /// secret, and echoing peer input is how reflection bugs start); the
    /// text of an extractor's own [`AdmitError::other`] is its author's.
    #[error("{}", unparsable_text(.0))]
    Unparsable(AdmitError),
    /// The route's `max_connections` is reached.
    #[error("too many connections on this route")]
    RouteFull,
    /// The route's `max_connections_per_ip` is reached for this address.
    #[error("too many connections from this address")]
    IpFull,
    /// `max_sockets` TCP connections are held (answered at accept).
    #[error("server busy")]
    Busy,
    /// The client IP opened connections faster than `handshake_rate_per_ip`
    /// (answered at accept).
    #[error("too many connections from this address; retry later")]
    IpRate,
    /// The client IP failed authentication more than `failed_auth_per_ip`;
    /// its validator does not run.
    #[error("too many failed authentications from this address; retry later")]
    AuthLimited,
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
            Refusal::RouteFull | Refusal::AuthTimeout | Refusal::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::IpFull | Refusal::IpRate | Refusal::AuthLimited => StatusCode::TOO_MANY_REQUESTS,
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
            Refusal::RouteFull | Refusal::IpFull | Refusal::Busy | Refusal::IpRate | Refusal::AuthLimited => {
                Rejected::Limit
            }
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

    /// The complete answer as bytes, with `Connection: close`: what the
    /// accept loop writes (without waiting) to a connection it refuses.
    pub(crate) fn raw_response(&self) -> Vec<u8> {
        let status = self.status();
        let body = self.body();
        let mut head = format!(
            "HTTP/1.1 {} {}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            body.len()
        )
        .into_bytes();
        head.extend_from_slice(&body);
        head
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

/// The text of an [`AdmitError`]: which part did not parse, never the value.
fn unparsable_text(error: &AdmitError) -> String {
    match error {
        AdmitError::Path(_) => "invalid path parameter".to_owned(),
        AdmitError::Query(_) => "invalid query".to_owned(),
        other => other.to_string(),
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
            (Refusal::Unparsable(AdmitError::Path("bad s3cret".into())), 400, "invalid path parameter\n", "BadRequest"),
            (Refusal::Unparsable(AdmitError::Query("bad s3cret".into())), 400, "invalid query\n", "BadRequest"),
            (Refusal::RouteFull, 503, "too many connections on this route\n", "Limit"),
            (Refusal::Busy, 503, "server busy\n", "Limit"),
            (Refusal::IpRate, 429, "too many connections from this address; retry later\n", "Limit"),
            (Refusal::AuthLimited, 429, "too many failed authentications from this address; retry later\n", "Limit"),
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
    fn raw_responses_are_complete_http_answers() {
        let raw = String::from_utf8(Refusal::Busy.raw_response()).expect("utf-8");
        assert!(raw.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{raw}");
        assert!(raw.contains("content-length: 12\r\n") && raw.contains("connection: close\r\n"), "{raw}");
        assert!(raw.ends_with("\r\n\r\nserver busy\n"), "{raw}");
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
