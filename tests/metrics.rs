//! The Prometheus endpoint over real sockets: exact counter values after a
//! scripted session (opens, messages by kind, an auth refusal, a heartbeat
//! timeout, a 404), the open gauge back at zero, label cardinality bounded
//! under many rooms, a user registry merged (and a name clash refused), a
//! moved or disabled endpoint, and `/healthz` answering 200 while serving and
//! 503 while draining.
//!
//! Every route of this file lives under `/m/`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{connect, eventually, get, http_head, http_status, recv, send, spawn_prefix, upgrade_get, within, Client};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use wirehub::prelude::*;
use wirehub::prometheus::{IntCounter, IntGauge, Registry};
use wirehub::Server;

const PREFIX: &str = "/m/";

// ---------------------------------------------------------------- handlers

/// Echoes text and binary messages.
#[ws_route("/m/echo")]
async fn m_echo(msg: Message) -> Option<Message> {
    match msg {
        Message::Text(_) | Message::Binary(_) => Some(msg),
        _ => None,
    }
}

async fn deny(_hs: &Handshake) -> Result<String, Reject> {
    Err(Reject::unauthorized("no"))
}

#[ws_route("/m/auth", auth = deny)]
async fn m_auth(text: String) -> String {
    text
}

#[ws_route("/m/hb", heartbeat = "50ms", heartbeat_timeout = "50ms")]
async fn m_hb(text: String) -> String {
    text
}

#[ws_route("/m/chat/{room}", broadcast = "chat:{room}")]
async fn m_chat(text: String) -> String {
    text
}

/// A route whose close handshake may take long (for the drain test).
#[ws_route("/m/hold", close_timeout = "5s")]
async fn m_hold(text: String) -> String {
    text
}

#[ws_route("/m/limited", max_connections = 1, rate = "10/s", burst = 1, protocols = ["v1"])]
async fn m_limited(text: String) -> String {
    text
}

static ONCE_CALLS: AtomicUsize = AtomicUsize::new(0);

/// Accepts the handshake, refuses every re-validation.
fn once(_hs: &Handshake) -> Result<String, Reject> {
    match ONCE_CALLS.fetch_add(1, Ordering::SeqCst) {
        0 => Ok("u-once".to_owned()),
        _ => Err(Reject::unauthorized("expired")),
    }
}

#[ws_route("/m/expiring", auth = once, reauth = "50ms")]
async fn m_expiring(text: String) -> String {
    text
}

// ---------------------------------------------------------------- exposition parsing

use common::{http_get, parse_metrics as parse, sample as value, scrape, Series};

/// Like [`value`], failing the test when the sample is absent.
fn must(samples: &BTreeMap<Series, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    value(samples, name, labels).unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
}

// ---------------------------------------------------------------- HTTP helpers

