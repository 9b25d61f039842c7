//! Liveness: heartbeats, idle and write timeouts, the handshake timeout,
//! app-level pings, and the open/close hooks (on_open before the first
//! message, on_close exactly once with the right reason).
//!
//! Every route here lives under `/l/`, and each test uses its own route(s),
//! so that the hook records of one test cannot be mistaken for another's.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use common::{connect, eventually, expect_close, recv, recv_text, send, spawn_prefix, within, Client};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame as WsCloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::MaybeTlsStream;
use wirehub::prelude::*;
use wirehub::SendError;

const PREFIX: &str = "/l/";

// ---------------------------------------------------------------------------
// Hook records: what on_open / on_close saw, per connection.
// ---------------------------------------------------------------------------

/// (route pattern, peer address, connection id). Connection ids are only
/// unique per server, so the peer address (the client's local address)
/// tells the connections of concurrently running tests apart.
type Key = (&'static str, SocketAddr, ConnId);

#[derive(Debug, Default, Clone)]
struct Record {
    opens: usize,
    /// Set by `slow_open` once it finished.
    open_done: bool,
    closes: Vec<CloseReason>,
    /// What `Conn::close_reason` said inside on_close, for each close.
    reasons_seen: Vec<Option<CloseReason>>,
    closed_at: Option<Instant>,
    /// Set by `flood`'s sender task with the error that ended it.
    flood_ended: Option<SendError>,
}

static EVENTS: Mutex<BTreeMap<Key, Record>> = Mutex::new(BTreeMap::new());

fn events() -> MutexGuard<'static, BTreeMap<Key, Record>> {
    EVENTS.lock().unwrap_or_else(|p| p.into_inner())
}

fn key(conn: &Conn) -> Key {
    (conn.route(), conn.peer_addr(), conn.id())
}

async fn opened(conn: Conn) {
    events().entry(key(&conn)).or_default().opens += 1;
}

async fn closed(conn: Conn, reason: CloseReason) {
    let mut events = events();
    let record = events.entry(key(&conn)).or_default();
    record.reasons_seen.push(conn.close_reason());
    record.closes.push(reason);
    record.closed_at = Some(Instant::now());
}

/// on_open that takes its time, then marks itself done and greets the peer.
async fn slow_open(conn: Conn) {
    opened(conn.clone()).await;
    // Widens the window in which a handler racing the hook would run.
    tokio::time::sleep(Duration::from_millis(50)).await;
    events().entry(key(&conn)).or_default().open_done = true;
    conn.send("welcome").await.expect("queue the welcome message");
}

/// on_open that floods the peer with 1 MiB binaries until a send fails,
/// then records how it ended.
async fn flood(conn: Conn) {
    opened(conn.clone()).await;
    let chunk = Bytes::from(vec![0x5a_u8; 1 << 20]);
    tokio::spawn(async move {
        let error = loop {
            if let Err(e) = conn.send(Message::binary(chunk.clone())).await {
                break e;
            }
        };
        events().entry(key(&conn)).or_default().flood_ended = Some(error);
    });
}

/// The records of the connections from `peer` on `route`.
fn records_of(route: &str, peer: SocketAddr) -> Vec<(ConnId, Record)> {
    events()
        .iter()
        .filter(|((r, p, _), _)| *r == route && *p == peer)
        .map(|((_, _, id), rec)| (*id, rec.clone()))
        .collect()
}

fn records_of_route(route: &str) -> Vec<(Key, Record)> {
    events().iter().filter(|((r, _, _), _)| *r == route).map(|(k, rec)| (*k, rec.clone())).collect()
}

/// Waits for the on_close of the connection from `peer` on `route`, checks
/// that it opened once and closed once, and returns the reason and when.
async fn closed_once(route: &str, peer: SocketAddr) -> (CloseReason, Instant) {
    eventually(|| records_of(route, peer).iter().any(|(_, r)| !r.closes.is_empty())).await;
    // Not a synchronisation: a window in which a second on_close would show.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let records = records_of(route, peer);
    assert_eq!(records.len(), 1, "one connection from {peer} on {route}: {records:?}");
    let (_, record) = &records[0];
    assert_eq!(record.opens, 1, "on_open ran once: {record:?}");
    assert_eq!(record.closes.len(), 1, "on_close ran once: {record:?}");
    assert_eq!(record.reasons_seen, vec![Some(record.closes[0].clone())], "Conn::close_reason agrees with on_close");
    (record.closes[0].clone(), record.closed_at.expect("closed_at is set with the close"))
}

// ---------------------------------------------------------------------------
// Routes.
// ---------------------------------------------------------------------------

#[ws_route("/l/hb/drop", heartbeat = "100ms", heartbeat_timeout = "100ms", on_open = opened, on_close = closed)]
async fn hb_drop(text: String) -> String {
    text
}

