//! The writing side of a connection: the outbound queue and the in-task
//! reply FIFO to the socket in batches (one flush per batch), heartbeat
//! pings and dead-peer detection, write timeouts, and the close phase.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::{self, error::Error as WsError};

use super::socket::{Outbound, Sink, Stream, WsStream};
use super::{CloseReason, Conn, Replies};
use crate::message::{CloseFrame, MessageKind};
use crate::metrics::{RouteMetrics, Tally};

/// Writes queued messages in batches and sends heartbeat pings.
pub(super) async fn write_loop(conn: &Conn, sink: &mut Sink, outbound: &mut Outbound) {
    let replies = &conn.0.replies;
    let opts = &conn.0.route.opts;
    let mut heartbeat = opts.heartbeat.map(|every| Heartbeat::new(every, opts.heartbeat_timeout));
    let mut hb_timer = pin!(sleep_until(heartbeat.as_ref().map_or_else(far_future, |h| h.next_ping)));
    loop {
        if conn.is_closing() {
            return;
        }
        tokio::select! {
            biased;
            () = conn.close_requested() => return,
            first = outbound.recv() => {
                let Some(first) = first else { return };
                if !write_batch(conn, sink, outbound, replies, Some(first)).await {
                    return;
                }
            }
            () = replies.ready() => {
                if !write_batch(conn, sink, outbound, replies, None).await {
                    return;
                }
            }
            () = &mut hb_timer, if heartbeat.is_some() => {
                let Some(hb) = heartbeat.as_mut() else { continue };
                let now = Instant::now();
                let last_seen = conn.last_seen();
                if now >= last_seen + hb.every + hb.timeout && !conn.is_paused() {
                    tracing::debug!("heartbeat timeout");
                    conn.request_close(CloseReason::HeartbeatTimeout, None);
                    return;
                }
                if now >= hb.next_ping {
                    hb.next_ping = now + hb.every;
                    let ping = tungstenite::Message::Ping(conn.ping_payload());
                    if let Some(m) = conn.metrics() {
                        m.sent(crate::MessageKind::Ping, 8);
                    }
                    if !finish_write(conn, opts.write_timeout, sink.send(ping)).await {
                        return;
                    }
                }
                // Wake for the next ping or the moment the peer becomes
                // dead, whichever comes first (a peer seen after this
                // wake-up pushes the deadline on; the check above re-reads).
                let dead_at = last_seen + hb.every + hb.timeout;
                hb_timer.as_mut().reset(if dead_at > now { hb.next_ping.min(dead_at) } else { hb.next_ping });
            }
        }
    }
}

/// Writes one batch: `first`, then what the outbound queue holds, then the
/// sender's buffered replies (so a handler's `conn.send` calls precede its
/// returned reply), at most `batch` frames, then one flush.
async fn write_batch(
    conn: &Conn,
    sink: &mut Sink,
    outbound: &mut Outbound,
    replies: &Replies,
    first: Option<tungstenite::Message>,
) -> bool {
    let opts = &conn.0.route.opts;
    let metrics = conn.metrics();
    // The depth of the queue other tasks fill, seen when the writer takes
    // from it (a handler's own replies do not go through it).
    if let (Some(m), true) = (metrics, first.is_some()) {
        m.queue_depth.observe((outbound.len() + 1) as f64);
    }
    let mut tally = Tally::default();
    let batch = async {
        let mut written = 0;
        if let Some(first) = first {
            feed(sink, &mut tally, first).await?;
            written += 1;
        }
        while written < opts.batch {
            match outbound.try_recv() {
                Some(next) => feed(sink, &mut tally, next).await?,
                None => break,
            }
            written += 1;
        }
        for reply in replies.take(opts.batch.saturating_sub(written)) {
            feed(sink, &mut tally, reply).await?;
        }
        sink.flush().await
    };
    let written = finish_write(conn, opts.write_timeout, batch).await;
    if let Some(m) = metrics {
        tally.flush_sent(m);
    }
    written
}

/// Adds what the close exchange wrote to the route's counters, however the
/// exchange ends.
struct SentOnDrop<'a> {
    tally: Tally,
    metrics: Option<&'a RouteMetrics>,
}

impl Drop for SentOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(m) = self.metrics {
            self.tally.flush_sent(m);
        }
    }
}

/// Queues one frame into the socket's write buffer, counting it in `tally`.
async fn feed(sink: &mut Sink, tally: &mut Tally, frame: tungstenite::Message) -> Result<(), WsError> {
    let (kind, len) = match &frame {
        tungstenite::Message::Text(t) => (MessageKind::Text, t.len()),
        tungstenite::Message::Binary(b) => (MessageKind::Binary, b.len()),
        tungstenite::Message::Ping(b) => (MessageKind::Ping, b.len()),
        tungstenite::Message::Pong(b) => (MessageKind::Pong, b.len()),
        tungstenite::Message::Close(_) | tungstenite::Message::Frame(_) => (MessageKind::Close, 0),
    };
    tally.add(kind, len);
    match sink.feed(frame).await {
        // The buffer holds pongs tungstenite queued, or earlier frames:
        // write them out, then try once more.
        Err(WsError::WriteBufferFull(frame)) => {
            sink.flush().await?;
            match sink.feed(*frame).await {
                Err(WsError::WriteBufferFull(_)) => {
                    tracing::warn!(bytes = len, "message larger than max_write_buffer dropped");
                    Ok(())
                }
                other => other,
            }
        }
        other => other,
    }
}

