//! The writing side of a connection: the outbound queue and the in-task
//! reply FIFO to the socket in batches (one flush per batch), heartbeat
//! pings and dead-peer detection, write timeouts, and the close phase.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::{ready, Context, Poll, Waker};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite;

use super::socket::{self, lock, Buffered, Outbound, Shared, WsSocket};
use super::{CloseReason, Conn, Replies};
use crate::message::{CloseFrame, MessageKind};
use crate::metrics::{RouteMetrics, Tally};

/// Writes queued messages in batches and sends heartbeat pings.
/// `timer_waker` is the reader's waker (see `impl Wake for ConnInner`): the
/// heartbeat timer wakes the task through it, so the writer knows when to
/// look at the timer (`Life::take_timer_due`).
pub(super) async fn write_loop(conn: &Conn, socket: &Shared, outbound: &mut Outbound, timer_waker: &Waker) {
    let opts = &conn.0.route.opts;
    let mut heartbeat = opts.heartbeat.map(|every| Heartbeat::new(every, opts.heartbeat_timeout));
    let mut hb_timer = pin!(sleep_until(heartbeat.as_ref().map_or_else(far_future, |h| h.next_ping)));
    loop {
        // What to do next, looked at in order by hand (a `select!` built and
        // dropped four futures per wake-up: a third of the writer's
        // instructions per delivered message, issue 19). The write happens
        // after it, so waiting and writing never take room in the task at
        // the same time. No waker is registered for a close, the replies
        // or the reader's answers: `task::run` registers the task's waker
        // at each poll and polls the reader first, so whatever those
        // change wakes or precedes this poll.
        let wake = poll_fn(|cx| {
            if conn.is_closing() {
                return Poll::Ready(Wake::Stop);
            }
            match outbound.poll_recv(cx) {
                Poll::Ready(Some((first, behind))) => return Poll::Ready(Wake::Queued(first, behind)),
                Poll::Ready(None) => return Poll::Ready(Wake::Stop),
                Poll::Pending => {}
            }
            if conn.0.replies.has_any() || socket::lock(socket).wants_flush() {
                return Poll::Ready(Wake::Write);
            }
            if conn.0.route.opts.heartbeat.is_some()
                && conn.0.life.take_timer_due()
                && hb_timer.as_mut().poll(&mut Context::from_waker(timer_waker)).is_ready()
            {
                return Poll::Ready(Wake::Heartbeat);
            }
            Poll::Pending
        })
        .await;
        let open = match wake {
            Wake::Stop => return,
            Wake::Queued(first, behind) => {
                // The depth of the queue other tasks fill, seen when the
                // writer takes from it (a handler's own replies do not go
                // through it). Nothing stayed behind the first message: the
                // batch does not ask the queue again (what arrives meanwhile
                // woke the task, and the next look takes it).
                if let Some(m) = conn.metrics() {
                    m.queue_depth.observe((behind + 1) as f64);
                }
                write_batch(conn, socket, outbound, &conn.0.replies, Some(first), behind > 0).await
            }
            Wake::Write => write_batch(conn, socket, outbound, &conn.0.replies, None, true).await,
            Wake::Heartbeat => {
                // The timer's branch is enabled only with a heartbeat.
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
                    if !finish_write(conn, opts.write_timeout, write_one(socket, ping)).await {
                        return;
                    }
                }
                // Wake for the next ping or the moment the peer becomes
                // dead, whichever comes first (a peer seen after this
                // wake-up pushes the deadline on; the check above re-reads).
                let dead_at = last_seen + hb.every + hb.timeout;
                hb_timer.as_mut().reset(if dead_at > now { hb.next_ping.min(dead_at) } else { hb.next_ping });
                // Polled at the next look, which registers the new deadline.
                conn.0.life.set_timer_due();
                true
            }
        };
        if !open {
            return;
        }
    }
}

/// What woke the writer.
enum Wake {
    /// A message taken from the outbound queue, and how many stayed behind it.
    Queued(tungstenite::Message, usize),
    /// Replies in the FIFO, or frames the reader buffered.
    Write,
    /// A close was requested, or the outbound queue is closed.
    Stop,
    /// The heartbeat timer.
    Heartbeat,
}

/// Writes one batch: `first`, then what the outbound queue holds (if
/// `more_queued`), then the sender's buffered replies (so a handler's
/// `conn.send` calls precede its returned reply), at most `batch` frames,
/// then one flush.
async fn write_batch(
    conn: &Conn,
    socket: &Shared,
    outbound: &mut Outbound,
    replies: &Replies,
    first: Option<tungstenite::Message>,
    more_queued: bool,
) -> bool {
    let opts = &conn.0.route.opts;
    let metrics = conn.metrics();
    let mut tally = Tally::default();
    let mut batch = Batch {
        socket,
        outbound: more_queued.then_some(outbound),
        replies: Some(replies),
        left: opts.batch.saturating_sub(usize::from(first.is_some())),
        held: first,
        tally: Some(&mut tally),
    };
    let written = finish_write(conn, opts.write_timeout, poll_fn(|cx| batch.poll(cx))).await;
    if let Some(m) = metrics {
        tally.flush_sent(m);
    }
    written
}