/// Scrapes until `cond` holds (bounded by the common limit); returns that scrape.
async fn scrape_until(addr: SocketAddr, mut cond: impl FnMut(&BTreeMap<Series, f64>) -> bool) -> BTreeMap<Series, f64> {
    within(async {
        loop {
            let samples = scrape(addr).await;
            if cond(&samples) {
                return samples;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
}

/// Sends one request on a kept-alive connection and reads one response
/// (head, then a `Content-Length` body).
async fn keep_alive_get(tcp: &mut TcpStream, path: &str) -> (u16, String) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    within(tcp.write_all(request.as_bytes())).await.expect("write request");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(within(tcp.read_u8()).await.expect("read the response head"));
        assert!(head.len() < 8192, "response head too long");
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status line");
    assert!(!head.contains("connection: close"), "the server closes the kept-alive connection: {head}");
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("content-length");
    let mut body = vec![0u8; length];
    within(tcp.read_exact(&mut body)).await.expect("read the body");
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A hand-written upgrade (this client never answers pings or closes).
async fn raw_upgrade(addr: SocketAddr, path: &str) -> TcpStream {
    let tcp = within(TcpStream::connect(addr)).await.expect("tcp connect");
    let (status, tcp) = common::raw_upgrade_on(tcp, addr, path).await;
    assert_eq!(status, 101, "expected a 101 for {path}");
    tcp
}

/// Reads one server frame: `(opcode, payload)`, or `None` at EOF/reset.
async fn read_frame(tcp: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut head = [0u8; 2];
    tcp.read_exact(&mut head).await.ok()?;
    let len = match head[1] & 0x7f {
        126 => u64::from(tcp.read_u16().await.ok()?),
        127 => tcp.read_u64().await.ok()?,
        n => u64::from(n),
    };
    let mut payload = vec![0u8; usize::try_from(len).expect("frame length")];
    tcp.read_exact(&mut payload).await.ok()?;
    Some((head[0] & 0x0f, payload))
}

/// Closes from the client side and waits for the end of the stream.
async fn hang_up(mut ws: Client) {
    within(ws.close(None)).await.expect("send close");
    while let Some(Ok(_)) = within(ws.next()).await {}
}

/// Sends `msg` and expects it back.
async fn echo(ws: &mut Client, msg: WsMessage) {
    send(ws, msg.clone()).await;
    assert_eq!(recv(ws).await, msg);
}

async fn server(app: App) -> Server {
    spawn_prefix(PREFIX, app.config(|c| c.heartbeat = None)).await
}

// ---------------------------------------------------------------- tests

/// After a scripted session the counters hold exact values, and the open
/// gauge returns to zero once everything closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_match_a_scripted_session() {
    let server = server(App::new()).await;
    let addr = server.local_addr();
    let echo_route = [("route", "/m/echo")];

    // Three clients: 5 text and 3 binary messages, each echoed.
    let mut c1 = connect(addr, "/m/echo").await;
    let mut c2 = connect(addr, "/m/echo").await;
    let mut c3 = connect(addr, "/m/echo").await;
    echo(&mut c1, WsMessage::text("a")).await;
    echo(&mut c1, WsMessage::text("b")).await;
    echo(&mut c1, WsMessage::binary(vec![1u8, 2])).await;
    for t in ["c", "d", "e"] {
        echo(&mut c2, WsMessage::text(t)).await;
    }
    echo(&mut c3, WsMessage::binary(vec![3u8])).await;
    echo(&mut c3, WsMessage::binary(vec![4u8, 5])).await;
    // One protocol ping, answered with a pong.
    send(&mut c1, WsMessage::Ping(vec![7u8].into())).await;
    match within(c1.next()).await {
        Some(Ok(WsMessage::Pong(payload))) => assert_eq!(payload.as_ref(), [7u8]),
        other => panic!("expected the pong, got {other:?}"),
    }

    let head = http_head(addr, &get("/metrics")).await.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-type: text/plain; version=0.0.4"), "Prometheus text format: {head}");
    let m = scrape(addr).await;
    assert_eq!(must(&m, "wirehub_connections_open", &echo_route), 3.0);
    assert_eq!(must(&m, "wirehub_connections_opened_total", &echo_route), 3.0);

    // One auth refusal.
    let url = format!("ws://{addr}/m/auth");
    match within(tokio_tungstenite::connect_async(url)).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|(_, r)| r.status())),
    }
    // One refused upgrade for an unknown path; a plain GET 404 (a browser's
    // favicon) is not a handshake and is not counted.
    assert_eq!(http_status(addr, &upgrade_get("/m/nothing/here/at/all")).await, 404);
    assert_eq!(http_status(addr, &get("/favicon.ico")).await, 404);

    // One heartbeat timeout: this client never answers pings.
    let mut silent = raw_upgrade(addr, "/m/hb").await;
    let mut pings = 0;
    while let Some((opcode, _)) = within(read_frame(&mut silent)).await {
        match opcode {
            0x9 => pings += 1,
            0x8 => {}
            other => panic!("unexpected opcode {other:#x}"),
        }
    }
    assert!(pings >= 1, "the server pinged before dropping the peer");

    for ws in [c1, c2, c3] {
        hang_up(ws).await;
    }
    let m = scrape_until(addr, |m| {
        value(m, "wirehub_connections_open", &echo_route) == Some(0.0)
            && value(m, "wirehub_connections_open", &[("route", "/m/hb")]) == Some(0.0)
            && value(m, "wirehub_connections_closed_total", &[("route", "/m/echo"), ("reason", "normal")]) == Some(3.0)
            && value(m, "wirehub_connections_closed_total", &[("route", "/m/hb"), ("reason", "heartbeat_timeout")])
                == Some(1.0)
    })
    .await;

    let echo_kind = |kind| [("route", "/m/echo"), ("kind", kind)];
    assert_eq!(must(&m, "wirehub_connections_opened_total", &echo_route), 3.0);
    assert_eq!(must(&m, "wirehub_connections_opened_total", &[("route", "/m/hb")]), 1.0);
    assert_eq!(must(&m, "wirehub_connections_opened_total", &[("route", "/m/auth")]), 0.0);
    assert_eq!(must(&m, "wirehub_messages_received_total", &echo_kind("text")), 5.0);
    assert_eq!(must(&m, "wirehub_messages_received_total", &echo_kind("binary")), 3.0);
    assert_eq!(must(&m, "wirehub_messages_received_total", &echo_kind("close")), 3.0);
    assert_eq!(must(&m, "wirehub_messages_received_total", &echo_kind("ping")), 1.0);
    assert_eq!(must(&m, "wirehub_messages_sent_total", &echo_kind("text")), 5.0);
    assert_eq!(must(&m, "wirehub_messages_sent_total", &echo_kind("binary")), 3.0);
    assert_eq!(must(&m, "wirehub_messages_sent_total", &echo_kind("ping")), 0.0);
    assert_eq!(must(&m, "wirehub_messages_sent_total", &echo_kind("pong")), 1.0, "the automatic pong");
    assert_eq!(must(&m, "wirehub_messages_sent_total", &echo_kind("close")), 3.0, "each peer Close answered");
    assert_eq!(must(&m, "wirehub_received_bytes_total", &echo_route), 11.0);
    assert_eq!(must(&m, "wirehub_sent_bytes_total", &echo_route), 11.0);
    assert_eq!(
        must(&m, "wirehub_messages_sent_total", &[("route", "/m/hb"), ("kind", "ping")]),
        f64::from(pings),
        "every ping the peer got is counted"
    );
    assert_eq!(must(&m, "wirehub_handshakes_rejected_total", &[("route", "/m/auth"), ("reason", "auth")]), 1.0);
    assert_eq!(must(&m, "wirehub_handshakes_rejected_total", &[("route", "none"), ("reason", "not_found")]), 1.0);
    assert_eq!(
        must(&m, "wirehub_connections_closed_total", &[("route", "/m/hb"), ("reason", "heartbeat_timeout")]),
        1.0
    );
    assert_eq!(must(&m, "wirehub_connections_closed_total", &[("route", "/m/hb"), ("reason", "normal")]), 0.0);
    assert_eq!(must(&m, "wirehub_connections_closed_total", &[("route", "/m/echo"), ("reason", "normal")]), 3.0);
    let closed_echo: f64 = m
        .iter()
        .filter(|((name, labels), _)| {
            name == "wirehub_connections_closed_total" && labels.get("route").map(String::as_str) == Some("/m/echo")
        })
        .map(|(_, v)| v)
        .sum();
    assert_eq!(closed_echo, 3.0, "no echo connection closed for another reason");
    let rejected: f64 =
        m.iter().filter(|((name, _), _)| name == "wirehub_handshakes_rejected_total").map(|(_, v)| v).sum();
    assert_eq!(rejected, 2.0, "exactly the two refusals were counted");
    for action in ["close", "reply"] {
        let labels = [("route", "/m/echo"), ("action", action)];
        assert_eq!(must(&m, "wirehub_handler_errors_total", &labels), 0.0, "{action}");
    }
    assert_eq!(must(&m, "wirehub_rooms_open", &[]), 0.0);
    assert_eq!(server.hub().connections(), 0);
}

