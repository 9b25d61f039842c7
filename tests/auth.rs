//! Handshake security over real sockets: tokens from every source reach the
//! handler as an identity, missing and bad tokens get 401 (with
//! `WWW-Authenticate: Bearer`) and never reach the handler, 403 and other
//! statuses from validators, sync validators, origin checks (same-host
//! default, route and app allow-lists), per-route and per-IP connection
//! caps, the message rate limit, re-validation of revoked tokens,
//! subprotocol negotiation, presence with principals and sends to every
//! connection of one principal, and tokens kept out of the logs.
//!
//! Every route of this file lives under `/a/`.

mod common;

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::{connect, eventually, expect_close, recv_text, send, spawn_prefix, within, Client};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::{Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use wirehub::prelude::*;
use wirehub::Server;

const PREFIX: &str = "/a/";

// ---------------------------------------------------------------- identities and validators

/// The identity of the test validators: the principal is the user id, which
/// differs from the display name so the test can tell them apart.
#[derive(Debug)]
struct User {
    id: &'static str,
    name: &'static str,
}

impl Principal for User {
    fn principal(&self) -> &str {
        self.id
    }
}

fn lookup(token: Option<&str>) -> Result<User, Reject> {
    match token {
        Some("tok-ada") => Ok(User { id: "u-ada", name: "Ada" }),
        Some("tok-bob") => Ok(User { id: "u-bob", name: "Bob" }),
        Some("tok-cy") => Ok(User { id: "u-cy", name: "Cy" }),
        Some("tok-dee") => Ok(User { id: "u-dee", name: "Dee" }),
        Some("tok-banned") => Err(Reject::forbidden("account suspended")),
        Some("tok-busy") => Err(Reject::status(429, "slow down")),
        Some(_) => Err(Reject::unauthorized("invalid token")),
        None => Err(Reject::unauthorized("token required")),
    }
}

/// Calls of the async validator (over every route that uses it).
static VALIDATIONS: AtomicUsize = AtomicUsize::new(0);

/// The async validator: the token from any source.
async fn validate(hs: &Handshake) -> Result<User, Reject> {
    VALIDATIONS.fetch_add(1, Ordering::SeqCst);
    tokio::task::yield_now().await; // a real await point: this is an async validator
    lookup(hs.token().as_deref())
}

/// The sync validator: bearer header only.
fn validate_sync(hs: &Handshake) -> Result<User, Reject> {
    lookup(hs.bearer_token())
}

/// Tokens revoked while their connections are open.
fn revoked() -> MutexGuard<'static, HashSet<String>> {
    static REVOKED: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Mutex::default);
    REVOKED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Validator calls per token, for the re-validation test.
fn checks() -> MutexGuard<'static, HashMap<String, usize>> {
    static CHECKS: LazyLock<Mutex<HashMap<String, usize>>> = LazyLock::new(Mutex::default);
    CHECKS.lock().unwrap_or_else(|p| p.into_inner())
}

fn checks_of(token: &str) -> usize {
    checks().get(token).copied().unwrap_or(0)
}

/// Accepts any `rv-` token that is not revoked; the identity is the token
/// itself (`String` is a `Principal`).
async fn validate_revocable(hs: &Handshake) -> Result<String, Reject> {
    let token = hs.token().ok_or_else(|| Reject::unauthorized("token required"))?;
    *checks().entry(token.clone()).or_insert(0) += 1;
    if !token.starts_with("rv-") || revoked().contains(&token) {
        return Err(Reject::unauthorized("revoked"));
    }
    Ok(token)
}

/// The distinctive tokens of the log test.
const LOG_TOKEN: &str = "SeCrEt-7f3a9c41-LOGTEST";
const LOG_TOKEN_BAD: &str = "SeCrEt-7f3a9c41-REFUSED";

/// What the log test's validator saw, as `Handshake`'s `Debug` renders it.
fn debug_renderings() -> MutexGuard<'static, Vec<String>> {
    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
    SEEN.lock().unwrap_or_else(|p| p.into_inner())
}

async fn validate_logged(hs: &Handshake) -> Result<User, Reject> {
    debug_renderings().push(format!("{hs:?}"));
    match hs.token().as_deref() {
        Some(LOG_TOKEN) => Ok(User { id: "u-log", name: "Log" }),
        _ => Err(Reject::unauthorized("no")),
    }
}

// ---------------------------------------------------------------- handlers

/// Echoes with the identity: `Name/principal/identity-name: text`.
#[ws_route("/a/echo", auth = validate)]
async fn a_echo(conn: Conn, user: Auth<User>, text: String) -> String {
    let principal = conn.principal().unwrap_or("-").to_owned();
    let from_identity = conn.identity().and_then(|i| i.get::<User>()).map_or("-", |u| u.name);
    format!("{}/{principal}/{from_identity}: {text}", user.name)
}

