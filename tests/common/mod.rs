//! Helpers shared by the integration tests: start an app on a free port,
//! connect real clients, and bound every await.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wirehub::{App, Server};

/// The bound on every await in the tests: 10 s, times
/// `WIREHUB_TEST_TIME_SCALE` when set (the sanitizer run sets 6: ASan
/// makes the heaviest tests 4-5 times slower).
pub fn limit() -> Duration {
    let scale: u64 = std::env::var("WIREHUB_TEST_TIME_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    Duration::from_secs(10 * scale.max(1))
}

pub type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Awaits `fut`, failing the test if it takes longer than [`limit`].
pub async fn within<T>(fut: impl Future<Output = T>) -> T {
    let limit = limit();
    match tokio::time::timeout(limit, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {limit:?}"),
    }
}

/// Raises this process's open-file soft limit to its hard limit (children
/// inherit it): the 10 000-connection tests hold both ends of every
/// connection, more than the usual soft limit of 1024.
pub fn raise_fd_limit() {
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        println!("could not raise the open-file limit: {e}");
    }
}

/// Starts `app` on 127.0.0.1 with an ephemeral port.
pub async fn spawn(app: App) -> Server {
    within(app.bind("127.0.0.1:0").start()).await.expect("server starts")
}

/// Serves only the routes whose pattern starts with `prefix` (each test
/// file uses its own prefix, since inventory collects every route linked
/// into the test binary).
pub async fn spawn_prefix(prefix: &'static str, app: App) -> Server {
    spawn(app.routes(move |p| p.starts_with(prefix))).await
}

/// Opens a WebSocket client to `path` on `addr`.
pub async fn connect(addr: SocketAddr, path: &str) -> Client {
    let url = format!("ws://{addr}{path}");
    let (ws, _) = within(tokio_tungstenite::connect_async(url)).await.expect("connects");
    ws
}

/// Sends one message.
pub async fn send(ws: &mut Client, msg: impl Into<WsMessage>) {
    within(ws.send(msg.into())).await.expect("send");
}

/// Receives the next data or close message (pings and pongs skipped).
pub async fn recv(ws: &mut Client) -> WsMessage {
    loop {
        match within(ws.next()).await {
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
            Some(Ok(m)) => return m,
            Some(Err(e)) => panic!("receive failed: {e}"),
            None => panic!("stream ended"),
        }
    }
}

