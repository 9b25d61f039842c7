//! Graceful shutdown under load: 10 000 connections to an
//! `examples/soak_server` child process, a burst of room broadcasts accepted
//! into their queues, then SIGTERM. Every client must receive every message
//! of the burst, in order, then Close 1001, and the process must exit with
//! status 0 within its drain timeout.
//!
//! The guarantee tested (see docs/RELIABILITY.md): a message accepted into a
//! connection's outbound queue before the drain began (here: the burst,
//! whose acceptance the server confirmed before the signal was sent) is
//! written before that connection's Close frame, provided the peer reads it
//! within the route's `close_timeout`, and all of it happens within
//! `drain_timeout`.
//!
//! The server runs as a child process because 10 000 connections need
//! 20 000 descriptors with both ends in one process, which is the hard
//! `RLIMIT_NOFILE` of the machines this runs on.

mod common;
mod soak_proc;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{connect, within};
use futures_util::{SinkExt, StreamExt};
use soak_proc::{try_get, ServerProc};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

use common::Client as Ws;

const CLIENTS: usize = 10_000;
const ROOMS: usize = 100;
/// Messages per client in the burst (the route's queue holds 64).
const BURST: usize = 8;
/// Handshakes in flight at once.
const OPENING: usize = 500;
/// The server's drain timeout: the bound on the whole shutdown.
const DRAIN: Duration = Duration::from_secs(15);

// ------------------------------------------------------------ the server process

async fn start_server() -> ServerProc {
    common::raise_fd_limit();
    soak_proc::start(DRAIN.as_millis() as u64, &[]).await
}

/// `/stats` of the hub: (connections, rooms).
async fn stats(addr: SocketAddr) -> (usize, usize) {
    let (status, body) = within(try_get(addr, "/stats")).await.expect("GET /stats");
    assert_eq!(status, 200, "GET /stats");
    let words: Vec<&str> = body.split_whitespace().collect();
    match words.as_slice() {
        ["connections", c, "rooms", r] => (c.parse().expect("count"), r.parse().expect("count")),
        _ => panic!("unexpected /stats body {body:?}"),
    }
}

// ------------------------------------------------------------ clients

/// What one client saw: the data messages and the close frame, with the
/// time of the close relative to the signal.
#[derive(Debug)]
struct Seen {
    texts: Vec<String>,
    close: Option<(u16, String)>,
    /// The TCP connection ended after the close handshake.
    ended: bool,
    close_at: Option<Instant>,
    /// Messages that arrived after the signal was sent.
    after_signal: usize,
}

