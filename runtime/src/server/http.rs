//! HTTP/1.1 handling of one TCP connection: routing, the upgrade handshake
//! (RFC 6455 section 4.2), and the plain-HTTP answers.
//!
//! An upgrade request goes through named steps, in this order: upgrade
//! check (headers, method, version, key), origin, subprotocol, path and
//! query (`Extract::admit`), connection caps, authentication, then accept.
//! Each step either passes or returns one [`Refusal`], which `refuse` turns
//! into the answer, the metric and the log line.
//!
//! Before the 101 answer, everything the connection keeps is copied out of
//! the request into owned values (path params, and the query and headers
//! only when the route's extractors need them). The request, and with it
//! hyper's read buffer, is dropped before the connection starts.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::refusal::Refusal;
use super::{Mounted, Shared};
use crate::auth::handshake::{kept_query, offered_protocols};
use crate::auth::{origin_allowed, Handshake, Identity};
use crate::connection::{Opening, Setup};
use crate::extract::{AdmitCx, HandshakeCx, Needs};
use crate::limits::{cap_key, CapReached, GateClosed, Slot, SocketSlot};
use crate::proxy::{self, Client};

/// The body of every answer wirehub gives over plain HTTP.
pub(crate) type Body = Full<Bytes>;

/// Admits an accepted TCP connection through the gate (`max_sockets`,
/// `handshake_rate_per_ip`): its place, held while it is served. A refused
/// one gets its answer written without waiting (what the socket buffer
/// takes), counted and logged, and is closed.
pub(crate) fn admit_connection(tcp: &tokio::net::TcpStream, peer: SocketAddr, shared: &Shared) -> Option<SocketSlot> {
    match shared.gate.admit(peer.ip(), shared.env.hub.0.connections()) {
        Ok(slot) => Some(slot),
        Err(closed) => {
            let refusal = match closed {
                GateClosed::Sockets => Refusal::Busy,
                _ => Refusal::IpRate,
            };
            tracing::debug!(%peer, status = refusal.status().as_u16(), detail = %refusal, "connection refused at accept");
            shared.reject("none", refusal.label());
            let _ = tcp.try_write(&refusal.raw_response());
            None
        }
    }
}

/// How a request reached the app: the socket peer, and whether wirehub
/// terminated TLS on the connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Via {
    pub(crate) peer: SocketAddr,
    pub(crate) tls: bool,
}

/// Serves HTTP/1.1 on one accepted connection (TCP, TLS, a Unix socket, an
/// in-memory pipe) until it closes or upgrades, or the drain time is up.
pub(crate) async fn serve_io<I>(io: I, via: Via, shared: Arc<Shared>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = &shared.config;
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.handshake_timeout)
        .max_buf_size(config.max_handshake_headers.max(8192));
    let service = service_fn(|req| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(handle(req, via, shared).await) }
    });
    let connection = http.serve_connection(TokioIo::new(io), service).with_upgrades();
    tokio::select! {
        ended = connection => {
            if let Err(e) = ended {
                tracing::debug!(peer = %via.peer, error = %e, "http connection ended with an error");
            }
        }
        // A keep-alive connection (a load balancer polling /healthz) ends
        // with the drain time.
        () = shared.env.hard_stopped() => {}
    }
}

/// Answers one request: a page, a refusal, or the upgrade of a WebSocket
/// route (the connection's task is spawned before the 101 goes out). The
/// body is dropped at once (an upgrade request has none, a page needs
/// none), so the answer does not depend on the body type being `Sync`.
pub(crate) fn handle<B>(
    req: Request<B>,
    via: Via,
    shared: Arc<Shared>,
) -> impl std::future::Future<Output = Response<Body>> + Send + 'static {
    let (head, _body) = req.into_parts();
    let req = Request::from_parts(head, ());
    async move { answer(req, via, &shared).await }
}

async fn answer(req: Request<()>, via: Via, shared: &Arc<Shared>) -> Response<Body> {
    if let Some(page) = shared.pages.get(req.uri().path()) {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return plain(StatusCode::METHOD_NOT_ALLOWED, "use GET\n");
        }
        return page_response(page.reply(&shared.env.hub));
    }
    let Some(found) = shared.router.find(req.uri().path()) else {
        // Only a WebSocket upgrade is a refused handshake; a browser's
        // `/favicon.ico` is not.
        return match asks_for_websocket(&req) {
            true => refuse(shared, "none", &Refusal::NotFound),
            false => Refusal::NotFound.response(),
        };
    };
    let route = found.value.clone();
    match upgrade(req, via, shared, &route, found.params).await {
        Ok(response) => response,
        Err(refusal) => refuse(shared, route.def.path, &refusal),
    }
}

/// Answers a refused upgrade request: the response, the metric and the log
/// line all come from the one refusal.
fn refuse(shared: &Shared, route: &str, refusal: &Refusal) -> Response<Body> {
    let status = refusal.status();
    let reason = refusal.label();
    tracing::debug!(route, status = status.as_u16(), ?reason, detail = %refusal, "handshake rejected");
    shared.reject(route, reason);
    refusal.response()
}

