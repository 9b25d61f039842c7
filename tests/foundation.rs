//! Foundation behaviour of wirehub over real sockets: echo at frame-size
//! boundaries, data-kind rules, size limits, HTTP answers, extractors,
//! return types, control frames, the close handshake and graceful shutdown.
//!
//! Every route of this file lives under `/f/`.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{
    connect, eventually, expect_close, get, http_status, recv, recv_text, send, spawn_prefix, within, Client,
};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame as WsCloseFrame;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use wirehub::prelude::*;

// ---------------------------------------------------------------- handlers

/// Echoes text and binary messages as they came (other kinds are ignored).
#[ws_route("/f/echo", max_message = "16MiB")]
async fn f_echo(msg: Message) -> Option<Message> {
    match msg {
        Message::Text(_) | Message::Binary(_) => Some(msg),
        _ => None,
    }
}

/// Takes text only.
#[ws_route("/f/text-only")]
async fn f_text_only(text: String) -> String {
    text
}

/// Takes binary only.
#[ws_route("/f/binary-only")]
async fn f_binary_only(bytes: Bytes) -> Bytes {
    bytes
}

/// A small message limit.
#[ws_route("/f/small", max_message = "1KiB")]
async fn f_small(msg: Message) -> Option<Message> {
    match msg {
        Message::Text(_) | Message::Binary(_) => Some(msg),
        _ => None,
    }
}

/// Params through `Conn::param`.
#[ws_route("/f/param/{room}/{n}")]
async fn f_param(conn: Conn) -> String {
    format!("room={} n={} all={:?}", conn.param("room").unwrap_or("-"), conn.param("n").unwrap_or("-"), conn.params())
}

/// Params as a tuple.
#[ws_route("/f/tuple/{name}/{n}")]
async fn f_tuple(path: Path<(String, u32)>) -> String {
    let (name, n) = &path.0;
    format!("name={name} n+1={}", n + 1)
}

#[derive(Debug, Deserialize)]
struct UserPath {
    user: String,
    id: u64,
}

/// Params as a struct.
#[ws_route("/f/struct/{user}/{id}")]
async fn f_struct(path: Path<UserPath>) -> String {
    format!("user={} id*2={}", path.user, path.id * 2)
}

#[derive(Debug, Deserialize)]
struct Feed {
    topic: String,
    limit: u32,
}

/// The upgrade request's query string.
#[ws_route("/f/query")]
async fn f_query(q: Query<Feed>) -> String {
    format!("topic={} limit={}", q.topic, q.limit)
}

/// The upgrade request's headers.
#[ws_route("/f/headers")]
async fn f_headers(headers: Headers) -> String {
    let custom = headers.get("x-wirehub-test").and_then(|v| v.to_str().ok()).unwrap_or("missing");
    format!("x-wirehub-test={custom}")
}