static GUARDED_OPENS: AtomicUsize = AtomicUsize::new(0);
static GUARDED_CALLS: AtomicUsize = AtomicUsize::new(0);

async fn guarded_open(_conn: Conn) {
    GUARDED_OPENS.fetch_add(1, Ordering::SeqCst);
}

/// Counts its calls and opens; used by the rejection test only.
#[ws_route("/a/guarded", auth = validate, on_open = guarded_open)]
async fn a_guarded(user: Auth<User>, text: String) -> String {
    GUARDED_CALLS.fetch_add(1, Ordering::SeqCst);
    format!("{}: {text}", user.name)
}

static SYNC_CALLS: AtomicUsize = AtomicUsize::new(0);

#[ws_route("/a/sync", auth = validate_sync)]
async fn a_sync(user: Auth<User>, text: String) -> String {
    SYNC_CALLS.fetch_add(1, Ordering::SeqCst);
    format!("{}: {text}", user.name)
}

static ORIGIN_OPENS: AtomicUsize = AtomicUsize::new(0);

async fn origin_open(_conn: Conn) {
    ORIGIN_OPENS.fetch_add(1, Ordering::SeqCst);
}

/// Same-host default (with auth, so the origin check is seen to come first).
#[ws_route("/a/origin", auth = validate, on_open = origin_open)]
async fn a_origin(user: Auth<User>, text: String) -> String {
    format!("{}: {text}", user.name)
}

#[ws_route("/a/trusted", origins = ["*.trusted.test"])]
async fn a_trusted(text: String) -> String {
    text
}

/// No `origins` option: follows the app's setting.
#[ws_route("/a/open")]
async fn a_open(text: String) -> String {
    text
}

#[ws_route("/a/capped", max_connections = 2)]
async fn a_capped(text: String) -> String {
    text
}

#[ws_route("/a/capped_auth", max_connections = 1, auth = validate)]
async fn a_capped_auth(user: Auth<User>, text: String) -> String {
    format!("{}: {text}", user.name)
}

#[ws_route("/a/perip", max_connections_per_ip = 2)]
async fn a_perip(text: String) -> String {
    text
}

/// `app_ping` answered by the runtime, still under the message rate.
#[ws_route("/a/rate-ping", rate = "10/s", burst = 3, app_ping = "ping")]
async fn a_rate_ping(text: String) -> String {
    text
}

#[ws_route("/a/rate", rate = "10/s", burst = 3)]
async fn a_rate(text: String) -> String {
    text
}

#[ws_route("/a/reauth", auth = validate_revocable, reauth = "100ms")]
async fn a_reauth(user: Auth<String>, text: String) -> String {
    format!("{}: {text}", *user)
}

#[ws_route("/a/proto", protocols = ["chat.v1", "chat.v2"])]
async fn a_proto(conn: Conn, text: String) -> String {
    format!("{}: {text}", conn.protocol().unwrap_or("none"))
}

#[ws_route("/a/room/{room}", auth = validate, broadcast = "room:{room}")]
async fn a_room(user: Auth<User>, text: String) -> String {
    format!("{}: {text}", user.name)
}

#[ws_route("/a/logged", auth = validate_logged)]
async fn a_logged(conn: Conn, user: Auth<User>, text: String) -> String {
    debug_renderings().push(format!("{conn:?} {:?}", conn.identity()));
    format!("{}: {text}", user.name)
}

// ---------------------------------------------------------------- helpers

async fn server() -> Server {
    spawn_prefix(PREFIX, App::new()).await
}

/// A client request for `path` with extra headers.
fn request(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Request {
    let mut req = format!("ws://{addr}{path}").into_client_request().expect("client request");
    for (name, value) in headers {
        req.headers_mut().append(
            HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_str(value).expect("header value"),
        );
    }
    req
}

/// Completes the handshake of `req`, failing the test if it is refused.
async fn open(req: Request) -> (Client, Response) {
    match within(tokio_tungstenite::connect_async(req)).await {
        Ok(done) => done,
        Err(tungstenite::Error::Http(response)) => {
            panic!("handshake refused with {}: {:?}", response.status(), response.body())
        }
        Err(e) => panic!("handshake failed: {e}"),
    }
}

/// Sends `req` and expects an HTTP answer other than 101; returns it.
async fn refused(req: Request) -> Response {
    match within(tokio_tungstenite::connect_async(req)).await {
        Ok((_, response)) => panic!("handshake accepted ({}) but should be refused", response.status()),
        Err(tungstenite::Error::Http(response)) => *response,
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
    }
}

fn header<'r>(response: &'r Response, name: &str) -> Option<&'r str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Asserts a 401 with the bearer challenge.
fn assert_unauthorized(response: &Response, what: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
    assert_eq!(header(response, "www-authenticate"), Some("Bearer"), "{what}: bearer challenge");
}