struct Heartbeat {
    every: Duration,
    timeout: Duration,
    next_ping: Instant,
}

impl Heartbeat {
    fn new(every: Duration, timeout: Duration) -> Self {
        Heartbeat { every, timeout, next_ping: Instant::now() + every }
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

/// Runs a write; when it cannot finish at once, bounds it by `limit`. False
/// (and a close request) when it failed or timed out.
async fn finish_write(conn: &Conn, limit: Duration, write: impl Future<Output = Result<(), WsError>>) -> bool {
    let mut write = pin!(write);
    let result = match write.as_mut().now_or_never() {
        Some(done) => done,
        None => match tokio::time::timeout(limit, write).await {
            Ok(done) => done,
            Err(_elapsed) => {
                tracing::debug!("write timeout");
                conn.request_close(CloseReason::WriteTimeout, None);
                return false;
            }
        },
    };
    match result {
        Ok(()) => true,
        Err(e) => {
            tracing::debug!(error = %e, "write failed");
            conn.request_close(CloseReason::Io, None);
            false
        }
    }
}

/// Ends the connection as its close reason says: drop at once, answer the
/// peer's Close, or send ours (after what is queued) and wait for the answer.
pub(super) async fn close_phase(
    conn: &Conn,
    reason: &CloseReason,
    frame: Option<CloseFrame>,
    sink: &mut Sink,
    stream: &mut Stream,
    outbound: &mut Outbound,
) {
    let limit = conn.0.route.opts.close_timeout;
    let replies = &conn.0.replies;
    let metrics = conn.metrics();
    outbound.close();
    // A peer's Close (even one with a forbidden code) was answered by
    // tungstenite when it was read: that answer only needs flushing.
    let answered = frame.is_none() && matches!(reason, CloseReason::Peer { .. } | CloseReason::ProtocolError { .. });
    let close = tungstenite::Message::Close(frame.map(CloseFrame::into_wire));
    // Counted even when the exchange is cut short: the frames were fed.
    let mut sent = SentOnDrop { tally: Tally::default(), metrics };
    let tally = &mut sent.tally;
    match reason {
        r if r.drops() => {
            // No close handshake with a dead or unwritable peer: what was
            // queued for it is lost, and counted.
            let lost = outbound.len() + replies.take(usize::MAX).len();
            if let Some(m) = metrics {
                m.dropped_closed.inc_by(lost as u64);
            }
        }
        _ if answered => {
            if let Some(m) = metrics {
                m.sent(MessageKind::Close, 0);
            }
            let _ = tokio::time::timeout(limit, sink.flush()).await;
        }
        CloseReason::ProtocolError { .. } => {
            let answer = async {
                feed(sink, tally, close).await?;
                sink.flush().await
            };
            let _ = tokio::time::timeout(limit, answer).await;
        }
        _ => {
            let graceful = async {
                while let Some(queued) = outbound.try_recv() {
                    feed(sink, tally, queued).await?;
                }
                for reply in replies.take(usize::MAX) {
                    feed(sink, tally, reply).await?;
                }
                feed(sink, tally, close).await?;
                sink.flush().await
            };
            if let Ok(Ok(())) = tokio::time::timeout(limit, graceful).await {
                let answer = async {
                    while let Some(Ok(frame)) = stream.next().await {
                        if frame.is_close() {
                            break;
                        }
                    }
                };
                let _ = tokio::time::timeout(limit, answer).await;
            }
        }
    }
}

/// Lingering close: ends our sending side (FIN), then reads and discards
/// what the peer still sends, until it closes or `limit` (at most 2 s) or
/// [`LINGER_MAX_BYTES`] is reached, so our close frame is not lost to a
/// reset. The buffer is allocated only here.
pub(super) async fn linger(ws: WsStream, limit: Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Past the guard: what the peer sends now is discarded unread.
    let mut io = ws.into_inner().into_inner();
    let discard = async {
        io.shutdown().await.ok()?;
        let mut buf = vec![0u8; 16 * 1024];
        let mut total = 0;
        while total < LINGER_MAX_BYTES {
            match io.read(&mut buf).await.ok()? {
                0 => break,
                n => total += n,
            }
        }
        Some(())
    };
    let _ = tokio::time::timeout(limit.min(Duration::from_secs(2)), discard).await;
}

/// What a lingering close reads and discards, at most.
const LINGER_MAX_BYTES: usize = 64 << 20;