/// on_open that panics.
async fn panicking_open(conn: Conn) {
    opened(conn).await;
    panic!("on_open panicking on purpose");
}

#[ws_route("/l/open-panic", on_open = panicking_open, on_close = closed)]
async fn open_panic(text: String) -> String {
    text
}

#[ws_route("/l/hb/short", heartbeat = "300ms", heartbeat_timeout = "100ms", on_open = opened, on_close = closed)]
async fn hb_short(text: String) -> String {
    text
}

#[ws_route("/l/hb/rtt", heartbeat = "50ms", heartbeat_timeout = "300ms", on_open = opened, on_close = closed)]
async fn hb_rtt(conn: Conn, text: String) -> String {
    match (text.as_str(), conn.rtt()) {
        ("rtt", None) => "none".to_owned(),
        ("rtt", Some(rtt)) => format!("some:{}", rtt.as_micros()),
        _ => format!("unknown command {text:?}"),
    }
}

#[ws_route("/l/app", app_ping = "ping", on_open = opened, on_close = closed)]
async fn app_ping(text: String) -> String {
    format!("handler:{text}")
}

/// Pings every 50 ms; pongs (the tungstenite client answers them) count as
/// activity, so a reading client is never idle.
#[ws_route("/l/idle/pings", idle_timeout = "400ms", idle_counts_pings = true, heartbeat = "50ms")]
async fn idle_pings(text: String) -> String {
    text
}

/// The same without `idle_counts_pings`: only data messages count.
#[ws_route("/l/idle/data", idle_timeout = "400ms", heartbeat = "50ms")]
async fn idle_data(text: String) -> String {
    text
}

/// No heartbeat here, whatever the app's default.
#[ws_route("/l/hb/off", heartbeat = "off")]
async fn hb_off(text: String) -> String {
    text
}

#[ws_route("/l/idle", idle_timeout = "150ms", on_open = opened, on_close = closed)]
async fn idle(text: String) -> String {
    text
}

#[ws_route("/l/flood", write_timeout = "200ms", on_open = flood, on_close = closed)]
async fn flooded(text: String) -> String {
    text
}

#[ws_route("/l/close", idle_timeout = "100ms", close_timeout = "150ms", on_open = opened, on_close = closed)]
async fn close_timeout_target(text: String) -> String {
    text
}

#[ws_route("/l/reset", on_open = opened, on_close = closed)]
async fn reset_target(text: String) -> String {
    text
}

#[ws_route("/l/slow", on_open = opened, on_close = closed)]
async fn slowloris_target(text: String) -> String {
    text
}

#[ws_route("/l/peer", on_open = opened, on_close = closed)]
async fn peer_close(text: String) -> String {
    text
}

#[ws_route("/l/panic", on_open = opened, on_close = closed)]
async fn panics(text: String) -> String {
    if text == "boom" {
        panic!("handler panicked on purpose");
    }
    text
}

#[ws_route("/l/err", on_open = opened, on_close = closed)]
async fn fails(text: String) -> Result<String, String> {
    if text == "fail" {
        Err("failed on purpose".to_owned())
    } else {
        Ok(text)
    }
}

#[ws_route("/l/down", on_open = opened, on_close = closed)]
async fn shutdown_target(text: String) -> String {
    text
}

#[ws_route("/l/order", on_open = slow_open, on_close = closed)]
async fn order(conn: Conn, text: String) -> String {
    let done = events().get(&key(&conn)).is_some_and(|r| r.open_done);
    format!("{text}: open_done={done} state={:?}", conn.state())
}

#[ws_route("/l/many", heartbeat = "50ms", heartbeat_timeout = "2s", on_open = opened, on_close = closed)]
async fn many(text: String) -> String {
    text
}

// ---------------------------------------------------------------------------
// Client helpers.
// ---------------------------------------------------------------------------

/// The client's local address: the peer address the server sees.
fn local(ws: &Client) -> SocketAddr {
    match ws.get_ref() {
        MaybeTlsStream::Plain(tcp) => tcp.local_addr().expect("local addr"),
        _ => unreachable!("the tests use plain TCP"),
    }
}

/// Reads until the stream ends (answering a close, flushing what is queued).
async fn drain(ws: &mut Client) {
    within(async { while let Some(Ok(_)) = ws.next().await {} }).await;
}