/// Sends `text` and returns the reply.
async fn ask(ws: &mut Client, text: &str) -> String {
    send(ws, text).await;
    recv_text(ws).await
}

/// Closes from the client side and waits for the end of the stream.
async fn hang_up(mut ws: Client) {
    within(ws.close(None)).await.expect("send close");
    while let Some(Ok(_)) = within(ws.next()).await {}
}

/// Reads to the end of the stream (answering the server's Close).
async fn finish(mut ws: Client) {
    while let Some(Ok(_)) = within(ws.next()).await {}
}

/// A hand-written upgrade request from a socket bound to `from`; returns
/// the status and the stream (kept open by the caller when it is a 101).
async fn raw_upgrade_from(from: IpAddr, addr: SocketAddr, path: &str) -> (u16, TcpStream) {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::new(from, 0)).expect("bind the client address");
    let tcp = within(socket.connect(addr)).await.expect("tcp connect");
    common::raw_upgrade_on(tcp, addr, path).await
}

// ---------------------------------------------------------------- token sources

/// A valid token reaches the handler as the identity from each source: the
/// bearer header, the `token` query parameter, the `token` cookie, and the
/// `bearer, <token>` subprotocol (where the 101 selects `bearer`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_token_from_every_source_reaches_the_handler() {
    let server = server().await;
    let addr = server.local_addr();

    let (mut ws, response) = open(request(addr, "/a/echo", &[("authorization", "Bearer tok-ada")])).await;
    assert_eq!(header(&response, "sec-websocket-protocol"), None, "no subprotocol was offered");
    assert_eq!(ask(&mut ws, "via header").await, "Ada/u-ada/Ada: via header");
    hang_up(ws).await;

    let (mut ws, _) = open(request(addr, "/a/echo?x=1&token=tok-bob", &[])).await;
    assert_eq!(ask(&mut ws, "via query").await, "Bob/u-bob/Bob: via query");
    hang_up(ws).await;

    let (mut ws, _) = open(request(addr, "/a/echo", &[("cookie", "theme=dark; token=tok-cy; lang=en")])).await;
    assert_eq!(ask(&mut ws, "via cookie").await, "Cy/u-cy/Cy: via cookie");
    hang_up(ws).await;

    let (mut ws, response) = open(request(addr, "/a/echo", &[("sec-websocket-protocol", "bearer, tok-dee")])).await;
    assert_eq!(
        header(&response, "sec-websocket-protocol"),
        Some("bearer"),
        "the server must select `bearer`, never echo the token"
    );
    assert_eq!(ask(&mut ws, "via subprotocol").await, "Dee/u-dee/Dee: via subprotocol");
    hang_up(ws).await;

    // Several sources at once: the bearer header wins, then the subprotocol,
    // then the query, then the cookie.
    let (mut ws, _) = open(request(
        addr,
        "/a/echo?token=tok-bob",
        &[("authorization", "Bearer tok-ada"), ("cookie", "token=tok-cy")],
    ))
    .await;
    assert_eq!(ask(&mut ws, "both").await, "Ada/u-ada/Ada: both");
    hang_up(ws).await;
    let (mut ws, _) = open(request(addr, "/a/echo?token=tok-bob", &[("cookie", "token=tok-cy")])).await;
    assert_eq!(ask(&mut ws, "both").await, "Bob/u-bob/Bob: both");
    hang_up(ws).await;

    // A Basic header is not a bearer token: with no other source it is refused.
    let response = refused(request(addr, "/a/echo", &[("authorization", "Basic dG9rLWFkYQ==")])).await;
    assert_unauthorized(&response, "basic credentials");
}