#[derive(Debug, Deserialize)]
struct AddIn {
    a: i64,
    b: i64,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct AddOut {
    sum: i64,
}

/// JSON in, JSON out.
#[ws_route("/f/json")]
async fn f_json(input: Json<AddIn>) -> Json<AddOut> {
    Json(AddOut { sum: input.a + input.b })
}

/// App state shared by every connection.
#[ws_route("/f/counter")]
async fn f_counter(counter: State<AtomicU64>, _text: String) -> String {
    let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
    n.to_string()
}

/// Returns `()`: sends nothing itself; "loud" messages are answered through `Conn::send`.
#[ws_route("/f/unit")]
async fn f_unit(conn: Conn, text: String) {
    if text.starts_with("loud") {
        conn.send(format!("sent:{text}")).await.expect("conn.send in f_unit");
    }
}

/// Returns an `Option`: `None` for "none".
#[ws_route("/f/option")]
async fn f_option(text: String) -> Option<String> {
    (text != "none").then(|| format!("some:{text}"))
}

/// Returns a `Result` with a `String` error.
#[ws_route("/f/result")]
async fn f_result(text: String) -> Result<String, String> {
    match text.as_str() {
        "fail" => Err("handler failed: boom".to_owned()),
        "long" => Err("x".repeat(300)),
        "long-utf8" => Err("é".repeat(100)),
        _ => Ok(format!("ok:{text}")),
    }
}

/// Returns a `Result` with `wirehub::Close`.
#[ws_route("/f/custom-close")]
async fn f_custom_close(text: String) -> Result<String, Close> {
    if text == "close" {
        Err(Close::new(CloseCode::Other(4001), "custom reason"))
    } else {
        Ok(format!("ok:{text}"))
    }
}

/// Sees every frame kind, pings included.
#[ws_route("/f/control")]
async fn f_control(msg: Message) -> Option<String> {
    match msg {
        Message::Ping(payload) => Some(format!("saw ping {}", String::from_utf8_lossy(&payload))),
        Message::Text(t) => Some(format!("saw text {}", t.as_str())),
        _ => None,
    }
}

/// `Conn::send` from inside the handler, then a returned reply.
#[ws_route("/f/send-then-reply")]
async fn f_send_then_reply(conn: Conn, text: String) -> String {
    conn.send(format!("first:{text}")).await.expect("conn.send in f_send_then_reply");
    conn.send(format!("second:{text}")).await.expect("conn.send in f_send_then_reply");
    format!("reply:{text}")
}

/// A route whose close handshake could wait 10 s for the peer's answer.
#[ws_route("/f/stubborn", close_timeout = "10s")]
async fn f_stubborn(text: String) -> String {
    text
}

/// A plain route for the shutdown test.
#[ws_route("/f/shutdown")]
async fn f_shutdown(text: String) -> String {
    text
}

// ---------------------------------------------------------------- helpers

/// The app every test of this file starts: the `/f/` routes, and the state
/// `f_counter` needs (registered in every app, since the check runs for
/// every served route).
fn app() -> App {
    App::new().state(AtomicU64::new(0))
}

async fn server() -> wirehub::Server {
    spawn_prefix("/f/", app()).await
}

fn text_payload(n: usize) -> String {
    (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect()
}

fn binary_payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 31 + 7) % 251) as u8).collect()
}

const SIZES: [usize; 5] = [0, 125, 126, 65_536, 8 << 20];

async fn recv_binary(ws: &mut Client) -> Vec<u8> {
    match recv(ws).await {
        WsMessage::Binary(b) => b.to_vec(),
        other => panic!(
            "expected binary, got a {} byte {} message",
            other.len(),
            if other.is_text() { "text" } else { "non-data" }
        ),
    }
}

// ---------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_text_round_trips_at_frame_size_boundaries() {
    let server = server().await;
    let mut ws = connect(server.local_addr(), "/f/echo").await;
    for n in SIZES {
        let payload = text_payload(n);
        send(&mut ws, WsMessage::text(payload.clone())).await;
        let got = match recv(&mut ws).await {
            WsMessage::Text(t) => t.as_str().to_owned(),
            other => panic!("size {n}: expected text, got a {} byte non-text message", other.len()),
        };
        assert_eq!(got.len(), n, "size {n}: length");
        assert!(got == payload, "size {n}: payload differs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_binary_round_trips_at_frame_size_boundaries() {
    let server = server().await;
    let mut ws = connect(server.local_addr(), "/f/echo").await;
    for n in SIZES {
        let payload = binary_payload(n);
        send(&mut ws, WsMessage::binary(payload.clone())).await;
        let got = recv_binary(&mut ws).await;
        assert_eq!(got.len(), n, "size {n}: length");
        assert!(got == payload, "size {n}: payload differs");
    }
}

#[tokio::test]
async fn text_only_handler_closes_binary_with_1003() {
    let server = server().await;
    let mut ws = connect(server.local_addr(), "/f/text-only").await;
    send(&mut ws, WsMessage::text("hello")).await;
    assert_eq!(recv_text(&mut ws).await, "hello");
    send(&mut ws, WsMessage::binary(vec![1u8, 2, 3])).await;
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, 1003);
    assert_eq!(reason, "this endpoint takes text messages");
}