/// Receives the next text message.
pub async fn recv_text(ws: &mut Client) -> String {
    match recv(ws).await {
        WsMessage::Text(t) => t.as_str().to_owned(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// Reads until the server's close frame and returns its code and reason.
pub async fn expect_close(ws: &mut Client) -> (u16, String) {
    loop {
        match within(ws.next()).await {
            Some(Ok(WsMessage::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.as_str().to_owned())
            }
            Some(Ok(WsMessage::Close(None))) => return (1005, String::new()),
            Some(Ok(_)) => continue,
            Some(Err(tungstenite::Error::ConnectionClosed)) | None => panic!("closed without a close frame"),
            Some(Err(e)) => panic!("error before close frame: {e}"),
        }
    }
}

/// Sends a raw HTTP request and returns the response head's status code.
pub async fn http_status(addr: SocketAddr, request: &str) -> u16 {
    let head = http_head(addr, request).await;
    head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status line")
}

/// Sends a raw HTTP request and returns the response head.
pub async fn http_head(addr: SocketAddr, request: &str) -> String {
    let mut tcp = within(TcpStream::connect(addr)).await.expect("tcp connect");
    within(tcp.write_all(request.as_bytes())).await.expect("write request");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = within(tcp.read(&mut chunk)).await.expect("read response");
        assert!(n > 0, "connection closed before a response head");
        buf.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// A GET request for `path`.
pub fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
}

/// A WebSocket upgrade request for `path` that closes the connection after
/// the answer (for paths that refuse the upgrade).
pub fn upgrade_get(path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
}

/// Waits until `cond` holds, checking after each yield (bounded by [`limit`]).
pub async fn eventually(mut cond: impl FnMut() -> bool) {
    within(async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
}

/// Sends a hand-written upgrade request for `path` on an open TCP
/// connection and reads the response head; returns the status and the
/// stream (a raw WebSocket after a 101: it never answers pings or closes).
pub async fn raw_upgrade_on(mut tcp: TcpStream, addr: SocketAddr, path: &str) -> (u16, TcpStream) {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    within(tcp.write_all(request.as_bytes())).await.expect("write the upgrade request");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(within(tcp.read_u8()).await.expect("read the response head"));
        assert!(head.len() < 8192, "response head too long");
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status line");
    (status, tcp)
}

/// The path of an example binary built by `cargo test` next to this test.
pub fn example_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let target = exe.parent().and_then(|deps| deps.parent()).expect("target dir");
    let path = target.join("examples").join(name);
    assert!(path.exists(), "{} is missing: run `cargo build --example {name}`", path.display());
    path
}

// ---------------------------------------------------------------- /metrics

/// One metric sample: name and labels (sorted, so label order in the text
/// output does not matter).
pub type Series = (String, BTreeMap<String, String>);

/// Parses the Prometheus text format (comments skipped; label values may
/// hold escaped quotes, commas and braces).
pub fn parse_metrics(text: &str) -> BTreeMap<Series, f64> {
    let mut samples = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let malformed = |what: &str| -> ! { panic!("malformed sample ({what}): {line}") };
        let name_end = line.find(['{', ' ']).unwrap_or_else(|| malformed("no value"));
        let mut labels = BTreeMap::new();
        let mut rest = line[name_end..].chars();
        if line[name_end..].starts_with('{') {
            rest.next();
            while !rest.as_str().starts_with('}') {
                let key: String = rest.by_ref().take_while(|c| *c != '=').collect();
                if rest.next() != Some('"') {
                    malformed("unquoted label value");
                }
                let mut value = String::new();
                loop {
                    match rest.next().unwrap_or_else(|| malformed("unterminated label value")) {
                        '\\' => match rest.next().unwrap_or_else(|| malformed("dangling escape")) {
                            'n' => value.push('\n'),
                            c => value.push(c),
                        },
                        '"' => break,
                        c => value.push(c),
                    }
                }
                labels.insert(key, value);
                if rest.as_str().starts_with(',') {
                    rest.next();
                }
            }
            rest.next();
        }
        let value = rest.as_str().split_whitespace().next().and_then(|v| v.parse().ok());
        let value = value.unwrap_or_else(|| malformed("bad value"));
        assert!(samples.insert((line[..name_end].to_owned(), labels), value).is_none(), "duplicate sample: {line}");
    }
    samples
}

/// The value of the sample `name` with exactly `labels` (in any order).
pub fn sample(samples: &BTreeMap<Series, f64>, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let labels = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    samples.get(&(name.to_owned(), labels)).copied()
}

/// GET `path` with `Connection: close`; returns the status and the body.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    http_exchange(addr, &get(path)).await
}

/// GETs `/metrics` (same port as the WebSocket server) and parses it.
pub async fn scrape(addr: SocketAddr) -> BTreeMap<Series, f64> {
    let (status, body) = http_get(addr, "/metrics").await;
    assert_eq!(status, 200, "GET /metrics: {body}");
    parse_metrics(&body)
}

// ---------------------------------------------------------------- embedding, processes

/// A port that was free a moment ago on 127.0.0.1 (for example processes,
/// which bind their own).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// Waits until something listens on `addr`.
pub async fn wait_listening(addr: SocketAddr) {
    within(async {
        while TcpStream::connect(addr).await.is_err() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
}

/// Serves an axum router on 127.0.0.1 with an ephemeral port, with connect
/// info (the client addresses wirehub's per-IP caps need).
pub async fn serve_axum(router: axum::Router) -> SocketAddr {
    let listener = within(tokio::net::TcpListener::bind("127.0.0.1:0")).await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
    addr
}

/// Opens a WebSocket client with extra request headers; a refused upgrade
/// is `Err(status)`.
pub async fn try_connect(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Result<Client, u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}{path}").into_client_request().expect("a request");
    for (name, value) in headers {
        let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes()).expect("header name");
        request.headers_mut().insert(name, value.parse().expect("header value"));
    }
    match within(tokio_tungstenite::connect_async(request)).await {
        Ok((ws, _)) => Ok(ws),
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("connect to {path} failed: {e}"),
    }
}

/// Sends a raw HTTP request (with `Connection: close`) and returns the
/// status and the body.
pub async fn http_exchange(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut tcp = within(TcpStream::connect(addr)).await.expect("tcp connect");
    within(tcp.write_all(request.as_bytes())).await.expect("write request");
    let mut raw = Vec::new();
    within(tcp.read_to_end(&mut raw)).await.expect("read to EOF");
    let text = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("response head");
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status line");
    (status, body.to_owned())
}

/// A POST of a JSON body.
pub fn post_json(path: &str, json: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{json}",
        json.len()
    )
}

/// An identity named by the upgrade's `?user=` query parameter.
pub struct User(pub String);

impl wirehub::Principal for User {
    fn principal(&self) -> &str {
        &self.0
    }
}

/// A validator: the identity `?user=` names, or 401 without one.
pub fn user_of(hs: &wirehub::Handshake) -> Result<User, wirehub::Reject> {
    hs.query("user").map(|name| User(name.to_owned())).ok_or_else(|| wirehub::Reject::unauthorized("user required"))
}

pub mod redis;