/// Missing and bad tokens get 401 with `WWW-Authenticate: Bearer`, a
/// forbidding validator gets 403, `Reject::status` picks its status; the
/// handler never runs (nor `on_open`) for any of them, but does for a valid
/// token on the same route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_handshakes_never_reach_the_handler() {
    let server = server().await;
    let addr = server.local_addr();
    let before = VALIDATIONS.load(Ordering::SeqCst);

    let response = refused(request(addr, "/a/guarded", &[])).await;
    assert_unauthorized(&response, "missing token");

    for headers in
        [[("authorization", "Bearer nope")], [("cookie", "token=nope")], [("sec-websocket-protocol", "bearer, nope")]]
    {
        let response = refused(request(addr, "/a/guarded", &headers)).await;
        assert_unauthorized(&response, &format!("bad token in {headers:?}"));
    }
    let response = refused(request(addr, "/a/guarded?token=nope", &[])).await;
    assert_unauthorized(&response, "bad token in the query");

    let response = refused(request(addr, "/a/guarded", &[("authorization", "Bearer tok-banned")])).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(header(&response, "www-authenticate"), None, "403 carries no challenge");

    let response = refused(request(addr, "/a/guarded", &[("authorization", "Bearer tok-busy")])).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&response, "www-authenticate"), None);

    assert!(VALIDATIONS.load(Ordering::SeqCst) >= before + 7, "the validator ran for every request");
    assert_eq!(server.hub().connections(), 0);
    assert_eq!(GUARDED_OPENS.load(Ordering::SeqCst), 0, "on_open ran for a refused handshake");
    assert_eq!(GUARDED_CALLS.load(Ordering::SeqCst), 0, "the handler ran for a refused handshake");

    // The counters do count: a valid token opens and calls once.
    let (mut ws, _) = open(request(addr, "/a/guarded", &[("authorization", "Bearer tok-ada")])).await;
    assert_eq!(ask(&mut ws, "hi").await, "Ada: hi");
    assert_eq!(GUARDED_OPENS.load(Ordering::SeqCst), 1);
    assert_eq!(GUARDED_CALLS.load(Ordering::SeqCst), 1);
    hang_up(ws).await;
}

/// A plain `fn` validator works like an async one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_validator_accepts_and_refuses() {
    let server = server().await;
    let addr = server.local_addr();

    let (mut ws, _) = open(request(addr, "/a/sync", &[("authorization", "Bearer tok-bob")])).await;
    assert_eq!(ask(&mut ws, "sync").await, "Bob: sync");
    hang_up(ws).await;
    let calls = SYNC_CALLS.load(Ordering::SeqCst);
    assert_eq!(calls, 1);

    assert_unauthorized(&refused(request(addr, "/a/sync", &[])).await, "missing token");
    assert_unauthorized(&refused(request(addr, "/a/sync", &[("authorization", "Bearer x")])).await, "bad token");
    // This validator reads the bearer header only.
    assert_unauthorized(&refused(request(addr, "/a/sync?token=tok-bob", &[])).await, "query ignored");
    let response = refused(request(addr, "/a/sync", &[("authorization", "Bearer tok-banned")])).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(SYNC_CALLS.load(Ordering::SeqCst), calls, "no handler call for refused handshakes");
}

// ---------------------------------------------------------------- origins

/// The default policy takes the server's own hosts: a browser-style request
/// from another origin, a rebound one included, gets 403 even with a valid
/// token (and no handler runs); the page's own origin and requests without
/// `Origin` are accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_checks_default_to_the_servers_own_hosts() {
    let server = server().await;
    let addr = server.local_addr();
    let host = addr.to_string();
    let auth = ("authorization", "Bearer tok-ada");

    let evil = request(addr, "/a/origin", &[auth, ("origin", "https://evil.example")]);
    assert_eq!(evil.headers().get("host").and_then(|h| h.to_str().ok()), Some(host.as_str()));
    let response = refused(evil).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "cross-site origin");
    // DNS rebinding: the attacker's name resolves to the server, and its
    // page sends that name as both Origin and Host.
    let mut rebound = request(addr, "/a/origin", &[auth, ("origin", "http://rebound.example")]);
    rebound.headers_mut().insert("host", "rebound.example".parse().expect("host"));
    let response = refused(rebound).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "rebound origin");
    assert_eq!(ORIGIN_OPENS.load(Ordering::SeqCst), 0, "a refused origin reached the route");

    let same = format!("http://{host}");
    let (mut ws, _) = open(request(addr, "/a/origin", &[auth, ("origin", &same)])).await;
    assert_eq!(ask(&mut ws, "same").await, "Ada: same");
    hang_up(ws).await;

    let (mut ws, _) = open(request(addr, "/a/origin", &[auth])).await;
    assert_eq!(ask(&mut ws, "no origin").await, "Ada: no origin");
    hang_up(ws).await;
    assert_eq!(ORIGIN_OPENS.load(Ordering::SeqCst), 2);

    // The route's list replaces the default: subdomains of trusted.test only.
    let (mut ws, _) = open(request(addr, "/a/trusted", &[("origin", "https://a.trusted.test")])).await;
    assert_eq!(ask(&mut ws, "trusted").await, "trusted");
    hang_up(ws).await;
    for origin in ["https://evil.example", "https://trusted.test", "https://eviltrusted.test", same.as_str()] {
        let response = refused(request(addr, "/a/trusted", &[("origin", origin)])).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "origin {origin} on the trusted route");
    }
}