/// Refusals by origin, cap and subprotocol, and closes for the message rate
/// and failed re-validation, are counted under their own reasons.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_refusals_and_closes_are_labelled() {
    let server = server(App::new()).await;
    let addr = server.local_addr();
    let with_headers = |path: &str, headers: &[(&'static str, &'static str)]| {
        let mut req = format!("ws://{addr}{path}").into_client_request().expect("request");
        for (name, value) in headers {
            req.headers_mut().insert(*name, HeaderValue::from_static(value));
        }
        req
    };
    let status_of = |req| async move {
        match within(tokio_tungstenite::connect_async(req)).await {
            Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
            Ok((_, response)) => panic!("accepted with {}", response.status()),
            Err(e) => panic!("handshake failed: {e}"),
        }
    };

    assert_eq!(status_of(with_headers("/m/echo", &[("origin", "https://evil.example")])).await, 403);
    assert_eq!(status_of(with_headers("/m/limited", &[("sec-websocket-protocol", "v9")])).await, 400);
    let (mut ws, _) =
        within(tokio_tungstenite::connect_async(with_headers("/m/limited", &[("sec-websocket-protocol", "v1")])))
            .await
            .expect("first connection");
    assert_eq!(status_of(with_headers("/m/limited", &[("sec-websocket-protocol", "v1")])).await, 503);
    // burst = 1: the second message back to back breaks the rate.
    send(&mut ws, "one").await;
    send(&mut ws, "two").await;
    let (code, _) = common::expect_close(&mut ws).await;
    assert_eq!(code, 1008);
    while let Some(Ok(_)) = within(ws.next()).await {}

    let (mut expiring, _) = within(tokio_tungstenite::connect_async(format!("ws://{addr}/m/expiring")))
        .await
        .expect("the first validation passes");
    let (code, _) = common::expect_close(&mut expiring).await;
    assert_eq!(code, 1008, "re-validation failed");
    while let Some(Ok(_)) = within(expiring.next()).await {}

    let m = scrape_until(addr, |m| {
        value(m, "wirehub_connections_closed_total", &[("route", "/m/limited"), ("reason", "rate_limited")])
            == Some(1.0)
            && value(m, "wirehub_connections_closed_total", &[("route", "/m/expiring"), ("reason", "auth_expired")])
                == Some(1.0)
    })
    .await;
    let rejected =
        |route, reason| value(&m, "wirehub_handshakes_rejected_total", &[("route", route), ("reason", reason)]);
    assert_eq!(rejected("/m/echo", "origin"), Some(1.0));
    assert_eq!(rejected("/m/limited", "bad_request"), Some(1.0));
    assert_eq!(rejected("/m/limited", "limit"), Some(1.0));
    assert_eq!(must(&m, "wirehub_connections_opened_total", &[("route", "/m/limited")]), 1.0);
    assert_eq!(must(&m, "wirehub_connections_opened_total", &[("route", "/m/echo")]), 0.0);
}