/// Closes with 1000 and waits for the server's answer and the end of the stream.
async fn close_client(ws: &mut Client) {
    let frame = WsCloseFrame { code: WsCloseCode::Normal, reason: "bye".into() };
    within(ws.close(Some(frame))).await.expect("send close");
    drain(ws).await;
}

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// Opens a raw TCP connection and upgrades it by hand. Returns the stream,
/// the instant before the request was sent, and the instant the 101 arrived.
async fn raw_upgrade(addr: SocketAddr, path: &str) -> (TcpStream, Instant, Instant) {
    let requested = Instant::now();
    let mut tcp = within(TcpStream::connect(addr)).await.expect("tcp connect");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    within(tcp.write_all(request.as_bytes())).await.expect("write upgrade request");
    // One byte at a time, so no frame byte after the head is consumed.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(within(tcp.read_u8()).await.expect("read the response head"));
        assert!(head.len() < 8192, "response head too long");
    }
    let upgraded = Instant::now();
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101 "), "expected 101, got {head}");
    assert!(head.contains(&format!("sec-websocket-accept: {}", ACCEPT.to_ascii_lowercase())), "bad accept key: {head}");
    (tcp, requested, upgraded)
}

/// Reads one server frame (servers never mask): `(opcode, payload)`, or
/// `None` when the connection ended (EOF or reset).
async fn read_frame(tcp: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut head = [0u8; 2];
    tcp.read_exact(&mut head).await.ok()?;
    assert_eq!(head[1] & 0x80, 0, "a server frame must not be masked");
    let len = match head[1] & 0x7f {
        126 => u64::from(tcp.read_u16().await.ok()?),
        127 => tcp.read_u64().await.ok()?,
        n => u64::from(n),
    };
    let mut payload = vec![0u8; usize::try_from(len).expect("frame length fits usize")];
    tcp.read_exact(&mut payload).await.ok()?;
    Some((head[0] & 0x0f, payload))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `wirehub_connections_closed_total` of `route` from a /metrics scrape, by reason.
async fn closed_total(addr: SocketAddr, route: &str) -> BTreeMap<String, f64> {
    let by_reason: BTreeMap<String, f64> = common::scrape(addr)
        .await
        .into_iter()
        .filter(|((name, labels), _)| {
            name == "wirehub_connections_closed_total" && labels.get("route").map(String::as_str) == Some(route)
        })
        .filter_map(|((_, mut labels), value)| Some((labels.remove("reason")?, value)))
        .collect();
    assert!(!by_reason.is_empty(), "no wirehub_connections_closed_total for {route}");
    by_reason
}

// ---------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------

/// A peer that completes the handshake and then never answers a ping is
/// dropped after heartbeat + heartbeat_timeout (200 ms), not before.
#[tokio::test]
async fn heartbeat_drops_a_peer_that_never_pongs() {
    silent_peer_is_dropped_at("/l/hb/drop", ms(200)).await;
}

/// With a timeout shorter than the interval, the drop comes at interval +
/// timeout (400 ms), not at the ping tick after it (600 ms).
#[tokio::test]
async fn heartbeat_drop_is_not_late_by_an_interval() {
    silent_peer_is_dropped_at("/l/hb/short", ms(400)).await;
}

/// Upgrades on `route`, never answers, and checks that the server drops the
/// connection `deadline` (heartbeat + heartbeat_timeout) after the request,
/// well before the next ping tick.
async fn silent_peer_is_dropped_at(route: &'static str, deadline: Duration) {
    let server = spawn_prefix(PREFIX, App::new()).await;
    let (mut tcp, requested, upgraded) = raw_upgrade(server.local_addr(), route).await;
    let peer = tcp.local_addr().expect("local addr");
    let mut pings = 0;
    while let Some((opcode, payload)) = within(read_frame(&mut tcp)).await {
        match opcode {
            0x9 => {
                assert_eq!(payload.len(), 8, "heartbeat pings carry an 8-byte timestamp");
                pings += 1;
            }
            0x8 => {} // a close frame before the drop is allowed
            other => panic!("unexpected frame with opcode {other:#x}"),
        }
    }
    let since_request = requested.elapsed();
    let since_upgrade = upgraded.elapsed();
    // The server's deadline counts from before its 101 (so after `requested`).
    assert!(since_request >= deadline - ms(5), "dropped after {since_request:?}, before heartbeat + timeout");
    assert!(since_upgrade < deadline + ms(190), "dropped only after {since_upgrade:?} (deadline {deadline:?})");
    assert!(pings >= 1, "the server pinged before dropping");

    let (reason, _) = closed_once(route, peer).await;
    assert_eq!(reason, CloseReason::HeartbeatTimeout);
    eventually(|| server.hub().connections() == 0).await;
}

/// A client that keeps reading (tungstenite answers pings) survives many
/// intervals, and the server measures a round-trip time.
#[tokio::test]
async fn a_client_that_pongs_stays_connected_and_rtt_is_measured() {
    let server = spawn_prefix(PREFIX, App::new()).await;
    let mut ws = connect(server.local_addr(), "/l/hb/rtt").await;
    let peer = local(&ws);

    // Handled before the first ping could even be answered: no rtt yet.
    send(&mut ws, "rtt").await;
    assert_eq!(recv_text(&mut ws).await, "none");

    let start = Instant::now();
    let mut pings = 0;
    while pings < 10 {
        match within(ws.next()).await {
            Some(Ok(WsMessage::Ping(payload))) => {
                assert_eq!(payload.len(), 8);
                pings += 1;
            }
            other => panic!("expected only pings, got {other:?}"),
        }
    }
    let elapsed = start.elapsed();
    // Longer than heartbeat + heartbeat_timeout (350 ms): a client that did
    // not pong would have been dropped by now.
    assert!(elapsed >= ms(400), "10 pings at 50 ms took only {elapsed:?}");
    assert_eq!(server.hub().connections(), 1);
    assert!(records_of("/l/hb/rtt", peer).iter().all(|(_, r)| r.closes.is_empty()), "closed while ponging");

    send(&mut ws, "rtt").await;
    let reply = recv_text(&mut ws).await;
    let micros: u64 = reply
        .strip_prefix("some:")
        .unwrap_or_else(|| panic!("expected an rtt, got {reply:?}"))
        .parse()
        .expect("rtt in microseconds");
    assert!(micros < 1_000_000, "rtt of {micros} µs on loopback");

    close_client(&mut ws).await;
    let (reason, _) = closed_once("/l/hb/rtt", peer).await;
    assert_eq!(reason, CloseReason::Peer { code: Some(CloseCode::Normal) });
    eventually(|| server.hub().connections() == 0).await;
}

/// `app_ping = "ping"`: the runtime answers the text "ping" with the default
/// app pong, without calling the handler; other texts reach the handler.
#[tokio::test]
async fn app_ping_is_answered_without_the_handler() {
    let server = spawn_prefix(PREFIX, App::new()).await;
    let mut ws = connect(server.local_addr(), "/l/app").await;
    let peer = local(&ws);

    send(&mut ws, "ping").await;
    assert_eq!(recv_text(&mut ws).await, r#"{"type":"pong"}"#);
    send(&mut ws, "ping").await;
    send(&mut ws, "hello").await;
    send(&mut ws, "ping!").await;
    assert_eq!(recv_text(&mut ws).await, r#"{"type":"pong"}"#);
    assert_eq!(recv_text(&mut ws).await, "handler:hello");
    assert_eq!(recv_text(&mut ws).await, "handler:ping!");

    close_client(&mut ws).await;
    let (reason, _) = closed_once("/l/app", peer).await;
    assert_eq!(reason, CloseReason::Peer { code: Some(CloseCode::Normal) });
}

/// `idle_timeout = "150ms"`: a silent client gets 1000 "idle ...", a client
/// sending data every 50 ms is kept, then closed 150 ms after it stops.
#[tokio::test]
async fn idle_timeout_closes_silent_clients_only() {
    let server = spawn_prefix(PREFIX, App::new()).await;
    let addr = server.local_addr();

    let silent = async {
        let start = Instant::now();
        let mut ws = connect(addr, "/l/idle").await;
        let peer = local(&ws);
        let (code, reason) = expect_close(&mut ws).await;
        let elapsed = start.elapsed();
        drain(&mut ws).await;
        (peer, code, reason, elapsed)
    };
    let active = async {
        let mut ws = connect(addr, "/l/idle").await;
        let peer = local(&ws);
        let start = Instant::now();
        let mut last_send = start;
        for n in 0..9 {
            let gap = last_send.elapsed();
            last_send = Instant::now();
            send(&mut ws, format!("tick {n}")).await;
            match recv(&mut ws).await {
                WsMessage::Text(text) => assert_eq!(text.as_str(), format!("tick {n}")),
                other => panic!("tick {n}: expected the echo, got {other:?} ({gap:?} after the previous message)"),
            }
            if n < 8 {
                // The scenario: one data message every ~50 ms.
                tokio::time::sleep(ms(50)).await;
            }
        }
        let open_for = start.elapsed();
        let (code, reason) = expect_close(&mut ws).await;
        let quiet = last_send.elapsed();
        drain(&mut ws).await;
        (peer, open_for, code, reason, quiet)
    };
    let ((s_peer, s_code, s_reason, s_elapsed), (a_peer, a_open_for, a_code, a_reason, a_quiet)) =
        tokio::join!(silent, active);

    assert_eq!(s_code, 1000);
    assert!(s_reason.contains("idle"), "reason {s_reason:?}");
    assert!(s_elapsed >= ms(145), "silent client closed after {s_elapsed:?}");
    assert!(s_elapsed < ms(1500), "silent client closed only after {s_elapsed:?}");

    assert!(a_open_for >= ms(400), "the active client was open {a_open_for:?}");
    assert_eq!(a_code, 1000);
    assert!(a_reason.contains("idle"), "reason {a_reason:?}");
    assert!(a_quiet >= ms(145), "active client closed {a_quiet:?} after its last message");
    assert!(a_quiet < ms(1500), "active client closed only {a_quiet:?} after its last message");

    for peer in [s_peer, a_peer] {
        let (reason, _) = closed_once("/l/idle", peer).await;
        assert_eq!(reason, CloseReason::IdleTimeout);
    }
    eventually(|| server.hub().connections() == 0).await;
}

/// A peer that reads the flood for a while, then stops reading while the
/// server keeps writing megabytes, is dropped by `write_timeout = "200ms"`:
/// not before the write timeout (counted from the upgrade request: the write
/// that times out started after it), and at most write_timeout + 600 ms after its
/// last read (loopback socket buffers fill within milliseconds; the rest is
/// slack for a loaded 2-core machine). The drop is counted once under
/// reason="write_timeout", and the flood's sender, blocked on the full
/// outbound queue, gets `Err(Closed)` instead of waiting forever.
#[tokio::test]
async fn write_timeout_drops_a_peer_that_stops_reading() {
    const WRITE_TIMEOUT: Duration = Duration::from_millis(200);
    let server = spawn_prefix(PREFIX, App::new().config(|c| c.heartbeat = None)).await;
    let addr = server.local_addr();
    let (mut tcp, requested, _upgraded) = raw_upgrade(addr, "/l/flood").await;
    let peer = tcp.local_addr().expect("local addr");
    // The server is writing: two of its 1 MiB binaries arrive.
    for n in 0..2 {
        let (opcode, payload) = within(read_frame(&mut tcp)).await.expect("a flood frame before the drop");
        assert_eq!(opcode, 0x2, "flood frame {n}");
        assert_eq!(payload.len(), 1 << 20, "flood frame {n}");
    }
    let stopped = Instant::now();
    // From here on the client never reads: `tcp` stays open and untouched until the end.
    let (reason, closed_at) = closed_once("/l/flood", peer).await;
    assert_eq!(reason, CloseReason::WriteTimeout);
    let after_request = closed_at.duration_since(requested);
    assert!(after_request >= WRITE_TIMEOUT - ms(5), "dropped {after_request:?} after the upgrade request");
    let after_stop = closed_at.duration_since(stopped);
    assert!(
        after_stop < WRITE_TIMEOUT + ms(600),
        "dropped only {after_stop:?} after the peer stopped reading (write_timeout {WRITE_TIMEOUT:?})"
    );
    eventually(|| server.hub().connections() == 0).await;

    let closed = closed_total(addr, "/l/flood").await;
    assert_eq!(closed.get("write_timeout"), Some(&1.0), "closed_total by reason: {closed:?}");
    assert_eq!(closed.values().sum::<f64>(), 1.0, "counted under one reason only: {closed:?}");

    eventually(|| records_of("/l/flood", peer).iter().any(|(_, r)| r.flood_ended.is_some())).await;
    let records = records_of("/l/flood", peer);
    assert_eq!(records[0].1.flood_ended, Some(SendError::Closed), "how the flood's sender ended");
    drop(tcp);
}

/// `close_timeout = "150ms"`: after the idle timeout's Close frame, a peer
/// that reads it but never answers is dropped (TCP EOF) 150 ms later, not
/// before and not at the 3 s default; on_close runs once, with IdleTimeout,
/// only after that drop.
#[tokio::test]
async fn close_timeout_drops_a_peer_that_never_answers_our_close() {
    let server = spawn_prefix(PREFIX, App::new()).await;
    let (mut tcp, requested, _upgraded) = raw_upgrade(server.local_addr(), "/l/close").await;
    let peer = tcp.local_addr().expect("local addr");
    let (opcode, payload) = loop {
        match within(read_frame(&mut tcp)).await {
            Some((0x9, _)) => continue, // a heartbeat ping (not answered either)
            Some(frame) => break frame,
            None => panic!("the connection ended before a close frame"),
        }
    };
    let close_seen = Instant::now();
    assert_eq!(opcode, 0x8, "expected the idle timeout's close frame");
    assert!(payload.len() >= 2, "the close frame carries a code: {payload:?}");
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1000);
    let text = String::from_utf8_lossy(&payload[2..]);
    assert!(text.contains("idle"), "close reason {text:?}");
    // The server's idle clock starts after the request (and, under load,
    // possibly after the client has read the 101: hence `requested`).
    let idle_for = close_seen.duration_since(requested);
    assert!(idle_for >= ms(95), "closed for idleness {idle_for:?} after the request");

    // Never answered: the next thing is the end of the stream.
    let next = within(read_frame(&mut tcp)).await;
    let waited = close_seen.elapsed();
    assert!(next.is_none(), "a frame after the close frame: {next:?}");
    assert!(waited >= ms(130), "dropped {waited:?} after the close frame, before close_timeout");
    assert!(waited < ms(700), "dropped only {waited:?} after the close frame (close_timeout 150 ms)");

    let (reason, closed_at) = closed_once("/l/close", peer).await;
    assert_eq!(reason, CloseReason::IdleTimeout);
    let hook_after = closed_at.duration_since(close_seen);
    assert!(hook_after >= ms(130), "on_close ran {hook_after:?} after the close frame, before the drop");
    eventually(|| server.hub().connections() == 0).await;
    drop(tcp);
}

/// A peer that resets its TCP connection (SO_LINGER 0, then close: an RST,
/// no close frame) ends the connection with an I/O error: on_close once
/// with Io, counted as io_error, and the hub forgets the connection.
#[tokio::test]
async fn io_error_a_reset_peer_is_closed_once_with_io() {
    let server = spawn_prefix(PREFIX, App::new()).await;
    let addr = server.local_addr();
    let (tcp, _requested, _upgraded) = raw_upgrade(addr, "/l/reset").await;
    let peer = tcp.local_addr().expect("local addr");
    // Reset an open connection (registered in the hub, on_open done).
    eventually(|| records_of("/l/reset", peer).iter().any(|(_, r)| r.opens == 1)).await;
    assert_eq!(server.hub().connections(), 1);
    tcp.set_zero_linger().expect("SO_LINGER 0");
    drop(tcp);

    let (reason, _) = closed_once("/l/reset", peer).await;
    assert_eq!(reason, CloseReason::Io);
    eventually(|| server.hub().connections() == 0).await;
    let closed = closed_total(addr, "/l/reset").await;
    assert_eq!(closed.get("io_error"), Some(&1.0), "closed_total by reason: {closed:?}");
    assert_eq!(closed.values().sum::<f64>(), 1.0, "counted under one reason only: {closed:?}");
}

/// `handshake_timeout`: a client sending half a request head is cut off
/// after 200 ms, not before, and gets no response.
#[tokio::test]
async fn handshake_timeout_cuts_off_a_slowloris() {
    let app = App::new().config(|c| c.handshake_timeout = ms(200));
    let server = spawn_prefix(PREFIX, app).await;
    let start = Instant::now();
    let mut tcp = within(TcpStream::connect(server.local_addr())).await.expect("tcp connect");
    let half = "GET /l/slow HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n";
    within(tcp.write_all(half.as_bytes())).await.expect("write half a head");
    let mut received = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match within(tcp.read(&mut chunk)).await {
            Ok(0) | Err(_) => break,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
        }
    }
    let elapsed = start.elapsed();
    assert!(elapsed >= ms(195), "cut off after {elapsed:?}, before the handshake timeout");
    assert!(elapsed < ms(2000), "cut off only after {elapsed:?}");
    assert!(received.is_empty(), "unexpected response: {:?}", String::from_utf8_lossy(&received));
    assert_eq!(server.hub().connections(), 0);
}

/// A peer's close handshake: on_close once with Peer { code: 1000 }.
#[tokio::test]
async fn on_close_peer_close() {
    let server = spawn_prefix(PREFIX, App::new()).await;
    let mut ws = connect(server.local_addr(), "/l/peer").await;
    let peer = local(&ws);
    send(&mut ws, "hi").await;
    assert_eq!(recv_text(&mut ws).await, "hi");
    close_client(&mut ws).await;
    let (reason, _) = closed_once("/l/peer", peer).await;
    assert_eq!(reason, CloseReason::Peer { code: Some(CloseCode::Normal) });
    eventually(|| server.hub().connections() == 0).await;
}

/// A panicking handler: the client gets 1011, on_close once with Panic.
#[tokio::test]
async fn on_close_handler_panic() {
    let server = spawn_prefix(PREFIX, App::new()).await;
    let mut ws = connect(server.local_addr(), "/l/panic").await;
    let peer = local(&ws);
    send(&mut ws, "fine").await;
    assert_eq!(recv_text(&mut ws).await, "fine");
    send(&mut ws, "boom").await;
    let (code, reason) = expect_close(&mut ws).await;
    drain(&mut ws).await;
    assert_eq!(code, 1011);
    assert!(reason.contains("panic"), "reason {reason:?}");
    let (reason, _) = closed_once("/l/panic", peer).await;
    assert_eq!(reason, CloseReason::Panic);
    eventually(|| server.hub().connections() == 0).await;
}

/// A handler returning Err: the client gets 1011 with the error text,
/// on_close once with HandlerError.
#[tokio::test]
async fn on_close_handler_error() {
    let server = spawn_prefix(PREFIX, App::new()).await;
    let mut ws = connect(server.local_addr(), "/l/err").await;
    let peer = local(&ws);
    send(&mut ws, "ok").await;
    assert_eq!(recv_text(&mut ws).await, "ok");
    send(&mut ws, "fail").await;
    assert_eq!(expect_close(&mut ws).await, (1011, "failed on purpose".to_owned()));
    drain(&mut ws).await;
    let (reason, _) = closed_once("/l/err", peer).await;
    assert_eq!(reason, CloseReason::HandlerError);
    eventually(|| server.hub().connections() == 0).await;
}

/// A graceful shutdown: every client gets 1001, every on_close runs once
/// with Shutdown.
#[tokio::test]
async fn on_close_server_shutdown() {
    let server = spawn_prefix(PREFIX, App::new().config(|c| c.drain_timeout = Duration::from_secs(2))).await;
    let hub = server.hub().clone();
    let addr = server.local_addr();
    let mut a = connect(addr, "/l/down").await;
    let mut b = connect(addr, "/l/down").await;
    let peers = [local(&a), local(&b)];
    for ws in [&mut a, &mut b] {
        send(ws, "here").await;
        assert_eq!(recv_text(ws).await, "here");
    }
    assert_eq!(hub.connections(), 2);

    server.shutdown_handle().shutdown();
    for ws in [&mut a, &mut b] {
        let (code, _reason) = expect_close(ws).await;
        assert_eq!(code, 1001);
        drain(ws).await;
    }
    within(server.wait()).await.expect("server stops");
    assert_eq!(hub.connections(), 0);
    for peer in peers {
        let (reason, _) = closed_once("/l/down", peer).await;
        assert_eq!(reason, CloseReason::Shutdown);
    }
}

/// on_open finishes before the first message is handled, even when the
/// message is already there and the hook takes its time.
#[tokio::test]
async fn on_open_runs_before_the_first_message() {
    let server = spawn_prefix(PREFIX, App::new()).await;
    let mut ws = connect(server.local_addr(), "/l/order").await;
    let peer = local(&ws);
    send(&mut ws, "first").await;
    send(&mut ws, "second").await;
    assert_eq!(recv_text(&mut ws).await, "welcome");
    assert_eq!(recv_text(&mut ws).await, "first: open_done=true state=Open");
    assert_eq!(recv_text(&mut ws).await, "second: open_done=true state=Open");
    close_client(&mut ws).await;
    let (reason, _) = closed_once("/l/order", peer).await;
    assert_eq!(reason, CloseReason::Peer { code: Some(CloseCode::Normal) });
}

/// 1000 connections with a 50 ms heartbeat stay open across several
/// intervals while their clients pong, then all close cleanly.
///
/// The heartbeat timeout is generous on purpose: in a debug build on a
/// shared 2-core machine, 20 000 pings a second need more CPU than the
/// process gets, so pings (and the reading of pongs) run late; a tight
/// timeout then drops peers that did answer (see the report). What this test
/// checks is scale: 1000 heartbeat timers firing, no spurious close, and a
/// clean close and cleanup of every connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_connections_survive_heartbeats_and_close_cleanly() {
    const N: usize = 1000;
    const PINGS: usize = 5;
    let server = spawn_prefix(PREFIX, App::new()).await;
    let addr = server.local_addr();
    let ready = Arc::new(AtomicUsize::new(0));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);

    let mut clients = Vec::with_capacity(N);
    for _ in 0..N {
        let ready = ready.clone();
        let mut stop = stop_rx.clone();
        clients.push(tokio::spawn(async move {
            let url = format!("ws://{addr}/l/many");
            let config = WebSocketConfig::default().read_buffer_size(4096);
            let (mut ws, _) =
                within(tokio_tungstenite::connect_async_with_config(url, Some(config), true)).await.expect("connects");
            let peer = local(&ws);
            let mut pings = 0;
            loop {
                tokio::select! {
                    frame = ws.next() => match frame {
                        // Reading again flushes tungstenite's automatic pong.
                        Some(Ok(WsMessage::Ping(_))) => {
                            pings += 1;
                            if pings == PINGS {
                                ready.fetch_add(1, Ordering::AcqRel);
                            }
                        }
                        other => panic!("client {peer}: expected only pings, got {other:?}"),
                    },
                    _ = stop.wait_for(|stop| *stop) => break,
                }
            }
            assert!(pings >= PINGS);
            close_client(&mut ws).await;
            peer
        }));
    }

    eventually(|| ready.load(Ordering::Acquire) == N).await;
    assert_eq!(server.hub().connections(), N);
    let early: Vec<_> = records_of_route("/l/many").into_iter().filter(|(_, r)| !r.closes.is_empty()).collect();
    assert!(early.is_empty(), "connections closed while ponging: {early:?}");

    stop_tx.send_replace(true);
    let mut peers = Vec::with_capacity(N);
    for client in clients {
        peers.push(within(client).await.expect("client task"));
    }
    eventually(|| server.hub().connections() == 0).await;
    eventually(|| records_of_route("/l/many").iter().filter(|(_, r)| !r.closes.is_empty()).count() == N).await;
    // Not a synchronisation: a window in which a second on_close would show.
    tokio::time::sleep(ms(50)).await;

    let records = records_of_route("/l/many");
    assert_eq!(records.len(), N);
    for ((_, peer, id), record) in &records {
        assert!(peers.contains(peer), "record of an unknown peer {peer}");
        assert_eq!(record.opens, 1, "connection {id}: {record:?}");
        assert_eq!(record.closes, [CloseReason::Peer { code: Some(CloseCode::Normal) }], "connection {id}");
    }
}