/// `App::origins` replaces the same-host default for routes without their
/// own list; a route's own list still wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_origins_replace_the_default() {
    let server = spawn_prefix(PREFIX, App::new().origins(["https://app.example"])).await;
    let addr = server.local_addr();

    let (mut ws, _) = open(request(addr, "/a/open", &[("origin", "https://app.example")])).await;
    assert_eq!(ask(&mut ws, "app").await, "app");
    hang_up(ws).await;
    let same = format!("http://{addr}");
    let response = refused(request(addr, "/a/open", &[("origin", &same)])).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "same host is no longer allowed");

    let response = refused(request(addr, "/a/trusted", &[("origin", "https://app.example")])).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "the route's own list wins");
    let (ws, _) = open(request(addr, "/a/trusted", &[("origin", "https://x.trusted.test")])).await;
    hang_up(ws).await;
}

// ---------------------------------------------------------------- caps

/// `max_connections = 2`: the third handshake gets 503; once one closes, a
/// new one is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_route_cap_answers_503_and_frees_its_slots() {
    let server = server().await;
    let addr = server.local_addr();

    let mut a = connect(addr, "/a/capped").await;
    let mut b = connect(addr, "/a/capped").await;
    assert_eq!(ask(&mut a, "a").await, "a");
    assert_eq!(ask(&mut b, "b").await, "b");

    let response = refused(request(addr, "/a/capped", &[])).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    // A refusal does not leak a slot: still refused, still two open.
    let response = refused(request(addr, "/a/capped", &[])).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(server.hub().connections(), 2);

    hang_up(a).await;
    eventually(|| server.hub().connections() == 1).await;
    let mut c = connect(addr, "/a/capped").await;
    assert_eq!(ask(&mut c, "c").await, "c");
    assert_eq!(ask(&mut b, "b again").await, "b again");
    let response = refused(request(addr, "/a/capped", &[])).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "full again");
    hang_up(b).await;
    hang_up(c).await;
}

/// A handshake refused by the validator gives its slot back: many refusals
/// on a route capped at one connection leave room for a valid one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_handshakes_do_not_hold_connection_slots() {
    let server = server().await;
    let addr = server.local_addr();

    for _ in 0..5 {
        assert_unauthorized(&refused(request(addr, "/a/capped_auth", &[])).await, "missing token");
    }
    let response = refused(request(addr, "/a/capped_auth", &[("authorization", "Bearer tok-banned")])).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let (mut ws, _) = open(request(addr, "/a/capped_auth", &[("authorization", "Bearer tok-ada")])).await;
    assert_eq!(ask(&mut ws, "in").await, "Ada: in");
    let response = refused(request(addr, "/a/capped_auth", &[("authorization", "Bearer tok-bob")])).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "the cap holds for valid tokens");
    hang_up(ws).await;
}

/// `max_connections_per_ip = 2`: the third connection from one address gets
/// 429, another address is still accepted, and a closed connection frees
/// its address's slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_ip_cap_answers_429() {
    let server = server().await;
    let addr = server.local_addr();
    let home: IpAddr = "127.0.0.1".parse().expect("ip");
    let other: IpAddr = "127.0.0.2".parse().expect("ip");

    let mut a = connect(addr, "/a/perip").await;
    let mut b = connect(addr, "/a/perip").await;
    assert_eq!(ask(&mut a, "a").await, "a");
    assert_eq!(ask(&mut b, "b").await, "b");

    let response = refused(request(addr, "/a/perip", &[])).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let (status, _refused) = raw_upgrade_from(home, addr, "/a/perip").await;
    assert_eq!(status, 429);

    let (status, _from_other) = raw_upgrade_from(other, addr, "/a/perip").await;
    assert_eq!(status, 101, "another client address has its own allowance");
    eventually(|| server.hub().connections() == 3).await;

    hang_up(a).await;
    eventually(|| server.hub().connections() == 2).await;
    let mut c = connect(addr, "/a/perip").await;
    assert_eq!(ask(&mut c, "c").await, "c");
    hang_up(b).await;
    hang_up(c).await;
}

/// The per-IP cap is "per route and client IP" (config.rs): connections of
/// the same address on *other* routes do not count against it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_ip_cap_counts_only_its_own_route() {
    let server = server().await;
    let addr = server.local_addr();

    let mut elsewhere1 = connect(addr, "/a/open").await;
    let mut elsewhere2 = connect(addr, "/a/open").await;
    assert_eq!(ask(&mut elsewhere1, "1").await, "1");
    assert_eq!(ask(&mut elsewhere2, "2").await, "2");

    // No connection on /a/perip yet: two are allowed there.
    let url = format!("ws://{addr}/a/perip");
    let (mut a, _) = match within(tokio_tungstenite::connect_async(url.as_str())).await {
        Ok(done) => done,
        Err(tungstenite::Error::Http(response)) => panic!(
            "first connection on /a/perip refused with {}: connections on /a/open count against \
             /a/perip's max_connections_per_ip",
            response.status()
        ),
        Err(e) => panic!("handshake failed: {e}"),
    };
    assert_eq!(ask(&mut a, "a").await, "a");
    let (b, _) = open(request(addr, "/a/perip", &[])).await;
    let response = refused(request(addr, "/a/perip", &[])).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "the third on the route");
    for ws in [a, b, elsewhere1, elsewhere2] {
        hang_up(ws).await;
    }
}