#[tokio::test]
async fn binary_only_handler_closes_text_with_1003() {
    let server = server().await;
    let mut ws = connect(server.local_addr(), "/f/binary-only").await;
    send(&mut ws, WsMessage::binary(vec![9u8, 8, 7])).await;
    assert_eq!(recv_binary(&mut ws).await, vec![9u8, 8, 7]);
    send(&mut ws, WsMessage::text("not binary")).await;
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, 1003);
    assert_eq!(reason, "this endpoint takes binary messages");
}

#[tokio::test]
async fn message_over_max_message_closes_with_1009() {
    let server = server().await;
    let mut ws = connect(server.local_addr(), "/f/small").await;
    // Exactly at the limit passes.
    let at_limit = binary_payload(1024);
    send(&mut ws, WsMessage::binary(at_limit.clone())).await;
    assert_eq!(recv_binary(&mut ws).await, at_limit);
    // Twice the limit closes.
    send(&mut ws, WsMessage::binary(binary_payload(2048))).await;
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, 1009, "reason: {reason}");
}

#[tokio::test]
async fn unknown_path_is_404() {
    let server = server().await;
    assert_eq!(http_status(server.local_addr(), &get("/nowhere")).await, 404);
    assert_eq!(http_status(server.local_addr(), &get("/f/echo/extra")).await, 404);
}

#[tokio::test]
async fn an_oversized_request_head_is_refused_with_431() {
    // Config::max_handshake_headers defaults to 16 KiB.
    let server = server().await;
    let big = "x".repeat(20 * 1024);
    let request = format!("GET /f/echo HTTP/1.1\r\nHost: localhost\r\nX-Big: {big}\r\nConnection: close\r\n\r\n");
    assert_eq!(http_status(server.local_addr(), &request).await, 431);
    let fits =
        format!("GET /f/echo HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\nConnection: close\r\n\r\n", &big[..8000]);
    assert_eq!(http_status(server.local_addr(), &fits).await, 426, "a head under the limit is served");
}

#[tokio::test]
async fn plain_get_on_a_ws_route_is_426() {
    let server = server().await;
    assert_eq!(http_status(server.local_addr(), &get("/f/echo")).await, 426);
}