/// The upgrade of a request on a WebSocket route, step by step; the first
/// step that refuses answers the request.
async fn upgrade(
    req: Request<()>,
    via: Via,
    shared: &Arc<Shared>,
    route: &Mounted,
    params: Vec<Box<str>>,
) -> Result<Response<Body>, Refusal> {
    let accept = check_upgrade(&req)?;
    let config = &shared.config;
    let client = proxy::resolve(via.peer, req.headers(), &config.trusted_proxies, config.proxy_headers);
    check_origin(&req, route, &client, shared)?;
    let offered = offered_protocols(req.headers());
    let protocol = negotiate(route.rt.opts.protocols, &offered, route.rt.opts.auth.is_some())?;
    admit(route, &params, req.uri().query())?;
    let slot = take_slot(route, cap_key(client.addr.ip(), config.ipv6_cap_prefix))?;
    let secure = via.tls
        || client.proto.as_deref().is_some_and(|p| p.eq_ignore_ascii_case("https") || p.eq_ignore_ascii_case("wss"));
    let auth = Authenticate { req: &req, peer: client.addr, secure, shared, route, params: &params };
    let (identity, handshake) = auth.run(offered).await?;
    let accepted = Accepted { accept, protocol, identity, handshake, params, slot };
    Ok(accept_upgrade(req, client.addr, shared, route, accepted))
}

/// Checks that a request on a WebSocket route is a valid upgrade request
/// (RFC 6455 section 4.2.1) that the server in front can hand over; the
/// `Sec-WebSocket-Accept` value to answer with.
fn check_upgrade(req: &Request<()>) -> Result<String, Refusal> {
    if !asks_for_websocket(req) || !header_has(req.headers(), header::CONNECTION, "upgrade") {
        return Err(Refusal::NotAnUpgrade);
    }
    if req.method() != Method::GET || req.version() != Version::HTTP_11 || !req.headers().contains_key(header::HOST) {
        return Err(Refusal::MalformedUpgrade);
    }
    if req.headers().get(header::SEC_WEBSOCKET_VERSION).map(HeaderValue::as_bytes) != Some(b"13") {
        return Err(Refusal::UnsupportedVersion);
    }
    let Some(key) = req.headers().get(header::SEC_WEBSOCKET_KEY).filter(|k| valid_key(k.as_bytes())) else {
        return Err(Refusal::BadKey);
    };
    if req.extensions().get::<hyper::upgrade::OnUpgrade>().is_none() {
        return Err(Refusal::NoUpgrade);
    }
    Ok(derive_accept_key(key.as_bytes()))
}

/// Checks the browser origin against the route's (or the app's) allowed
/// origins (the same-host default compares with the host a trusted proxy
/// forwarded, if any).
fn check_origin(req: &Request<()>, route: &Mounted, client: &Client, shared: &Shared) -> Result<(), Refusal> {
    match origin_allowed(req.headers(), client.host.as_deref(), &route.rt.opts.origins, &shared.allowed_hosts) {
        true => Ok(()),
        false => Err(Refusal::Origin),
    }
}

/// Picks the subprotocol to answer with: the first of the route's list (in
/// the route's preference order) that the client offered; else `bearer` when
/// the client used the `bearer, <token>` trick on an auth route (browsers
/// require the server to select one of the offered protocols). Refused when
/// the route requires a protocol and the client offered none of them.
fn negotiate(supported: &[&str], offered: &[String], auth: bool) -> Result<Option<String>, Refusal> {
    if let Some(p) = supported.iter().find(|s| offered.iter().any(|o| o == *s)) {
        return Ok(Some((*p).to_owned()));
    }
    if !supported.is_empty() {
        return Err(Refusal::NoProtocol);
    }
    Ok((auth && offered.iter().any(|o| o.eq_ignore_ascii_case("bearer"))).then(|| "bearer".to_owned()))
}

/// Checks that the path params and query parse into the handler's
/// `Path<T>` and `Query<T>` ([`Extract::admit`](crate::Extract::admit)).
fn admit(route: &Mounted, params: &[Box<str>], query: Option<&str>) -> Result<(), Refusal> {
    (route.def.admit)(&AdmitCx { names: route.def.params, params, query }).map_err(Refusal::Unparsable)
}

/// Takes the connection's place under the route's connection caps
/// (`client` is the client's key under the per-IP cap: see `cap_key`).
fn take_slot(route: &Mounted, client: std::net::IpAddr) -> Result<Slot, Refusal> {
    let opts = &route.rt.opts;
    Slot::acquire(&route.rt.open, opts.max_connections, route.rt.per_ip.as_ref(), client, opts.max_connections_per_ip)
        .map_err(|full| match full {
            CapReached::Route => Refusal::RouteFull,
            CapReached::Ip => Refusal::IpFull,
        })
}

/// The authentication step: what the route's validator sees.
struct Authenticate<'a> {
    req: &'a Request<()>,
    peer: SocketAddr,
    secure: bool,
    shared: &'a Shared,
    route: &'a Mounted,
    params: &'a [Box<str>],
}