// ---------------------------------------------------------------- rate

/// `rate = "10/s", burst = 3`: a burst of three is served, then messages at
/// the rate; twenty messages back to back close the connection with 1008 and
/// a reason naming the rate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_flood_is_closed_with_1008() {
    let server = server().await;
    let addr = server.local_addr();

    let mut calm = connect(addr, "/a/rate").await;
    for i in 0..3 {
        send(&mut calm, format!("m{i}")).await;
    }
    for i in 0..3 {
        assert_eq!(recv_text(&mut calm).await, format!("m{i}"), "the burst is served");
    }

    let mut flood = connect(addr, "/a/rate").await;
    for i in 0..20 {
        within(flood.feed(WsMessage::text(format!("f{i}")))).await.expect("feed");
    }
    within(flood.flush()).await.expect("flush");
    let mut echoed = 0;
    let (code, reason) = loop {
        match within(flood.next()).await {
            Some(Ok(WsMessage::Text(_))) => echoed += 1,
            Some(Ok(WsMessage::Close(Some(frame)))) => break (u16::from(frame.code), frame.reason.as_str().to_owned()),
            Some(Ok(other)) => panic!("unexpected {other:?}"),
            Some(Err(e)) => panic!("error before the close frame: {e}"),
            None => panic!("closed without a close frame"),
        }
    };
    assert_eq!(code, 1008, "policy violation");
    assert!(reason.contains("rate"), "reason: {reason}");
    assert!(echoed <= 5, "{echoed} messages were served past a burst of 3");
    finish(flood).await;

    // Traffic within the rate (one message per 150 ms, against a refill of
    // one per 100 ms) keeps being served after the burst was used up. The
    // pacing is the workload here, not a synchronisation.
    let mut pace = tokio::time::interval(Duration::from_millis(150));
    pace.tick().await;
    for i in 0..3 {
        within(pace.tick()).await;
        assert_eq!(ask(&mut calm, &format!("paced {i}")).await, format!("paced {i}"));
    }
    hang_up(calm).await;
    eventually(|| server.hub().connections() == 0).await;
}

// ---------------------------------------------------------------- reauth

/// `reauth = "100ms"`: the validator runs again on the kept handshake; once
/// the token is revoked the connection closes with 1008 within a bound,
/// while a connection with a valid token stays open through re-validations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_closed_at_revalidation() {
    let server = server().await;
    let addr = server.local_addr();

    let (mut doomed, _) = open(request(addr, "/a/reauth", &[("authorization", "Bearer rv-doomed")])).await;
    let (mut kept, _) = open(request(addr, "/a/reauth?token=rv-kept", &[])).await;
    assert_eq!(ask(&mut doomed, "hi").await, "rv-doomed: hi");
    assert_eq!(ask(&mut kept, "hi").await, "rv-kept: hi");

    // Re-validation happens (handshake + two periodic checks), and passes.
    eventually(|| checks_of("rv-doomed") >= 3 && checks_of("rv-kept") >= 3).await;
    assert_eq!(ask(&mut doomed, "alive").await, "rv-doomed: alive");

    revoked().insert("rv-doomed".to_owned());
    let revoked_at = Instant::now();
    let (code, reason) = expect_close(&mut doomed).await;
    let took = revoked_at.elapsed();
    assert_eq!(code, 1008, "reason: {reason}");
    assert!(reason.contains("authentication"), "reason: {reason}");
    assert!(took < Duration::from_millis(1000), "closed {took:?} after revocation (reauth every 100 ms)");
    finish(doomed).await;

    // The other connection survives more re-validations.
    let seen = checks_of("rv-kept");
    eventually(|| checks_of("rv-kept") >= seen + 2).await;
    assert_eq!(ask(&mut kept, "still").await, "rv-kept: still");

    // A new handshake with the revoked token is refused.
    let response = refused(request(addr, "/a/reauth", &[("authorization", "Bearer rv-doomed")])).await;
    assert_unauthorized(&response, "revoked token");
    hang_up(kept).await;
    eventually(|| server.hub().connections() == 0).await;
}

// ---------------------------------------------------------------- subprotocols

