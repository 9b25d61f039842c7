//! The fastwebsockets peer (`serve-fastws`), written the way its README
//! shows: hyper 1's HTTP/1 server with upgrades, `fastwebsockets::upgrade`,
//! one task per connection, TCP_NODELAY on accepted sockets.
//!
//! - `/echo`: a `FragmentCollector` echoes every text and binary message
//!   (up to 16 MiB); the crate answers pings and close frames itself
//!   (`auto_pong`, `auto_close`, its defaults).
//! - `/room`: the same naive room as the tokio-tungstenite peer: a shared
//!   list of per-member unbounded senders, each member's write half in a
//!   writer task. The read half (`unstable-split`) hands the frames the
//!   crate must answer (pong, close) to the writer through the same
//!   channel. A payload is one `Bytes` shared by every recipient.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use fastwebsockets::upgrade::{self, UpgradeFut};
use fastwebsockets::{FragmentCollector, FragmentCollectorRead, Frame, OpCode, Payload, WebSocketError};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::Res;

/// Largest message either route accepts, as on the other servers.
const MAX_MESSAGE: usize = 16 << 20;

/// A frame on its way to one member: the payload is shared, not copied.
struct Outbound {
    opcode: OpCode,
    payload: Bytes,
}

/// The naive room: every member's outbound sender, with its id.
type Room = Arc<Mutex<Vec<(u64, mpsc::UnboundedSender<Outbound>)>>>;

/// Serves `/echo` and `/room` on 127.0.0.1:`port` until killed.
pub(crate) async fn serve_fastws(port: u16) -> Res<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("fastwebsockets on ws://127.0.0.1:{port}/echo and /room");
    serve_fastws_on(listener).await
}

/// The accept loop on `listener`.
pub(crate) async fn serve_fastws_on(listener: TcpListener) -> Res<()> {
    let room: Room = Arc::default();
    let ids = AtomicU64::new(0);
    loop {
        let tcp = crate::peers::accept(&listener).await;
        let room = room.clone();
        let id = ids.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let service = service_fn(move |request| route(request, room.clone(), id));
            // Errors (resets, bad requests) just end the connection.
            let _ = http1::Builder::new().serve_connection(TokioIo::new(tcp), service).with_upgrades().await;
        });
    }
}

/// Upgrades `/echo` and `/room`; anything else is 404, a bad upgrade 400.
async fn route(mut request: Request<Incoming>, room: Room, id: u64) -> Result<Response<Empty<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    if !(path == "/echo" || path == "/room") || !upgrade::is_upgrade_request(&request) {
        return Ok(status(StatusCode::NOT_FOUND));
    }
    let Ok((response, upgraded)) = upgrade::upgrade(&mut request) else {
        return Ok(status(StatusCode::BAD_REQUEST));
    };
    tokio::spawn(async move {
        // Errors (resets, protocol errors) just end the connection.
        let _ = if path == "/echo" { echo(upgraded).await } else { member(upgraded, room, id).await };
    });
    Ok(response)
}

fn status(code: StatusCode) -> Response<Empty<Bytes>> {
    let mut response = Response::new(Empty::new());
    *response.status_mut() = code;
    response
}

async fn echo(upgraded: UpgradeFut) -> Result<(), WebSocketError> {
    let mut ws = upgraded.await?;
    ws.set_max_message_size(MAX_MESSAGE);
    let mut ws = FragmentCollector::new(ws);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            OpCode::Close => return Ok(()),
            _ => {}
        }
    }
}

/// The payload as `Bytes`, without a copy when the crate handed over its buffer.
fn shared(payload: Payload<'_>) -> Bytes {
    match payload {
        Payload::Bytes(bytes) => bytes.freeze(),
        Payload::Owned(vec) => Bytes::from(vec),
        other => Bytes::copy_from_slice(&other),
    }
}

async fn member(upgraded: UpgradeFut, room: Room, id: u64) -> Result<(), WebSocketError> {
    let mut ws = upgraded.await?;
    ws.set_max_message_size(MAX_MESSAGE);
    let (read, mut write) = ws.split(tokio::io::split);
    let mut read = FragmentCollectorRead::new(read);
    let (tx, mut rx) = mpsc::unbounded_channel::<Outbound>();
    lock(&room).push((id, tx.clone()));
    // The writer ends when every sender is gone (this member left the room
    // and its reader ended), after writing what was queued, the crate's
    // answer to a close frame included.
    tokio::spawn(async move {
        while let Some(out) = rx.recv().await {
            let frame = Frame::new(true, out.opcode, None, Payload::Borrowed(&out.payload));
            if write.write_frame(frame).await.is_err() {
                break;
            }
        }
    });
    let mut answer = |frame: Frame<'_>| {
        let queued = tx.send(Outbound { opcode: frame.opcode, payload: shared(frame.payload) });
        async move { queued.map_err(|_| "the writer has ended") }
    };
    let result = loop {
        let frame = match read.read_frame(&mut answer).await {
            Ok(frame) => frame,
            Err(e) => break Err(e),
        };
        match frame.opcode {
            OpCode::Text | OpCode::Binary => {
                let out = Outbound { opcode: frame.opcode, payload: shared(frame.payload) };
                for (other, tx) in lock(&room).iter() {
                    if *other != id {
                        let _ = tx.send(Outbound { opcode: out.opcode, payload: out.payload.clone() });
                    }
                }
            }
            OpCode::Close => break Ok(()),
            _ => {}
        }
    };
    lock(&room).retain(|(other, _)| *other != id);
    result
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    //! The peer must pass the checks the scenarios make: echo byte for byte
    //! (text and binary, pings answered), the room's delivery checks.

    use std::time::Duration;

    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    use super::*;
    use crate::fanout::{broadcast, Fanout};
    use crate::load::{connect, Timing};
    use crate::procfs::Watch;

    async fn start() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        tokio::spawn(serve_fastws_on(listener));
        port
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn echo_returns_text_and_binary_and_answers_pings() {
        let port = start().await;
        let mut ws = connect(port, "/echo").await.expect("connect");
        let sent = [Message::text("hello"), Message::binary(vec![7u8; 70_000]), Message::Ping(vec![1, 2].into())];
        let expected = [Message::text("hello"), Message::binary(vec![7u8; 70_000]), Message::Pong(vec![1, 2].into())];
        for (message, expected) in sent.into_iter().zip(expected) {
            ws.send(message).await.expect("send");
            let got = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("in time");
            assert_eq!(got.expect("a frame").expect("no error"), expected);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_room_passes_the_delivery_checks() {
        let port = start().await;
        let timing = Timing { warmup: Duration::ZERO, measure: Duration::from_millis(300) };
        let shape = Fanout { subs: 10, window: 16, rate: None };
        let watch = Watch::default();
        let run = broadcast((port, port), "/room", shape, timing, &watch);
        let figures = tokio::time::timeout(Duration::from_secs(30), run).await.expect("finishes").expect("passes");
        assert!(figures[0].key == "deliveries/s" && figures[0].value > 0.0, "{figures:?}");
    }
}