#[tokio::test]
async fn conn_param_gives_path_params() {
    let server = server().await;
    let mut ws = connect(server.local_addr(), "/f/param/lobby/42").await;
    send(&mut ws, WsMessage::text("?")).await;
    assert_eq!(recv_text(&mut ws).await, r#"room=lobby n=42 all=["lobby", "42"]"#);
    // Percent-decoded.
    let mut ws = connect(server.local_addr(), "/f/param/caf%C3%A9/7").await;
    send(&mut ws, WsMessage::text("?")).await;
    assert_eq!(recv_text(&mut ws).await, r#"room=café n=7 all=["café", "7"]"#);
}

#[tokio::test]
async fn path_tuple_gives_typed_params() {
    let server = server().await;
    let mut ws = connect(server.local_addr(), "/f/tuple/alice/41").await;
    send(&mut ws, WsMessage::text("?")).await;
    assert_eq!(recv_text(&mut ws).await, "name=alice n+1=42");
}

#[tokio::test]
async fn path_struct_gives_named_params() {
    let server = server().await;
    let mut ws = connect(server.local_addr(), "/f/struct/bob/21").await;
    send(&mut ws, WsMessage::binary(vec![0u8])).await;
    assert_eq!(recv_text(&mut ws).await, "user=bob id*2=42");
}

#[tokio::test]
async fn query_extractor_reads_the_upgrade_query() {
    let server = server().await;
    let mut ws = connect(server.local_addr(), "/f/query?topic=news&limit=10").await;
    send(&mut ws, WsMessage::text("?")).await;
    assert_eq!(recv_text(&mut ws).await, "topic=news limit=10");
}

#[tokio::test]
async fn headers_extractor_reads_a_custom_header() {
    let server = server().await;
    let mut request = format!("ws://{}/f/headers", server.local_addr()).into_client_request().expect("request");
    request.headers_mut().insert("x-wirehub-test", HeaderValue::from_static("hello-header"));
    let (mut ws, _) = within(tokio_tungstenite::connect_async(request)).await.expect("connects");
    send(&mut ws, WsMessage::text("?")).await;
    assert_eq!(recv_text(&mut ws).await, "x-wirehub-test=hello-header");
    // Without the header.
    let mut ws = connect(server.local_addr(), "/f/headers").await;
    send(&mut ws, WsMessage::text("?")).await;
    assert_eq!(recv_text(&mut ws).await, "x-wirehub-test=missing");
}

#[tokio::test]
async fn json_in_and_out_and_invalid_json_keeps_the_connection() {
    let server = server().await;
    let mut ws = connect(server.local_addr(), "/f/json").await;
    send(&mut ws, WsMessage::text(r#"{"a":40,"b":2}"#)).await;
    let out: AddOut = serde_json::from_str(&recv_text(&mut ws).await).expect("reply is JSON");
    assert_eq!(out, AddOut { sum: 42 });

    send(&mut ws, WsMessage::text("this is not json")).await;
    let error: serde_json::Value = serde_json::from_str(&recv_text(&mut ws).await).expect("error reply is JSON");
    assert_eq!(error["type"], "error", "{error}");
    let text = error["error"].as_str().expect("error field is a string");
    assert!(text.starts_with("invalid JSON: "), "{text}");

    // Still open: a valid one is answered.
    send(&mut ws, WsMessage::binary(br#"{"a":-5,"b":3}"#.to_vec())).await;
    let out: AddOut = serde_json::from_str(&recv_text(&mut ws).await).expect("reply is JSON");
    assert_eq!(out, AddOut { sum: -2 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_is_shared_across_connections() {
    let server = server().await;
    let mut a = connect(server.local_addr(), "/f/counter").await;
    let mut b = connect(server.local_addr(), "/f/counter").await;
    let mut seen = Vec::new();
    for i in 0..3 {
        send(&mut a, WsMessage::text(format!("a{i}"))).await;
        let na: u64 = recv_text(&mut a).await.parse().expect("a number");
        send(&mut b, WsMessage::text(format!("b{i}"))).await;
        let nb: u64 = recv_text(&mut b).await.parse().expect("a number");
        seen.push(na);
        seen.push(nb);
    }
    assert_eq!(seen, vec![1, 2, 3, 4, 5, 6]);
}

#[tokio::test]
async fn unit_return_sends_nothing() {
    let server = server().await;
    let mut ws = connect(server.local_addr(), "/f/unit").await;
    send(&mut ws, WsMessage::text("quiet")).await;
    send(&mut ws, WsMessage::text("loud")).await;
    assert_eq!(recv_text(&mut ws).await, "sent:loud");
}

#[tokio::test]
async fn option_none_sends_nothing() {
    let server = server().await;
    let mut ws = connect(server.local_addr(), "/f/option").await;
    send(&mut ws, WsMessage::text("none")).await;
    send(&mut ws, WsMessage::text("second")).await;
    assert_eq!(recv_text(&mut ws).await, "some:second");
}

#[tokio::test]
async fn result_ok_replies_and_err_closes_with_1011_and_the_error_text() {
    let server = server().await;
    let mut ws = connect(server.local_addr(), "/f/result").await;
    send(&mut ws, WsMessage::text("fine")).await;
    assert_eq!(recv_text(&mut ws).await, "ok:fine");
    send(&mut ws, WsMessage::text("fail")).await;
    assert_eq!(expect_close(&mut ws).await, (1011, "handler failed: boom".to_owned()));
}

#[tokio::test]
async fn result_err_reason_is_cut_to_123_bytes() {
    let server = server().await;
    let mut ws = connect(server.local_addr(), "/f/result").await;
    send(&mut ws, WsMessage::text("long")).await;
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, 1011);
    assert!(reason.len() <= 123, "{} bytes", reason.len());
    assert_eq!(reason, "x".repeat(123));

    // Cut at a character boundary: 61 two-byte characters.
    let mut ws = connect(server.local_addr(), "/f/result").await;
    send(&mut ws, WsMessage::text("long-utf8")).await;
    let (code, reason) = expect_close(&mut ws).await;
    assert_eq!(code, 1011);
    assert_eq!(reason, "é".repeat(61));
}

#[tokio::test]
async fn close_error_picks_the_close_code() {
    let server = server().await;
    let mut ws = connect(server.local_addr(), "/f/custom-close").await;
    send(&mut ws, WsMessage::text("hi")).await;
    assert_eq!(recv_text(&mut ws).await, "ok:hi");
    send(&mut ws, WsMessage::text("close")).await;
    assert_eq!(expect_close(&mut ws).await, (4001, "custom reason".to_owned()));
}

#[tokio::test]
async fn message_handler_sees_pings_and_the_client_gets_a_pong() {
    let server = server().await;
    let mut ws = connect(server.local_addr(), "/f/control").await;
    send(&mut ws, WsMessage::Ping(Bytes::from_static(b"p1"))).await;
    let mut pong = None;
    let mut text = None;
    while pong.is_none() || text.is_none() {
        match within(ws.next()).await {
            Some(Ok(WsMessage::Pong(payload))) => {
                assert!(pong.is_none(), "a second pong");
                pong = Some(payload);
            }
            Some(Ok(WsMessage::Text(t))) => {
                assert!(text.is_none(), "a second text: {t}");
                text = Some(t.as_str().to_owned());
            }
            Some(Ok(WsMessage::Ping(_))) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(pong.as_deref(), Some(&b"p1"[..]));
    assert_eq!(text.as_deref(), Some("saw ping p1"));
    // The handler still takes data.
    send(&mut ws, WsMessage::text("t")).await;
    assert_eq!(recv_text(&mut ws).await, "saw text t");
}

#[tokio::test]
async fn client_close_is_echoed_with_1000() {
    let server = server().await;
    let hub = server.hub().clone();
    let mut ws = connect(server.local_addr(), "/f/echo").await;
    send(&mut ws, WsMessage::text("before")).await;
    assert_eq!(recv_text(&mut ws).await, "before");
    let frame = WsCloseFrame { code: WsCloseCode::Normal, reason: "client done".into() };
    within(ws.close(Some(frame))).await.expect("client sends close");
    let (code, _reason) = expect_close(&mut ws).await;
    assert_eq!(code, 1000);
    // The stream ends after the handshake.
    match within(ws.next()).await {
        None | Some(Err(tokio_tungstenite::tungstenite::Error::ConnectionClosed)) => {}
        other => panic!("expected the end of the stream, got {other:?}"),
    }
    eventually(|| hub.connections() == 0).await;
}

#[tokio::test]
async fn conn_send_and_returned_reply_arrive_in_order() {
    let server = server().await;
    let mut ws = connect(server.local_addr(), "/f/send-then-reply").await;
    for i in 0..5 {
        send(&mut ws, WsMessage::text(format!("m{i}"))).await;
    }
    for i in 0..5 {
        assert_eq!(recv_text(&mut ws).await, format!("first:m{i}"));
        assert_eq!(recv_text(&mut ws).await, format!("second:m{i}"));
        assert_eq!(recv_text(&mut ws).await, format!("reply:m{i}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_closes_every_client_with_1001() {
    const CLIENTS: usize = 100;
    let drain = Duration::from_millis(1500);
    let app = app().config(|c| {
        c.drain_timeout = drain;
        c.heartbeat = None;
    });
    let server = spawn_prefix("/f/", app).await;
    let addr = server.local_addr();
    let hub = server.hub().clone();

    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        clients.push(connect(addr, "/f/shutdown").await);
    }
    // One round trip on each proves they all serve.
    for (i, ws) in clients.iter_mut().enumerate() {
        send(ws, WsMessage::text(format!("c{i}"))).await;
        assert_eq!(recv_text(ws).await, format!("c{i}"));
    }
    eventually(|| hub.connections() == CLIENTS).await;

    // Every client waits for its close frame (answering it) while the server drains.
    let waiters: Vec<_> =
        clients.into_iter().map(|mut ws| tokio::spawn(async move { expect_close(&mut ws).await })).collect();

    let started = Instant::now();
    within(server.shutdown()).await.expect("shutdown returns Ok");
    let took = started.elapsed();
    assert!(took < drain, "shutdown took {took:?}, clients all answered so it should not wait for the drain timeout");

    for waiter in waiters {
        let (code, reason) = within(waiter).await.expect("client task");
        assert_eq!(code, 1001, "reason: {reason}");
    }
    assert_eq!(hub.connections(), 0);
    // Not accepting any more.
    assert!(within(tokio::net::TcpStream::connect(addr)).await.is_err(), "still accepting after shutdown");
}

/// When the drain time is up, connections still in their close handshake
/// (a peer that never answers Close, on a route with a long close_timeout)
/// and idle keep-alive HTTP connections are cut: `shutdown` returns soon
/// after the drain time and leaves no socket open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_cuts_what_is_left_when_the_drain_time_is_up() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let drain = Duration::from_millis(200);
    let server = spawn_prefix("/f/", app().config(|c| c.drain_timeout = drain)).await;
    let addr = server.local_addr();
    let hub = server.hub().clone();

    let tcp = within(tokio::net::TcpStream::connect(addr)).await.expect("connect");
    let (status, mut stubborn) = common::raw_upgrade_on(tcp, addr, "/f/stubborn").await;
    assert_eq!(status, 101);
    eventually(|| hub.connections() == 1).await;
    // A keep-alive HTTP client (a load balancer polling /healthz).
    let mut keep_alive = within(tokio::net::TcpStream::connect(addr)).await.expect("connect");
    within(keep_alive.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")).await.expect("write");
    let mut answer = [0u8; 12];
    within(keep_alive.read_exact(&mut answer)).await.expect("read the status line");
    assert_eq!(&answer, b"HTTP/1.1 200");

    let started = Instant::now();
    within(server.shutdown()).await.expect("shutdown returns Ok");
    let took = started.elapsed();
    assert!(took >= drain, "returned after {took:?}, before the drain time");
    assert!(took < drain + Duration::from_millis(900), "returned {took:?} after the request: nothing was cut");
    assert_eq!(hub.connections(), 0, "every connection is gone");

    // Both sockets end: the WebSocket after its (unanswered) Close 1001.
    let mut rest = Vec::new();
    within(stubborn.read_to_end(&mut rest)).await.expect("read to EOF");
    assert_eq!(rest.first(), Some(&0x88), "a Close frame came first: {rest:?}");
    assert_eq!(rest.get(2..4), Some(&[0x03, 0xe9][..]), "with code 1001: {rest:?}");
    let mut rest = Vec::new();
    within(keep_alive.read_to_end(&mut rest)).await.expect("keep-alive connection read to EOF");
    assert!(
        started.elapsed() < drain + Duration::from_millis(900),
        "sockets closed only after {:?}",
        started.elapsed()
    );
}

/// A path param or query that does not fit the handler's `Path<T>` or
/// `Query<T>` is refused with 400 before the upgrade (no connection opens,
/// the handler never runs), counted as a bad request; one that fits opens.
#[tokio::test]
async fn unparsable_path_or_query_is_refused_with_400_before_the_upgrade() {
    use common::upgrade_get;
    let server = spawn_prefix("/f/", app()).await;
    let addr = server.local_addr();
    for path in ["/f/tuple/ann/abc", "/f/struct/ann/-1", "/f/query?topic=news", "/f/query?topic=news&limit=ten"] {
        let head = common::http_head(addr, &upgrade_get(path)).await;
        assert!(head.starts_with("HTTP/1.1 400"), "{path}: {head}");
    }
    let (status, body) = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tcp = within(tokio::net::TcpStream::connect(addr)).await.expect("connect");
        within(tcp.write_all(upgrade_get("/f/tuple/ann/abc").as_bytes())).await.expect("write");
        let mut raw = String::new();
        within(tcp.read_to_string(&mut raw)).await.expect("read");
        (raw.lines().next().unwrap_or_default().to_owned(), raw)
    };
    assert!(status.contains("400"), "{status}");
    assert!(body.contains("invalid path parameter"), "the reason is in the body: {body}");
    assert_eq!(server.hub().connections(), 0);
    let mut ws = connect(addr, "/f/tuple/ann/41").await;
    send(&mut ws, WsMessage::text("go")).await;
    assert_eq!(recv_text(&mut ws).await, "name=ann n+1=42");
}
