//! Hostile peers (issue 18), each over a real socket: forged pongs, fragments
//! held open, empty continuation floods, connection floods before the
//! upgrade, failed-auth floods, room and queue exhaustion, and the metric
//! series that exist before the first refusal. Routes live under `/sec/`.

mod common;
mod raw;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{eventually, http_get, http_status, sample, scrape, spawn_prefix, upgrade_get, within};
use raw::{Client, Data, Ended, Frame};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use wirehub::config::Rate;
use wirehub::prelude::*;
use wirehub::{App, Server};

#[ws_route("/sec/rtt", heartbeat = "off")]
async fn sec_rtt(conn: Conn, _t: String) -> String {
    format!("{:?}", conn.rtt())
}

#[ws_route("/sec/rtt-hb", heartbeat = "30ms")]
async fn sec_rtt_hb(conn: Conn, _t: String) -> String {
    format!("{:?}", conn.rtt().map(|_| "measured"))
}

#[ws_route("/sec/frag", heartbeat = "off", idle_counts_pings = true, idle_timeout = "1h")]
async fn sec_frag(t: String) -> String {
    t
}

#[ws_route("/sec/rooms")]
async fn sec_rooms(conn: Conn, room: String) -> String {
    conn.join(&room).to_string()
}

static VALIDATED: AtomicUsize = AtomicUsize::new(0);

fn validate(hs: &Handshake) -> Result<(), Reject> {
    VALIDATED.fetch_add(1, Ordering::SeqCst);
    match hs.query("token").as_deref() {
        Some("good") => Ok(()),
        _ => Err(Reject::unauthorized("bad token")),
    }
}

#[ws_route("/sec/auth", auth = validate)]
async fn sec_auth(t: String) -> String {
    t
}

static QUEUED: AtomicUsize = AtomicUsize::new(usize::MAX);

/// On "fill", another task queues 64 KiB messages for this connection (whose
/// peer never reads) until its outbound queue is full; `QUEUED` gets the bytes.
#[ws_route("/sec/queue", max_queue_bytes = "64KiB", heartbeat = "off")]
async fn sec_queue(conn: Conn, _t: String) {
    tokio::spawn(async move {
        let payload = Bytes::from(vec![0u8; 64 * 1024]);
        let mut queued = 0;
        while conn.try_send(Message::Binary(payload.clone())).is_ok() {
            queued += payload.len();
            tokio::task::yield_now().await;
        }
        QUEUED.store(queued, Ordering::SeqCst);
    });
}

async fn closed(addr: SocketAddr, route: &str, reason: &str) -> f64 {
    let samples = scrape(addr).await;
    sample(&samples, "wirehub_connections_closed_total", &[("route", route), ("reason", reason)]).unwrap_or(0.0)
}

async fn ask(client: &mut Client, text: &str) -> String {
    client.send(Frame::text(text)).await;
    match client.recv_data().await {
        Ok(Data::Text(t)) => String::from_utf8(t).expect("utf-8"),
        other => panic!("expected a text answer, got {other:?}"),
    }
}

// ------------------------------------------------------------ forged RTT

#[tokio::test]
async fn a_forged_pong_leaves_the_rtt_unset() {
    let server = spawn_prefix("/sec/rtt", App::new()).await;
    let mut client = Client::connect(server.local_addr(), "/sec/rtt").await;
    // A timestamp-shaped pong (what the old payload was), and a random one.
    client.send(Frame::pong(1u64.to_be_bytes())).await;
    client.send(Frame::pong(raw::random_bytes::<8>())).await;
    assert_eq!(ask(&mut client, "rtt?").await, "None");
}

#[tokio::test]
async fn the_pong_of_our_ping_measures_the_rtt_once() {
    let server = spawn_prefix("/sec/rtt-hb", App::new()).await;
    let mut client = Client::connect(server.local_addr(), "/sec/rtt-hb").await;
    let (first, second) = (ping(&mut client).await, ping(&mut client).await);
    assert_ne!(first, second, "each ping has its own payload");
    let gap = u64::from_be_bytes(second.clone().try_into().expect("8 bytes"))
        .wrapping_sub(u64::from_be_bytes(first.try_into().expect("8 bytes")));
    assert!(gap > 10_000_000, "the payload is not a clock: two pings 30 ms apart differ by {gap}");
    client.send(Frame::pong(second)).await;
    assert_eq!(ask(&mut client, "rtt?").await, "Some(\"measured\")");
}

async fn ping(client: &mut Client) -> Vec<u8> {
    loop {
        match client.recv_frame().await.expect("read") {
            Some((_, raw::PING, payload)) => return payload,
            Some(_) => continue,
            None => panic!("closed before a ping"),
        }
    }
}

// ------------------------------------------------------------ fragments

#[tokio::test]
async fn an_unfinished_fragmented_message_is_closed_even_if_the_peer_sends_pongs() {
    let app = App::new().config(|c| c.fragment_timeout = Duration::from_millis(200));
    let server = spawn_prefix("/sec/frag", app).await;
    let addr = server.local_addr();
    let mut client = Client::connect(addr, "/sec/frag").await;
    assert_eq!(ask(&mut client, "whole").await, "whole", "complete messages are served");
    client.send(Frame::text("par").fin(false)).await;
    for _ in 0..3 {
        client.send(Frame::pong(raw::random_bytes::<8>())).await;
    }
    match client.expect_close().await {
        Ended::Close(code, reason) => {
            assert_eq!(code, 1008, "{}", String::from_utf8_lossy(&reason));
        }
        Ended::Dropped => panic!("dropped without a close frame"),
    }
    eventually_async(|| async { closed(addr, "/sec/frag", "fragment_timeout").await == 1.0 }).await;
}