/// One write batch in progress, polled by hand: across a `Pending` it keeps
/// only the frame it could not buffer yet, not a chain of nested futures
/// (the writer's share of every idle connection's task, issue 19).
struct Batch<'a> {
    socket: &'a Shared,
    /// Where the batch takes more frames from (none: only `held`).
    outbound: Option<&'a mut Outbound>,
    replies: Option<&'a Replies>,
    /// How many more frames this batch takes from the queues.
    left: usize,
    /// The next frame to buffer.
    held: Option<tungstenite::Message>,
    /// Where the frames buffered are counted (none: the caller counts).
    tally: Option<&'a mut Tally>,
}

impl Batch<'_> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let mut socket = lock(self.socket);
        loop {
            if self.held.is_none() && self.left > 0 {
                self.held = self.outbound.as_mut().and_then(|q| q.try_recv()).map(|(message, _)| message);
                if self.held.is_none() {
                    self.held = self.replies.and_then(Replies::take_one);
                }
                self.left -= usize::from(self.held.is_some());
            }
            let Some(frame) = self.held.take() else { return socket.poll_flush(cx) };
            let (kind, len) = kind_and_len(&frame);
            match socket.buffer(frame) {
                Buffered::Queued => {
                    if let Some(tally) = self.tally.as_deref_mut() {
                        tally.add(kind, len);
                    }
                    if socket.over_write_buffer() {
                        ready!(socket.poll_flush(cx))?;
                    }
                }
                // Write out what the buffer holds, then offer it again.
                Buffered::Full(frame) => {
                    self.held = Some(frame);
                    ready!(socket.poll_flush(cx))?;
                }
                Buffered::Dropped => {}
            }
        }
    }
}

/// Buffers one frame and writes it out (counted by the caller).
fn write_one(socket: &Shared, frame: tungstenite::Message) -> impl Future<Output = std::io::Result<()>> + '_ {
    let mut batch = Batch { socket, outbound: None, replies: None, left: 0, held: Some(frame), tally: None };
    poll_fn(move |cx| batch.poll(cx))
}

fn kind_and_len(frame: &tungstenite::Message) -> (MessageKind, usize) {
    match frame {
        tungstenite::Message::Text(t) => (MessageKind::Text, t.len()),
        tungstenite::Message::Binary(b) => (MessageKind::Binary, b.len()),
        tungstenite::Message::Ping(b) => (MessageKind::Ping, b.len()),
        tungstenite::Message::Pong(b) => (MessageKind::Pong, b.len()),
        tungstenite::Message::Close(_) | tungstenite::Message::Frame(_) => (MessageKind::Close, 0),
    }
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

/// Buffers frames (`held`, then what the queues hold when given) and
/// writes them out, counting them in `tally` however far it gets.
async fn drain(
    socket: &Shared,
    tally: &mut Tally,
    outbound: Option<&mut Outbound>,
    replies: Option<&Replies>,
    held: Option<tungstenite::Message>,
) -> std::io::Result<()> {
    let mut batch = Batch { socket, outbound, replies, left: usize::MAX, held, tally: Some(tally) };
    poll_fn(|cx| batch.poll(cx)).await
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
async fn finish_write(conn: &Conn, limit: Duration, write: impl Future<Output = std::io::Result<()>>) -> bool {
    let mut write = pin!(write);
    let result = match write.as_mut().now_or_never() {
        Some(done) => done,
        // Rare (a full socket buffer): the timer is boxed, so its 100-odd
        // bytes take no room in every connection's task (issue 19).
        None => match Box::pin(tokio::time::timeout(limit, write)).await {
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
    socket: &Shared,
    outbound: &mut Outbound,
) {
    let limit = conn.0.route.opts.close_timeout;
    let replies = &conn.0.replies;
    let metrics = conn.metrics();
    outbound.close();
    // A peer's Close was answered by the socket when it was read: that
    // answer only needs writing out.
    let answered = frame.is_none() && matches!(reason, CloseReason::Peer { .. });
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
            let _ = tokio::time::timeout(limit, socket::flush(socket)).await;
        }
        CloseReason::ProtocolError { .. } => {
            let _ = tokio::time::timeout(limit, drain(socket, tally, None, None, Some(close))).await;
        }
        _ => {
            let graceful = async {
                drain(socket, tally, Some(outbound), Some(replies), None).await?;
                drain(socket, tally, None, None, Some(close)).await
            };
            if let Ok(Ok(())) = tokio::time::timeout(limit, graceful).await {
                let answer = async {
                    while let Some(Ok(frame)) = socket::next(socket).await {
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
pub(super) async fn linger(socket: WsSocket, limit: Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Past the guard: what the peer sends now is discarded unread.
    let mut io = socket.into_inner();
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
