//! wirehub mounted in other servers, over real sockets: its routes as an
//! axum router (merged and nested, behind the user's layers, with REST
//! handlers reaching the hub), as a tower service under a plain hyper
//! server, and on connections fed from an in-memory pipe. Auth before the
//! upgrade, the origin policy, per-IP caps, timeouts, metrics and the drain
//! work the same as on wirehub's own listener. Apps are built from chosen
//! routes (`App::empty().route(..)`).
//!
//! Every route of this file lives under `/e/`.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use common::{
    connect, eventually, expect_close, http_exchange, http_get, parse_metrics, post_json, recv_text, sample, send,
    serve_axum, try_connect, upgrade_get, within,
};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tower_service::Service as _;
use wirehub::prelude::*;
use wirehub::{Embedded, Hub};

#[ws_route("/e/echo")]
async fn echo(msg: Message) -> Option<Message> {
    Some(msg)
}

/// Answers any text with the client's address as the connection sees it.
#[ws_route("/e/whoami")]
async fn whoami(conn: Conn, _text: String) -> String {
    conn.peer_addr().to_string()
}

#[ws_route("/e/room/{room}", broadcast = "e:{room}")]
async fn room(text: String) -> String {
    text
}

struct Member;

impl Principal for Member {
    fn principal(&self) -> &str {
        "member"
    }
}

async fn validate(hs: &Handshake) -> Result<Member, Reject> {
    match hs.token().as_deref() {
        Some("good") => Ok(Member),
        Some(_) => Err(Reject::forbidden("bad token")),
        None => Err(Reject::unauthorized("token required")),
    }
}

#[ws_route("/e/auth", auth = validate)]
async fn authed(text: String) -> String {
    text
}

#[ws_route("/e/capped", max_connections_per_ip = 1)]
async fn capped(text: String) -> String {
    text
}

#[ws_route("/e/idle", idle_timeout = "150ms", heartbeat = "off")]
async fn idle(text: String) -> String {
    text
}

/// An app of every route of this file, listed one by one.
async fn build() -> Embedded {
    let app = ["/e/echo", "/e/whoami", "/e/room/{room}", "/e/auth", "/e/capped", "/e/idle"]
        .into_iter()
        .fold(App::empty(), App::route);
    within(app.build()).await.expect("the app builds")
}

/// A REST handler that publishes to a room through the hub (axum state).
async fn publish(State(hub): State<Hub>, body: String) -> StatusCode {
    match hub.broadcast("e:lobby", body) {
        0 => StatusCode::NOT_FOUND,
        _ => StatusCode::ACCEPTED,
    }
}