/// A panicking on_open is a panic like a handler's: the connection closes
/// with 1011 (reason Panic, on_close once), and the server goes on serving.
#[tokio::test]
async fn a_panicking_on_open_closes_with_1011() {
    let server = spawn_prefix(PREFIX, App::new()).await;
    let mut ws = connect(server.local_addr(), "/l/open-panic").await;
    let peer = local(&ws);
    let (code, _) = expect_close(&mut ws).await;
    assert_eq!(code, 1011);
    let (reason, _) = closed_once("/l/open-panic", peer).await;
    assert_eq!(reason, CloseReason::Panic);
    let mut next = connect(server.local_addr(), "/l/app").await;
    send(&mut next, "still serving").await;
    assert_eq!(recv_text(&mut next).await, "handler:still serving");
}

/// `idle_counts_pings = true`: a client that only answers pings is not
/// idle; on the twin route without it, the same client is closed for
/// idleness. The second connection stays open past the first's close.
#[tokio::test]
async fn pongs_count_as_activity_only_when_configured() {
    let server = spawn_prefix(PREFIX, App::new()).await;
    let addr = server.local_addr();
    let mut counted = connect(addr, "/l/idle/pings").await;
    let mut data_only = connect(addr, "/l/idle/data").await;
    // Read (answering pings) on both until the data-only one is closed.
    let reader = async {
        loop {
            tokio::select! {
                m = counted.next() => match m {
                    Some(Ok(WsMessage::Ping(_))) => {}
                    other => panic!("the connection whose pongs count ended: {other:?}"),
                },
                m = data_only.next() => match m {
                    Some(Ok(WsMessage::Close(Some(frame)))) => return (u16::from(frame.code), frame.reason.to_string()),
                    Some(Ok(_)) => {}
                    other => panic!("expected the idle close, got {other:?}"),
                },
            }
        }
    };
    let (code, reason) = within(reader).await;
    assert_eq!(code, 1000);
    assert!(reason.contains("idle"), "{reason}");
    // Still serving well after 400 ms of no data.
    send(&mut counted, "still here").await;
    assert_eq!(recv_text(&mut counted).await, "still here");
}