/// The server picks its own preference among the offered subprotocols and
/// `Conn::protocol` reports it; a client offering none of them gets 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subprotocols_follow_the_server_preference() {
    let server = server().await;
    let addr = server.local_addr();

    let (mut ws, response) = open(request(addr, "/a/proto", &[("sec-websocket-protocol", "chat.v2, chat.v1")])).await;
    assert_eq!(header(&response, "sec-websocket-protocol"), Some("chat.v1"));
    assert_eq!(ask(&mut ws, "x").await, "chat.v1: x");
    hang_up(ws).await;

    let (mut ws, response) = open(request(addr, "/a/proto", &[("sec-websocket-protocol", "chat.v3, chat.v2")])).await;
    assert_eq!(header(&response, "sec-websocket-protocol"), Some("chat.v2"));
    assert_eq!(ask(&mut ws, "y").await, "chat.v2: y");
    hang_up(ws).await;

    let response = refused(request(addr, "/a/proto", &[("sec-websocket-protocol", "chat.v3")])).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "offered none of ours");
    let response = refused(request(addr, "/a/proto", &[])).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "offered no subprotocol at all");
}

// ---------------------------------------------------------------- presence

/// Presence lists carry each member's principal; `send_to_principal`
/// reaches both connections of one user and not another user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_and_sends_to_a_principal() {
    let server = server().await;
    let addr = server.local_addr();
    let hub = server.hub().clone();

    let ada = ("authorization", "Bearer tok-ada");
    let (mut ada1, _) = open(request(addr, "/a/room/lobby", &[ada])).await;
    let (mut ada2, _) = open(request(addr, "/a/room/lobby?token=tok-ada", &[])).await;
    let (mut bob, _) = open(request(addr, "/a/room/lobby", &[("authorization", "Bearer tok-bob")])).await;
    let (mut cy, _) = open(request(addr, "/a/room/other", &[("authorization", "Bearer tok-cy")])).await;
    eventually(|| hub.presence("room:lobby").len() == 3 && hub.presence("room:other").len() == 1).await;

    let presence = hub.presence("room:lobby");
    let mut principals: Vec<Option<String>> =
        presence.iter().map(|m| m.principal.as_deref().map(str::to_owned)).collect();
    principals.sort();
    assert_eq!(principals, vec![Some("u-ada".to_owned()), Some("u-ada".to_owned()), Some("u-bob".to_owned())]);
    let mut ids: Vec<ConnId> = presence.iter().map(|m| m.id).collect();
    ids.sort();
    let mut of_ada = hub.connections_of("u-ada");
    of_ada.sort();
    assert_eq!(of_ada.len(), 2);
    assert!(of_ada.iter().all(|id| ids.contains(id)), "ada's connections are lobby members");
    assert_eq!(hub.connections_of("u-bob").len(), 1);
    assert!(hub.connections_of("u-nobody").is_empty());

    assert_eq!(hub.send_to_principal("u-ada", "for ada"), 2);
    assert_eq!(recv_text(&mut ada1).await, "for ada");
    assert_eq!(recv_text(&mut ada2).await, "for ada");
    assert_eq!(hub.send_to_principal("u-bob", "for bob"), 1);
    assert_eq!(recv_text(&mut bob).await, "for bob", "bob got nothing before his own message");
    assert_eq!(hub.send_to_principal("u-nobody", "lost"), 0);

    // The room's broadcast still works and names the sender.
    send(&mut bob, "hello").await;
    for ws in [&mut ada1, &mut ada2, &mut bob] {
        assert_eq!(recv_text(ws).await, "Bob: hello");
    }
    assert_eq!(hub.send_to_principal("u-cy", "for cy"), 1);
    assert_eq!(recv_text(&mut cy).await, "for cy", "cy (other room) got nothing else");

    hang_up(ada1).await;
    eventually(|| hub.connections_of("u-ada").len() == 1 && hub.presence("room:lobby").len() == 2).await;
    assert_eq!(hub.send_to_principal("u-ada", "again"), 1);
    assert_eq!(recv_text(&mut ada2).await, "again");
    for ws in [ada2, bob, cy] {
        hang_up(ws).await;
    }
    eventually(|| hub.connections_of("u-ada").is_empty() && hub.connections() == 0).await;
}

// ---------------------------------------------------------------- logs

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Set in the environment of the child process that runs the log capture.
const LOG_CHILD: &str = "WIREHUB_AUTH_LOG_CHILD";
/// Printed by the child once its checks passed.
const LOG_CHILD_DONE: &str = "log capture checks passed";

