//! The peer servers wirehub is compared with, written the way a user without
//! a framework would write them.
//!
//! - `serve-baseline`: plain tokio-tungstenite. `accept_hdr_async` with the
//!   *default* `WebSocketConfig`, one task per connection; `/echo` echoes,
//!   `/room` is the naive broadcast: a shared list of per-connection
//!   unbounded senders, each connection forwarding its channel into its
//!   sink from a writer task. `--read-buffer N` gives the same server a
//!   smaller read buffer (tungstenite's default is 128 KiB, zero-filled
//!   before every read), to show what the config alone changes.
//! - `serve-axum`: axum's `WebSocketUpgrade` echo on `/echo`.
//!
//! Both set `TCP_NODELAY` on accepted sockets, as wirehub and the Node peer
//! do, so that no server pays Nagle's delay on small messages.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::Res;

/// The naive room: every member's outbound sender, with its id.
type Room = Arc<Mutex<Vec<(u64, mpsc::UnboundedSender<Message>)>>>;

/// Serves the plain tokio-tungstenite baseline on 127.0.0.1:`port` until
/// killed, with tungstenite's default `WebSocketConfig`, or with
/// `read_buffer` bytes of read buffer when given (the "tuned" variant).
pub(crate) async fn serve_baseline(port: u16, read_buffer: Option<usize>, fault: Fault) -> Res<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let config = read_buffer.map(|size| WebSocketConfig::default().read_buffer_size(size));
    println!("tokio-tungstenite baseline on ws://127.0.0.1:{port}/echo and /room ({config:?}, fault: {fault:?})");
    serve_baseline_on(listener, config, fault).await
}

/// A bug the baseline's room can be told to have (`--fault`), so that the
/// bench's delivery checks can be seen to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// A correct room.
    None,
    /// The 50th binary message is not delivered to one member.
    Drop,
    /// The 50th binary message is delivered twice to one member.
    Duplicate,
    /// The 50th binary message is also sent back to its sender.
    EchoSender,
}

impl Fault {
    /// Parses `--fault drop|duplicate|echo-sender`.
    pub(crate) fn parse(name: &str) -> Res<Fault> {
        match name {
            "drop" => Ok(Fault::Drop),
            "duplicate" => Ok(Fault::Duplicate),
            "echo-sender" => Ok(Fault::EchoSender),
            other => crate::fail(format!("unknown fault {other:?} (drop, duplicate, echo-sender)")),
        }
    }
}

/// The next connection on `listener`, with TCP_NODELAY (every peer sets
/// it); a failed accept (out of file descriptors) is reported and retried.
pub(crate) async fn accept(listener: &TcpListener) -> TcpStream {
    loop {
        match listener.accept().await {
            Ok((tcp, _)) => {
                let _ = tcp.set_nodelay(true);
                return tcp;
            }
            Err(e) => {
                eprintln!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    }
}

/// The baseline's accept loop on `listener`.
pub(crate) async fn serve_baseline_on(listener: TcpListener, config: Option<WebSocketConfig>, fault: Fault) -> Res<()> {
    let room: Room = Arc::default();
    let binaries = Arc::new(AtomicU64::new(0));
    let ids = Arc::new(AtomicU64::new(0));
    loop {
        let tcp = accept(&listener).await;
        let (room, binaries) = (room.clone(), binaries.clone());
        let id = ids.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            // Errors (resets, protocol errors) just end the connection.
            let _ = baseline_connection(tcp, (room, binaries, fault), id, config).await;
        });
    }
}

async fn baseline_connection(
    tcp: TcpStream,
    (room, binaries, fault): (Room, Arc<AtomicU64>, Fault),
    id: u64,
    config: Option<WebSocketConfig>,
) -> Res<()> {
    let mut path = String::new();
    // The signature is tungstenite's `Callback`; its error type is not ours to shrink.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        path = req.uri().path().to_owned();
        if path == "/echo" || path == "/room" {
            Ok(resp)
        } else {
            let mut not_found = ErrorResponse::new(Some("no route for this path".to_owned()));
            *not_found.status_mut() = StatusCode::NOT_FOUND;
            Err(not_found)
        }
    };
    // `None`: tungstenite's default WebSocketConfig (what `accept_hdr_async` uses).
    let mut ws = tokio_tungstenite::accept_hdr_async_with_config(tcp, callback, config).await?;
    if path == "/echo" {
        while let Some(message) = ws.next().await {
            match message? {
                m @ (Message::Text(_) | Message::Binary(_)) => ws.send(m).await?,
                // tungstenite queued the answer to the close: send it, as
                // any correct server does (and wirehub and fastwebsockets
                // do), so connrate compares like with like.
                Message::Close(_) => {
                    let _ = ws.flush().await;
                    break;
                }
                _ => {}
            }
        }
        return Ok(());
    }

    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    lock(&room).push((id, tx));
    let (mut sink, mut stream) = ws.split();
    let writer = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            if sink.send(message).await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(message)) = stream.next().await {
        if message.is_text() || message.is_binary() {
            let faulty = fault != Fault::None && message.is_binary() && binaries.fetch_add(1, Ordering::Relaxed) == 49;
            let mut first = true;
            for (member, tx) in lock(&room).iter() {
                if *member != id {
                    match fault {
                        Fault::Drop if faulty && first => {}
                        Fault::Duplicate if faulty && first => {
                            let _ = tx.send(message.clone());
                            let _ = tx.send(message.clone());
                        }
                        _ => {
                            let _ = tx.send(message.clone());
                        }
                    }
                    first = false;
                } else if fault == Fault::EchoSender && faulty {
                    let _ = tx.send(message.clone());
                }
            }
        } else if message.is_close() {
            break;
        }
    }
    lock(&room).retain(|(member, _)| *member != id);
    writer.abort();
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Serves axum's WebSocket echo on 127.0.0.1:`port`/echo until killed.
pub(crate) async fn serve_axum(port: u16) -> Res<()> {
    use axum::extract::ws::{Message as AxMessage, WebSocketUpgrade};
    use axum::serve::ListenerExt;

    async fn echo(upgrade: WebSocketUpgrade) -> axum::response::Response {
        upgrade.max_message_size(16 << 20).on_upgrade(|mut socket| async move {
            while let Some(Ok(message)) = socket.recv().await {
                match message {
                    AxMessage::Text(_) | AxMessage::Binary(_) => {
                        if socket.send(message).await.is_err() {
                            break;
                        }
                    }
                    AxMessage::Close(_) => break,
                    AxMessage::Ping(_) | AxMessage::Pong(_) => {}
                }
            }
        })
    }

    let app = axum::Router::new().route("/echo", axum::routing::any(echo));
    let listener = TcpListener::bind(("127.0.0.1", port)).await?.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    println!("axum echo on ws://127.0.0.1:{port}/echo");
    axum::serve(listener, app).await?;
    Ok(())
}