#[tokio::test]
async fn endless_empty_continuation_frames_are_closed_with_1008() {
    let server = spawn_prefix("/sec/frag", App::new()).await;
    let addr = server.local_addr();
    let mut client = Client::connect(addr, "/sec/frag").await;
    client.send(Frame::text("x").fin(false)).await;
    for _ in 0..1000 {
        if client.try_send(&Frame::continuation(Vec::new()).fin(false)).await.is_err() {
            break;
        }
    }
    assert_eq!(raw::expect_close_code(&mut client).await, Some(1008));
    eventually_async(|| async { closed(addr, "/sec/frag", "rate_limited").await == 1.0 }).await;
    // The server keeps serving everyone else.
    let mut other = Client::connect(addr, "/sec/frag").await;
    assert_eq!(ask(&mut other, "still here").await, "still here");
}

async fn eventually_async<F: std::future::Future<Output = bool>>(mut cond: impl FnMut() -> F) {
    within(async {
        while !cond().await {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

// ------------------------------------------------------------ before the upgrade

#[tokio::test]
async fn over_max_sockets_a_connection_gets_503_at_accept() {
    let app = App::new().config(|c| c.max_sockets = Some(2));
    let server = spawn_prefix("/sec/none", app).await;
    let addr = server.local_addr();
    let held = [connect(addr).await, connect(addr).await];
    let mut third = connect(addr).await;
    let mut answer = String::new();
    within(third.read_to_string(&mut answer)).await.expect("read the refusal");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    drop(held);
    // Once the held connections are gone, the server serves again.
    let metrics = within(async {
        loop {
            match http_get(addr, "/metrics").await {
                (200, body) => return body,
                _ => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    })
    .await;
    let samples = common::parse_metrics(&metrics);
    let refused = sample(&samples, "wirehub_handshakes_rejected_total", &[("route", "none"), ("reason", "limit")]);
    assert!(refused >= Some(1.0), "{refused:?}");
}

#[tokio::test]
async fn connections_faster_than_the_per_ip_rate_get_429() {
    let app = App::new().config(|c| c.handshake_rate_per_ip = Some(Rate { count: 3, per: Duration::from_secs(3600) }));
    let server = spawn_prefix("/sec/none", app).await;
    let addr = server.local_addr();
    for _ in 0..3 {
        assert_eq!(http_status(addr, &common::get("/healthz")).await, 200);
    }
    assert_eq!(http_status(addr, &common::get("/healthz")).await, 429);
}

#[tokio::test]
async fn failed_authentications_are_limited_per_ip() {
    let app = App::new().config(|c| c.failed_auth_per_ip = Some(Rate { count: 2, per: Duration::from_secs(3600) }));
    let server = spawn_prefix("/sec/auth", app).await;
    let addr = server.local_addr();
    let before = VALIDATED.load(Ordering::SeqCst);
    for _ in 0..2 {
        assert_eq!(http_status(addr, &upgrade_get("/sec/auth?token=bad")).await, 401);
    }
    // Even the right token: this address failed too often, and its
    // attempts no longer reach the validator.
    assert_eq!(http_status(addr, &upgrade_get("/sec/auth?token=good")).await, 429);
    assert_eq!(VALIDATED.load(Ordering::SeqCst) - before, 2);
}

async fn connect(addr: SocketAddr) -> TcpStream {
    within(TcpStream::connect(addr)).await.expect("tcp connect")
}

// ------------------------------------------------------------ rooms and queues

#[tokio::test]
async fn joins_past_max_rooms_per_conn_are_refused() {
    let server = spawn_prefix("/sec/rooms", App::new().config(|c| c.max_rooms_per_conn = 2)).await;
    let mut client = Client::connect(server.local_addr(), "/sec/rooms").await;
    for (room, joined) in [("a", "true"), ("b", "true"), ("a", "true"), ("c", "false")] {
        assert_eq!(ask(&mut client, room).await, joined, "join {room}");
    }
    assert_eq!(server.hub().rooms(), 2);
}

#[tokio::test]
async fn the_outbound_queue_of_a_peer_that_never_reads_is_bounded_in_bytes() {
    let server = spawn_prefix("/sec/queue", App::new()).await;
    let mut client = Client::connect(server.local_addr(), "/sec/queue").await;
    client.send(Frame::text("fill")).await;
    eventually(|| QUEUED.load(Ordering::SeqCst) != usize::MAX).await;
    // What the socket buffers, the write buffer and 64 KiB of queue take;
    // without the byte bound, 1024 messages of 64 KiB (64 MiB) would queue.
    let queued = QUEUED.load(Ordering::SeqCst);
    assert!(queued < 24 << 20, "{queued} bytes queued for a peer that never reads");
}

// ------------------------------------------------------------ metrics

#[tokio::test]
async fn refusal_series_exist_at_zero_before_the_first_refusal() {
    let server: Server = spawn_prefix("/sec/rooms", App::new()).await;
    let samples = scrape(server.local_addr()).await;
    for reason in ["bad_request", "upgrade_required", "auth", "origin", "limit"] {
        let labels = [("route", "/sec/rooms"), ("reason", reason)];
        assert_eq!(sample(&samples, "wirehub_handshakes_rejected_total", &labels), Some(0.0), "{reason}");
    }
    for reason in ["not_found", "limit"] {
        let labels = [("route", "none"), ("reason", reason)];
        assert_eq!(sample(&samples, "wirehub_handshakes_rejected_total", &labels), Some(0.0), "{reason}");
    }
}