/// The `route` label is the pattern, so 1000 rooms on `/m/chat/{room}` (and
/// 100 distinct unknown paths) add no series: the number of distinct label
/// sets does not grow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_cardinality_does_not_grow_with_rooms() {
    let server = server(App::new()).await;
    let addr = server.local_addr();

    async fn visit(addr: SocketAddr, rooms: std::ops::Range<usize>) {
        for i in rooms {
            let mut ws = connect(addr, &format!("/m/chat/room-{i}")).await;
            let text = format!("hello {i}");
            send(&mut ws, text.as_str()).await;
            assert_eq!(recv(&mut ws).await, WsMessage::text(text));
            hang_up(ws).await;
        }
    }

    visit(addr, 0..10).await;
    assert_eq!(http_status(addr, &upgrade_get("/m/missing/0")).await, 404);
    let first = scrape_until(addr, |m| {
        value(m, "wirehub_connections_closed_total", &[("route", "/m/chat/{room}"), ("reason", "normal")]) == Some(10.0)
    })
    .await;

    for i in 1..100 {
        assert_eq!(http_status(addr, &upgrade_get(&format!("/m/missing/{i}"))).await, 404);
    }
    let tasks: Vec<_> = (0..10).map(|t| tokio::spawn(visit(addr, 10 + t * 99..10 + (t + 1) * 99))).collect();
    for task in tasks {
        within(task).await.expect("visitor task");
    }
    let last = scrape_until(addr, |m| {
        value(m, "wirehub_connections_closed_total", &[("route", "/m/chat/{room}"), ("reason", "normal")])
            == Some(1000.0)
    })
    .await;
    assert_eq!(must(&last, "wirehub_connections_opened_total", &[("route", "/m/chat/{room}")]), 1000.0);
    assert_eq!(
        must(&last, "wirehub_handshakes_rejected_total", &[("route", "none"), ("reason", "not_found")]),
        100.0,
        "100 distinct unknown paths share one series"
    );
    assert_eq!(
        must(&last, "wirehub_messages_received_total", &[("route", "/m/chat/{room}"), ("kind", "text")]),
        1000.0
    );

    let series = |m: &BTreeMap<Series, f64>| -> BTreeSet<Series> { m.keys().cloned().collect() };
    let (before, after) = (series(&first), series(&last));
    let added: Vec<_> = after.difference(&before).collect();
    assert!(added.is_empty(), "new series after 990 more rooms: {added:?}");
    assert_eq!(before.len(), after.len());
    for (name, labels) in &after {
        for value in labels.values() {
            assert!(!value.contains("room-"), "a concrete room leaked into a label: {name}{labels:?}");
        }
    }
    assert_eq!(must(&last, "wirehub_rooms_open", &[]), 0.0);
}