/// `heartbeat = "off"` overrides an app-wide heartbeat: a client that never
/// answers pings outlives, unpinged, one on a route with the app's
/// heartbeat (50 ms + 50 ms), which is dropped.
#[tokio::test]
async fn heartbeat_off_on_a_route_overrides_the_app_default() {
    let app = App::new().config(|c| {
        c.heartbeat = Some(ms(50));
        c.heartbeat_timeout = ms(50);
    });
    let server = spawn_prefix(PREFIX, app).await;
    let addr = server.local_addr();
    let (mut off, _, _) = raw_upgrade(addr, "/l/hb/off").await;
    let (mut pinged, _, _) = raw_upgrade(addr, "/l/idle").await; // no heartbeat option: the app's
                                                                 // The pinged connection is dropped for not answering.
    while let Some((opcode, _)) = within(read_frame(&mut pinged)).await {
        assert!(matches!(opcode, 0x9 | 0x8), "unexpected opcode {opcode:#x}");
    }
    // Nothing arrived on the other one meanwhile, and it still serves.
    let mut probe = [0u8; 1];
    let pending = tokio::time::timeout(ms(1), off.peek(&mut probe)).await;
    assert!(pending.is_err(), "the route without heartbeat got a frame: {pending:?}");
    let echo = [0x81u8, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2]; // masked text "hi"
    within(off.write_all(&echo)).await.expect("write");
    let (opcode, payload) = within(read_frame(&mut off)).await.expect("the echo");
    assert_eq!((opcode, payload.as_slice()), (0x1, &b"hi"[..]));
}