/// The user's layer: counts the requests it sees, refuses those with `x-deny`.
async fn gate(State(seen): State<Arc<AtomicUsize>>, request: Request, next: Next) -> Response {
    seen.fetch_add(1, Ordering::SeqCst);
    match request.headers().contains_key("x-deny") {
        true => StatusCode::UNAUTHORIZED.into_response(),
        false => next.run(request).await,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_into_axum_beside_rest_routes_behind_the_users_layer() {
    let ws = build().await;
    let seen = Arc::new(AtomicUsize::new(0));
    let router = Router::new()
        .route("/api/health", get(|| async { "ok" }))
        .route("/api/publish", post(publish))
        .merge(ws.router())
        .with_state(ws.hub().clone())
        .layer(middleware::from_fn_with_state(seen.clone(), gate));
    let addr = serve_axum(router).await;

    assert_eq!(http_get(addr, "/api/health").await, (200, "ok".to_owned()));
    let mut a = connect(addr, "/e/room/lobby").await;
    let mut b = connect(addr, "/e/room/lobby").await;
    let mut other = connect(addr, "/e/room/elsewhere").await;
    let before = seen.load(Ordering::SeqCst);
    let mut e = connect(addr, "/e/echo").await;
    assert_eq!(seen.load(Ordering::SeqCst), before + 1, "the layer saw the upgrade request");
    send(&mut e, "hi").await;
    assert_eq!(recv_text(&mut e).await, "hi");

    // The layer refuses before wirehub sees the request: no connection.
    let open = ws.hub().connections();
    assert_eq!(try_connect(addr, "/e/echo", &[("x-deny", "1")]).await.err(), Some(401));
    assert_eq!(ws.hub().connections(), open);

    // A REST handler reaches the room's members through the hub, and no one else.
    eventually(|| ws.hub().members("e:lobby").len() == 2).await;
    assert_eq!(http_exchange(addr, &post_json("/api/publish", "from rest")).await.0, 202);
    for ws in [&mut a, &mut b] {
        assert_eq!(recv_text(ws).await, "from rest");
    }
    send(&mut other, "marker").await;
    assert_eq!(recv_text(&mut other).await, "marker", "the other room got nothing before its own message");

    // Unknown paths are axum's 404, not wirehub's.
    assert_eq!(http_get(addr, "/nope").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_the_routes_match_below_the_prefix() {
    let ws = build().await;
    let addr = serve_axum(Router::new().nest("/ws", ws.router())).await;
    let mut e = connect(addr, "/ws/e/echo").await;
    send(&mut e, "nested").await;
    assert_eq!(recv_text(&mut e).await, "nested");
    let mut r = connect(addr, "/ws/e/room/x").await;
    eventually(|| ws.hub().members("e:x").len() == 1).await;
    ws.hub().broadcast("e:x", "to x");
    assert_eq!(recv_text(&mut r).await, "to x");
    assert_eq!(try_connect(addr, "/e/echo", &[]).await.err(), Some(404));
    assert_eq!(http_get(addr, "/ws/healthz").await, (200, "ok\n".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_origin_caps_timeouts_and_metrics_work_when_mounted() {
    let ws = build().await;
    let addr = serve_axum(ws.router()).await;

    assert_eq!(try_connect(addr, "/e/auth", &[]).await.err(), Some(401));
    assert_eq!(try_connect(addr, "/e/auth", &[("authorization", "Bearer bad")]).await.err(), Some(403));
    let mut ok = try_connect(addr, "/e/auth", &[("authorization", "Bearer good")]).await.expect("accepted");
    send(&mut ok, "in").await;
    assert_eq!(recv_text(&mut ok).await, "in");

    assert_eq!(try_connect(addr, "/e/echo", &[("origin", "https://evil.example")]).await.err(), Some(403));
    let same_host = format!("http://{addr}");
    assert!(try_connect(addr, "/e/echo", &[("origin", &same_host)]).await.is_ok());

    // The client's address comes from axum's connect info.
    let mut who = connect(addr, "/e/whoami").await;
    send(&mut who, "?").await;
    let seen: SocketAddr = recv_text(&mut who).await.parse().expect("an address");
    assert!(seen.ip().is_loopback() && seen.port() != 0, "{seen}");
    let _first = connect(addr, "/e/capped").await;
    assert_eq!(try_connect(addr, "/e/capped", &[]).await.err(), Some(429));

    let started = Instant::now();
    let mut quiet = connect(addr, "/e/idle").await;
    assert_eq!(expect_close(&mut quiet).await, (1000, "idle timeout".to_owned()));
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));

    let (status, body) = http_get(addr, "/metrics").await;
    assert_eq!(status, 200);
    let m = parse_metrics(&body);
    let rejected =
        |route, reason| sample(&m, "wirehub_handshakes_rejected_total", &[("route", route), ("reason", reason)]);
    assert_eq!(rejected("/e/auth", "auth"), Some(2.0));
    assert_eq!(rejected("/e/echo", "origin"), Some(1.0));
    assert_eq!(rejected("/e/capped", "limit"), Some(1.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_mounted_connections_with_1001() {
    let ws = within(App::empty().route("/e/echo").config(|c| c.drain_timeout = common::limit()).build())
        .await
        .expect("builds");
    let addr = serve_axum(ws.router()).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(connect(addr, "/e/echo").await);
    }
    eventually(|| ws.hub().connections() == 3).await;
    let draining = ws.clone();
    let shutdown = tokio::spawn(async move { draining.shutdown().await });
    for client in &mut clients {
        assert_eq!(expect_close(client).await, (1001, "server shutting down".to_owned()));
    }
    drop(clients);
    within(shutdown).await.expect("the drain finishes");
    assert_eq!(ws.hub().connections(), 0);
    assert_eq!(http_get(addr, "/healthz").await.0, 503, "health says draining");
    // A late upgrade gets 1001 at once.
    let mut late = connect(addr, "/e/echo").await;
    assert_eq!(expect_close(&mut late).await.0, 1001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_connection_runs_on_an_in_memory_pipe() {
    let ws = build().await;
    let peer: SocketAddr = "192.0.2.7:4711".parse().expect("addr");
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    tokio::spawn(ws.serve_connection(server_io, peer));
    let (mut client, response) =
        within(tokio_tungstenite::client_async("ws://wirehub.test/e/whoami", client_io)).await.expect("upgrade");
    assert_eq!(response.status(), 101);
    client.send_text("?").await;
    assert_eq!(client.next_text().await, "192.0.2.7:4711");
    assert_eq!(ws.hub().connections(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tower_service_serves_under_a_plain_hyper_server() {
    let ws = build().await;
    let listener = within(tokio::net::TcpListener::bind("127.0.0.1:0")).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = ws.clone();
    tokio::spawn(async move {
        while let Ok((tcp, peer)) = listener.accept().await {
            let app = app.clone();
            let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(wirehub::PeerAddr(peer));
                app.service().call(req)
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                .with_upgrades();
            tokio::spawn(conn);
        }
    });
    let mut who = connect(addr, "/e/whoami").await;
    send(&mut who, "?").await;
    let seen: SocketAddr = recv_text(&mut who).await.parse().expect("an address");
    assert!(seen.ip().is_loopback() && seen.port() != 0, "{seen}");
    assert_eq!(http_exchange(addr, &upgrade_get("/e/nope")).await.0, 404);

    // Called outside a server, the request has no upgrade to take over.
    let request = http::Request::builder()
        .uri("/e/echo")
        .header("host", "x")
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .body(())
        .expect("request");
    let response = within(ws.service().call(request)).await.expect("infallible");
    assert_eq!(response.status(), 500);
}

/// The tungstenite client over the pipe, with bounded awaits.
trait PipeClient {
    async fn send_text(&mut self, text: &str);
    async fn next_text(&mut self) -> String;
}

impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> PipeClient for tokio_tungstenite::WebSocketStream<S> {
    async fn send_text(&mut self, text: &str) {
        use futures_util::SinkExt;
        within(self.send(WsMessage::text(text))).await.expect("send");
    }

    async fn next_text(&mut self) -> String {
        use futures_util::StreamExt;
        match within(self.next()).await {
            Some(Ok(WsMessage::Text(text))) => text.as_str().to_owned(),
            other => panic!("expected text, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_serves_the_routes_it_lists_and_only_those() {
    let ws = within(App::empty().route("/e/echo").route("/e/echo").build()).await.expect("builds");
    let addr = serve_axum(ws.router()).await;
    let mut e = connect(addr, "/e/echo").await;
    send(&mut e, "listed").await;
    assert_eq!(recv_text(&mut e).await, "listed");
    assert_eq!(try_connect(addr, "/e/whoami", &[]).await.err(), Some(404), "linked but not listed");

    match App::empty().route("/e/echo").route("/e/typo").build().await {
        Err(wirehub::Error::UnknownRoute { path, linked }) => {
            assert_eq!(path, "/e/typo");
            assert!(linked.contains(&"/e/echo") && linked.contains(&"/e/room/{room}"), "{linked:?}");
        }
        other => panic!("expected UnknownRoute, got {other:?}"),
    }
}