/// `App::registry`: the user's metrics and wirehub's share one registry and
/// one endpoint; a user metric with a wirehub name makes `start` fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_registry_is_merged_and_clashes_are_refused() {
    let registry = Registry::new();
    let jobs = IntCounter::new("myapp_jobs_total", "Jobs done.").expect("counter");
    registry.register(Box::new(jobs.clone())).expect("register the user counter");
    jobs.inc_by(7);

    let server = server(App::new().registry(registry.clone())).await;
    let addr = server.local_addr();
    let mut ws = connect(addr, "/m/echo").await;
    echo(&mut ws, WsMessage::text("x")).await;

    let m = scrape(addr).await;
    assert_eq!(must(&m, "myapp_jobs_total", &[]), 7.0);
    assert_eq!(must(&m, "wirehub_messages_received_total", &[("route", "/m/echo"), ("kind", "text")]), 1.0);
    jobs.inc();
    let m = scrape(addr).await;
    assert_eq!(must(&m, "myapp_jobs_total", &[]), 8.0, "the endpoint reads the live registry");
    // wirehub's families live in the user's registry too.
    let names: BTreeSet<String> = registry.gather().iter().map(|f| f.name().to_owned()).collect();
    assert!(names.contains("myapp_jobs_total") && names.contains("wirehub_connections_opened_total"), "{names:?}");
    hang_up(ws).await;

    let clashing = Registry::new();
    let gauge = IntGauge::new("wirehub_connections_open", "Mine.").expect("gauge");
    clashing.register(Box::new(gauge)).expect("register the clashing gauge");
    let started =
        within(App::new().routes(|p| p.starts_with(PREFIX)).registry(clashing).bind("127.0.0.1:0").start()).await;
    match started {
        Err(wirehub::Error::Metrics(_)) => {}
        Err(other) => panic!("expected Error::Metrics, got {other}"),
        Ok(server) => panic!("started on {} despite a metric name clash", server.local_addr()),
    }
}

/// `metrics_path` moves the endpoint; `metrics = false` removes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_can_be_moved_or_disabled() {
    let moved = server(App::new().config(|c| c.metrics_path = Some("/internal/prom".to_owned()))).await;
    let (status, body) = http_get(moved.local_addr(), "/internal/prom").await;
    assert_eq!(status, 200);
    assert!(parse(&body).keys().any(|(name, _)| name == "wirehub_connections_opened_total"), "{body}");
    assert_eq!(http_get(moved.local_addr(), "/metrics").await.0, 404);

    let off = server(App::new().config(|c| c.metrics = false)).await;
    assert_eq!(http_get(off.local_addr(), "/metrics").await.0, 404);
    assert_eq!(http_get(off.local_addr(), "/healthz").await.0, 200, "health does not depend on metrics");
}

/// `/healthz` answers 200 while serving and 503 while draining. The listener
/// stops accepting at shutdown, so the second request goes over a
/// keep-alive connection opened before the shutdown started; a WebSocket
/// client that never answers the server's Close keeps the drain going.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_503_while_draining() {
    let server = server(App::new().config(|c| c.drain_timeout = Duration::from_secs(5))).await;
    let addr = server.local_addr();

    let mut stubborn = raw_upgrade(addr, "/m/hold").await;
    eventually(|| server.hub().connections() == 1).await;

    let mut http = within(TcpStream::connect(addr)).await.expect("tcp connect");
    assert_eq!(keep_alive_get(&mut http, "/healthz").await, (200, "ok\n".to_owned()));
    assert_eq!(keep_alive_get(&mut http, "/healthz").await.0, 200, "keep-alive works before the shutdown");

    server.shutdown_handle().shutdown();
    // The server's Close 1001 proves the drain has begun.
    let (opcode, payload) = within(read_frame(&mut stubborn)).await.expect("a close frame");
    assert_eq!(opcode, 0x8);
    assert_eq!(payload.get(..2), Some(&1001u16.to_be_bytes()[..]));
    assert_eq!(server.hub().connections(), 1, "the stubborn client is still draining");

    let (status, body) = keep_alive_get(&mut http, "/healthz").await;
    assert_eq!((status, body.as_str()), (503, "draining\n"));

    drop(stubborn);
    within(server.wait()).await.expect("the server stops once the last connection ended");
}

/// Every metric the Grafana dashboard queries exists in a scrape (except
/// the Redis backplane's, registered only with it): a renamed metric cannot
/// silently empty a panel. Refusals are counted per reason on first use, so
/// one refused upgrade comes first.
#[tokio::test]
async fn every_metric_the_dashboard_queries_is_exported() {
    let dashboard = include_str!("../dashboards/wirehub.json");
    let mut names: Vec<String> = dashboard
        .match_indices("wirehub_")
        .map(|(at, _)| dashboard[at..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect::<String>())
        .filter(|n| !n.starts_with("wirehub_backplane_"))
        .collect();
    names.sort();
    names.dedup();
    assert!(names.len() >= 15, "the dashboard's queries were found: {names:?}");
    let server = server(App::new()).await;
    assert_eq!(http_status(server.local_addr(), &upgrade_get("/m/nowhere")).await, 404);
    let exported: std::collections::BTreeSet<String> =
        scrape(server.local_addr()).await.into_keys().map(|(name, _)| name).collect();
    for name in &names {
        assert!(exported.contains(name), "the dashboard queries `{name}`, which is not exported");
    }
}