impl Authenticate<'_> {
    /// Runs the route's validator (if it has one) within `handshake_timeout`:
    /// the identity, and the handshake kept for `reauth`.
    async fn run(self, offered: Vec<String>) -> Result<(Option<Identity>, Option<Box<Handshake>>), Refusal> {
        let Some(auth) = self.route.rt.opts.auth else {
            return Ok((None, None));
        };
        let ip = self.peer.ip();
        self.shared.gate.may_authenticate(ip).map_err(|_| Refusal::AuthLimited)?;
        let req = self.req;
        let hs = Handshake {
            method: req.method().clone(),
            path: req.uri().path().to_owned(),
            param_names: self.route.def.params,
            params: self.params.into(),
            query: req.uri().query().map(str::to_owned),
            headers: owned_headers(req.headers()),
            peer: self.peer,
            secure: self.secure,
            protocols: offered,
        };
        let cx = HandshakeCx { handshake: &hs, state: &self.shared.env.state };
        let identity = match tokio::time::timeout(self.shared.config.handshake_timeout, auth(cx)).await {
            Ok(Ok(identity)) => identity,
            Ok(Err(reject)) => {
                // Only refused credentials count, not a validator's 5xx.
                if matches!(reject.status.as_u16(), 401 | 403) {
                    self.shared.gate.auth_failed(ip);
                }
                return Err(Refusal::Auth(reject));
            }
            Err(_elapsed) => return Err(Refusal::AuthTimeout),
        };
        let handshake = self.route.rt.opts.reauth.is_some().then(|| Box::new(hs));
        Ok((Some(identity), handshake))
    }
}

/// What the steps before the answer found out.
struct Accepted {
    accept: String,
    protocol: Option<String>,
    identity: Option<Identity>,
    handshake: Option<Box<Handshake>>,
    params: Vec<Box<str>>,
    slot: Slot,
}

/// Starts the connection's task and answers `101 Switching Protocols`.
fn accept_upgrade(
    mut req: Request<()>,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    route: &Mounted,
    accepted: Accepted,
) -> Response<Body> {
    let Accepted { accept, protocol, identity, handshake, params, slot } = accepted;
    let needs = route.rt.needs;
    // A route with history reads `since` from the query (`Conn::join`).
    let keep_query = needs.contains(Needs::QUERY) || route.rt.opts.history.is_some();
    let query = keep_query.then(|| kept_query(req.uri().query().unwrap_or(""), route.rt.opts.auth.is_some()));
    let headers = needs.contains(Needs::HEADERS).then(|| Box::new(owned_headers(req.headers())));
    let on_upgrade = hyper::upgrade::on(&mut req);
    drop(req);

    let opening = Opening {
        peer,
        params: params.into_boxed_slice(),
        query,
        headers,
        identity,
        protocol: protocol.clone().map(Into::into),
        handshake,
    };
    (route.def.serve)(Setup::new(on_upgrade, &shared.env, &route.rt, opening, slot));
    let mut response = switching_protocols(&accept);
    if let Some(protocol) = protocol.and_then(|p| HeaderValue::from_str(&p).ok()) {
        response.headers_mut().insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
    }
    response
}

/// Whether the request asks for a WebSocket (`Upgrade: websocket`).
fn asks_for_websocket(req: &Request<()>) -> bool {
    header_has(req.headers(), header::UPGRADE, "websocket")
}

/// Whether `key` is the base64 encoding of 16 bytes (RFC 6455 section 4.2.1):
/// 22 base64 characters, the last carrying only 2 bits, then `==`.
pub(crate) fn valid_key(key: &[u8]) -> bool {
    let is_b64 = |c: &u8| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/';
    key.len() == 24 && key[..22].iter().all(is_b64) && b"AQgw".contains(&key[21]) && &key[22..] == b"=="
}

/// Whether a comma-separated header contains `token` (case-insensitively).
fn header_has(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// A deep copy of the headers: a cloned `HeaderValue` would share (and pin)
/// hyper's read buffer.
fn owned_headers(headers: &HeaderMap) -> HeaderMap {
    let mut owned = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_str().as_bytes());
        let value = HeaderValue::from_bytes(value.as_bytes());
        if let (Ok(name), Ok(value)) = (name, value) {
            owned.append(name, value);
        }
    }
    owned
}

fn switching_protocols(accept: &str) -> Response<Body> {
    let mut r = Response::new(Body::default());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    if let Ok(accept) = HeaderValue::from_str(accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    r
}

fn page_response(reply: super::HttpReply) -> Response<Body> {
    let mut r = Response::new(Body::new(reply.body));
    *r.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut r = Response::new(Body::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

#[cfg(test)]
mod tests {
    use super::valid_key;

    #[test]
    fn keys_must_be_16_bytes_of_base64() {
        assert!(valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        for bad in
            [&b"abc"[..], b"dGhlIHNhbXBsZSBub25jZR==", b"dGhlIHNhbXBsZSBub25jZQ", b"dGhlIHNhbXBsZSBub25j!Q==", b""]
        {
            assert!(!valid_key(bad), "{}", String::from_utf8_lossy(bad));
        }
    }
}