/// Reads everything until the server ends the connection (answering its
/// Close, which tungstenite does on the next read).
async fn read_all(mut ws: Ws, signal: Arc<std::sync::OnceLock<Instant>>, limit: Duration) -> Seen {
    let mut seen = Seen { texts: Vec::new(), close: None, ended: false, close_at: None, after_signal: 0 };
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let next = match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(next) => next,
            Err(_) => return seen,
        };
        match next {
            Some(Ok(WsMessage::Text(t))) => {
                seen.after_signal += usize::from(signal.get().is_some());
                seen.texts.push(t.as_str().to_owned());
            }
            Some(Ok(WsMessage::Close(frame))) => {
                seen.close_at = Some(Instant::now());
                seen.close =
                    Some(frame.map_or((1005, String::new()), |f| (u16::from(f.code), f.reason.as_str().to_owned())));
            }
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
            Some(Ok(other)) => panic!("unexpected {other:?}"),
            Some(Err(WsError::ConnectionClosed)) | None => {
                seen.ended = seen.close.is_some();
                return seen;
            }
            Some(Err(e)) => panic!("client error after {} messages, close {:?}: {e}", seen.texts.len(), seen.close),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_10000_connections_delivers_the_queued_burst_then_1001() {
    let mut server = start_server().await;
    let addr = server.addr;
    let signal: Arc<std::sync::OnceLock<Instant>> = Arc::default();
    let limit = DRAIN + Duration::from_secs(60);

    // 10 000 members of 100 rooms, 500 handshakes at a time.
    let started = Instant::now();
    let opening = Arc::new(Semaphore::new(OPENING));
    let (ready_tx, mut ready_rx) = mpsc::channel(CLIENTS);
    let mut clients = JoinSet::new();
    for i in 0..CLIENTS {
        let (opening, ready, signal) = (opening.clone(), ready_tx.clone(), signal.clone());
        clients.spawn(async move {
            let permit = opening.acquire_owned().await.expect("semaphore");
            let ws = connect(addr, &format!("/calm/{}", i % ROOMS)).await;
            drop(permit);
            let _ = ready.send(()).await;
            read_all(ws, signal, limit).await
        });
    }
    drop(ready_tx);
    for _ in 0..CLIENTS {
        tokio::time::timeout(Duration::from_secs(120), ready_rx.recv()).await.expect("clients connect").expect("ready");
    }
    let mut ctl = connect(addr, "/soak-ctl").await;
    let poll_deadline = Instant::now() + Duration::from_secs(30);
    while stats(addr).await != (CLIENTS + 1, ROOMS) {
        assert!(Instant::now() < poll_deadline, "not all connections registered: {:?}", stats(addr).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let opened = started.elapsed();

    // The burst: 8 rounds over the 100 rooms, every message accepted into every member's queue.
    within(ctl.send(WsMessage::text(format!("text calm {ROOMS} {BURST} b")))).await.expect("send burst");
    let reply = loop {
        match within(ctl.next()).await {
            Some(Ok(WsMessage::Text(t))) => break t.as_str().to_owned(),
            Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
            other => panic!("burst reply: {other:?}"),
        }
    };
    assert_eq!(reply, format!("ok {}", CLIENTS * BURST), "every message of the burst accepted");

    // SIGTERM at once: most of the burst is still in the queues.
    let pid = server.child.id().to_string();
    let sent = Instant::now();
    let _ = signal.set(sent);
    let status = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
    assert!(status.success(), "kill -TERM {pid}");

    // The control connection gets its 1001 too.
    let ctl_close = loop {
        match within(ctl.next()).await {
            Some(Ok(WsMessage::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            other => panic!("control connection: {other:?} before a close frame"),
        }
    };
    assert_eq!(ctl_close, Some(1001), "the control connection's close code");
    drop(ctl);

    let mut last_close = Duration::ZERO;
    let mut after_signal = 0;
    let mut count = 0;
    let want: Vec<String> = (0..BURST).map(|j| format!("b:{j}")).collect();
    while let Some(done) = tokio::time::timeout(limit, clients.join_next()).await.expect("clients finish") {
        let seen = done.expect("client task");
        assert_eq!(seen.texts, want, "every message of the burst, in order, then the close; client saw {seen:?}");
        assert_eq!(
            seen.close.as_ref().map(|(c, r)| (*c, r.as_str())),
            Some((1001, "server shutting down")),
            "close frame; client saw {seen:?}"
        );
        assert!(seen.ended, "the server ends the TCP connection after the close handshake; {seen:?}");
        last_close = last_close.max(seen.close_at.map_or(Duration::ZERO, |t| t.duration_since(sent)));
        after_signal += seen.after_signal;
        count += 1;
    }
    assert_eq!(count, CLIENTS);

    // The process exits by itself, with status 0, within the drain bound.
    let exit = loop {
        if let Some(status) = server.child.try_wait().expect("try_wait") {
            break (status, sent.elapsed());
        }
        assert!(
            sent.elapsed() < DRAIN + Duration::from_secs(2),
            "soak_server still running {:?} after SIGTERM",
            sent.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    println!(
        "shutdown under load: {CLIENTS} connections in {ROOMS} rooms opened in {opened:.1?}; burst of {} messages \
         accepted; {after_signal} of them arrived after SIGTERM; every client had the whole burst then 1001, the last \
         close {last_close:.1?} after SIGTERM; process exited with {} {:.1?} after SIGTERM (drain timeout {DRAIN:?})",
        CLIENTS * BURST,
        exit.0,
        exit.1,
    );
    assert!(exit.0.success(), "soak_server exit status {}", exit.0);
    assert!(exit.1 < DRAIN, "exit {:?} after SIGTERM is beyond the drain timeout {DRAIN:?}", exit.1);
    // Without this the test passes vacuously: had every client read the whole
    // burst before the signal, the shutdown delivered nothing.
    assert!(
        after_signal > 0,
        "no message of the burst arrived after SIGTERM was sent: every client had already read all {} messages, so \
         the shutdown was not tested with messages in flight",
        CLIENTS * BURST
    );
}