/// With every event and span captured at TRACE level, accepted and refused
/// handshakes carrying tokens in each source leave no token in the log
/// (nor in the `Debug` renderings of `Handshake`, `Conn` and `Identity`).
///
/// The capture runs in a child process of this test binary that runs only
/// [`log_capture_child_process`]: tracing caches each callsite's interest
/// process-wide, and a callsite first hit by another test's thread while
/// the capturing subscriber is being installed can be cached as "never",
/// which made the capture miss events now and then.
#[test]
fn tokens_never_reach_the_logs() {
    use std::io::Read;
    use std::process::{Command, Stdio};

    let exe = std::env::current_exe().expect("the test binary");
    let mut child = Command::new(exe)
        .args(["--exact", "log_capture_child_process", "--nocapture", "--test-threads=1"])
        .env(LOG_CHILD, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the child process");
    let pipes = [
        child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
        child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
    ];
    let readers: Vec<_> = pipes
        .into_iter()
        .map(|pipe| {
            std::thread::spawn(move || {
                let mut text = String::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_string(&mut text);
                }
                text
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the log capture child did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let output: Vec<String> = readers.into_iter().map(|r| r.join().expect("pipe reader")).collect();
    let output = output.join("\n");
    assert!(status.success(), "the log capture failed:\n{output}");
    assert!(output.contains(LOG_CHILD_DONE), "the child did not run the capture:\n{output}");
}

/// The body of [`tokens_never_reach_the_logs`]; a no-op unless run as its
/// child process.
#[test]
fn log_capture_child_process() {
    if std::env::var_os(LOG_CHILD).is_none() {
        return;
    }
    use tracing_subscriber::fmt::format::FmtSpan;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::EnvFilter;

    let captured = Captured::default();
    let writer = captured.clone();
    // Everything at TRACE, except the test *client* library's own record of
    // the request it sends (which of course holds the token).
    let filter = EnvFilter::new("trace,tungstenite::handshake::client=off");
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Thread-local: a current-thread runtime runs every task on this thread.
    let _guard = subscriber.set_default();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let server = server().await;
        let addr = server.local_addr();
        let sources = |token: &str| -> Vec<(String, Vec<(&'static str, String)>)> {
            vec![
                ("/a/logged".to_owned(), vec![("authorization", format!("Bearer {token}"))]),
                (format!("/a/logged?token={token}"), vec![]),
                ("/a/logged".to_owned(), vec![("cookie", format!("token={token}"))]),
                ("/a/logged".to_owned(), vec![("sec-websocket-protocol", format!("bearer, {token}"))]),
            ]
        };
        for (path, headers) in sources(LOG_TOKEN) {
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (mut ws, _) = open(request(addr, &path, &headers)).await;
            assert_eq!(ask(&mut ws, "logged").await, "Log: logged");
            hang_up(ws).await;
        }
        for (path, headers) in sources(LOG_TOKEN_BAD) {
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            assert_unauthorized(&refused(request(addr, &path, &headers)).await, "refused token");
        }
        eventually(|| server.hub().connections() == 0).await;
        within(server.shutdown()).await.expect("shutdown");
    });

    let log = captured.text();
    assert!(!log.is_empty(), "nothing was captured");
    assert!(log.contains("handshake rejected"), "refusals are logged");
    assert!(log.contains("connection open"), "connections are logged");
    assert!(log.contains("wirehub::connection"), "connection events are logged");
    let leaks: Vec<&str> = log.lines().filter(|l| l.contains("SeCrEt")).collect();
    assert!(leaks.is_empty(), "tokens in {} log lines:\n{}", leaks.len(), leaks.join("\n"));
    let seen = debug_renderings();
    assert_eq!(seen.len(), 12, "8 handshakes validated, 4 handler calls");
    for rendering in seen.iter() {
        assert!(!rendering.contains("SeCrEt"), "token in a Debug rendering: {rendering}");
    }
    println!("{LOG_CHILD_DONE}");
}

/// Application pings are answered without the handler, but they are data
/// messages like any other for the rate limit: a flood of `ping` is closed
/// with 1008 too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_ping_flood_is_rate_limited_too() {
    let server = server().await;
    let mut flood = connect(server.local_addr(), "/a/rate-ping").await;
    for _ in 0..20 {
        within(flood.feed(WsMessage::text("ping"))).await.expect("feed");
    }
    within(flood.flush()).await.expect("flush");
    let mut pongs = 0;
    let code = loop {
        match within(flood.next()).await {
            Some(Ok(WsMessage::Text(t))) => {
                assert_eq!(t.as_str(), r#"{"type":"pong"}"#);
                pongs += 1;
            }
            Some(Ok(WsMessage::Close(Some(frame)))) => break u16::from(frame.code),
            other => panic!("expected pongs then a close frame, got {other:?}"),
        }
    };
    assert_eq!(code, 1008);
    assert!(pongs <= 5, "{pongs} pings answered past a burst of 3");
}
