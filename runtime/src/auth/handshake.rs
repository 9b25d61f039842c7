//! [`Handshake`]: what a validator sees of the upgrade request.

use std::fmt;
use std::net::SocketAddr;

use http::{HeaderMap, Method};
use percent_encoding::percent_decode_str;

/// The upgrade request, as owned data: method, path, path params, query,
/// headers, cookies, peer address and offered subprotocols.
///
/// Its `Debug` output redacts credentials (the query string, the offered
/// subprotocols, and every header that carries one: `Authorization`,
/// `Proxy-Authorization`, `Cookie`, and any name with `auth`, `token`,
/// `key`, `secret`, `session`, `password`, `signature` or `credential` in
/// it, such as `X-Api-Key`), so logging a `Handshake` never leaks a token.
///
/// A route with `reauth` keeps its `Handshake` for the connection's life
/// (the validator runs again on it, and may read any part of it); routes
/// without `reauth` keep none of it.
#[derive(Clone)]
pub struct Handshake {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) param_names: &'static [&'static str],
    pub(crate) params: Box<[Box<str>]>,
    pub(crate) query: Option<String>,
    pub(crate) headers: HeaderMap,
    pub(crate) peer: SocketAddr,
    pub(crate) secure: bool,
    pub(crate) protocols: Vec<String>,
}

impl fmt::Debug for Handshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| {
                let shown = if is_secret(name.as_str()) { "<redacted>" } else { value.to_str().unwrap_or("<binary>") };
                (name.as_str(), shown)
            })
            .collect();
        f.debug_struct("Handshake")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("peer", &self.peer)
            .field("query", &self.query.as_ref().map(|_| "<redacted>"))
            .field("headers", &headers)
            .finish()
    }
}

impl Handshake {
    /// The request method (always `GET` for an upgrade).
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request path, as sent (not decoded).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The decoded value of the path parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        let i = self.param_names.iter().position(|p| *p == name)?;
        self.params.get(i).map(|v| &**v)
    }

    /// The raw query string.
    pub fn query_string(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// The decoded value of the query parameter `name` (the first one).
    pub fn query(&self, name: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key)? == name).then(|| decode(value)).flatten()
        })
    }

    /// The value of header `name` (the first one), if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// All the headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The value of cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| {
                let (key, value) = pair.trim().split_once('=')?;
                (key == name).then_some(value)
            })
    }

    /// The token of an `Authorization: Bearer <token>` header.
    pub fn bearer_token(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
    }

    /// The token of the subprotocol trick for browsers, which cannot set
    /// headers: the client offers `bearer, <token>` as subprotocols
    /// (`new WebSocket(url, ["bearer", token])`); the server then selects
    /// `bearer`.
    pub fn protocol_token(&self) -> Option<&str> {
        let i = self.protocols.iter().position(|p| p.eq_ignore_ascii_case("bearer"))?;
        self.protocols.get(i + 1).map(String::as_str)
    }

    /// The token from any source, in this order: `Authorization: Bearer`,
    /// the `bearer, <token>` subprotocol, the `token` query parameter, the
    /// `token` cookie.
    pub fn token(&self) -> Option<String> {
        self.bearer_token()
            .or_else(|| self.protocol_token())
            .map(str::to_owned)
            .or_else(|| self.query("token"))
            .or_else(|| self.cookie("token").map(str::to_owned))
    }

    /// The client's address: the socket peer, or behind a trusted proxy
    /// (`Config::trusted_proxies`) the client it forwarded (port 0 when the
    /// proxy did not forward one).
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Whether the client connected over TLS: wirehub terminated it
    /// (`App::tls`), or a trusted proxy forwarded `https`.
    ///
    /// ```
    /// # use wirehub::{Handshake, Reject};
    /// async fn validate(hs: &Handshake) -> Result<String, Reject> {
    ///     if !hs.secure() {
    ///         return Err(Reject::forbidden("connect with wss://"));
    ///     }
    ///     hs.token().ok_or_else(|| Reject::unauthorized("token required"))
    /// }
    /// ```
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// The subprotocols the client offered, in its order.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }
}

/// Whether a header (lowercase name) may carry a credential.
fn is_secret(name: &str) -> bool {
    const WORDS: [&str; 9] =
        ["auth", "token", "key", "secret", "session", "password", "signature", "credential", "cookie"];
    name == "sec-websocket-protocol" || WORDS.iter().any(|w| name.contains(w))
}

/// The query string a connection keeps for `Query<T>`: on a route with a
/// validator, without its `token` and `access_token` parameters (the
/// validator has read them; the handler takes the identity from `Auth<T>`).
pub(crate) fn kept_query(query: &str, auth: bool) -> Box<str> {
    if !auth {
        return query.into();
    }
    let credential = |pair: &&str| {
        let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
        matches!(decode(key).as_deref(), Some("token" | "access_token"))
    };
    query.split('&').filter(|p| !credential(p)).collect::<Vec<_>>().join("&").into()
}

fn decode(s: &str) -> Option<String> {
    let s = s.replace('+', " ");
    percent_decode_str(&s).decode_utf8().ok().map(|c| c.into_owned())
}

/// The subprotocols offered in `Sec-WebSocket-Protocol` headers.
pub(crate) fn offered_protocols(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hs(headers: &[(&str, &str)], query: Option<&str>) -> Handshake {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(http::header::HeaderName::from_bytes(k.as_bytes()).expect("name"), v.parse().expect("value"));
        }
        Handshake {
            method: Method::GET,
            path: "/x".into(),
            param_names: &[],
            params: Box::new([]),
            query: query.map(str::to_owned),
            protocols: offered_protocols(&map),
            headers: map,
            peer: "127.0.0.1:1".parse().expect("addr"),
            secure: false,
        }
    }

    #[test]
    fn tokens_from_every_source() {
        assert_eq!(hs(&[("authorization", "Bearer abc")], None).token().as_deref(), Some("abc"));
        assert_eq!(hs(&[("authorization", "Basic abc")], None).bearer_token(), None);
        assert_eq!(hs(&[("sec-websocket-protocol", "bearer, t0k")], None).token().as_deref(), Some("t0k"));
        assert_eq!(hs(&[], Some("a=1&token=x%20y")).token().as_deref(), Some("x y"));
        assert_eq!(hs(&[("cookie", "a=1; token=c")], None).token().as_deref(), Some("c"));
        assert_eq!(hs(&[], None).token(), None);
    }

    #[test]
    fn kept_queries_lose_their_tokens_on_auth_routes() {
        assert_eq!(&*kept_query("a=1&token=s3cret&b=2&access_token=x&%74oken=y", true), "a=1&b=2");
        assert_eq!(&*kept_query("a=1&token=t", false), "a=1&token=t");
    }

    #[test]
    fn debug_redacts_credentials() {
        let h = hs(
            &[
                ("authorization", "Bearer s3cret"),
                ("proxy-authorization", "Basic s3cret"),
                ("x-api-key", "s3cret"),
                ("x-auth-token", "s3cret"),
                ("x-session-id", "s3cret"),
                ("cookie", "token=s3cret"),
                ("x-a", "b"),
            ],
            Some("token=s3cret"),
        );
        let text = format!("{h:?}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("x-a"));
    }
}
