//! The task that runs one connection: a reader (here) and a writer
//! (`writer.rs`) future polled together, then the close phase, then cleanup.
//!
//! Timers: each connection has at most two tokio timer entries (the reader's
//! idle deadline and the writer's heartbeat deadline), and they are *not*
//! reset per message: when one fires, the task compares the stored
//! last-activity instant with the deadline and re-arms it if the peer was
//! active meanwhile. tokio's timer is a hierarchical timing wheel, so each
//! entry costs O(1) to arm; a shared wheel of our own would save nothing.

use std::future::{poll_fn, Future};
use std::panic::AssertUnwindSafe;
use std::pin::{pin, Pin};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_util::future::{CatchUnwind, FutureExt, OptionFuture};
use hyper_util::rt::TokioIo;
use tokio::time::{sleep_until, Instant, Sleep};
use tokio_tungstenite::tungstenite;
use tracing::Instrument;

use super::call::{CallCx, Rejection};
use super::deliver::{deliver, deliver_acked, deliver_now, rejected, Later};
use super::frame::Refusal;
use super::guard::Violation;
use super::socket::{self, ReadError, Shared, Socket, WsSocket};
use super::upgrade::HandshakeCx;
use super::writer::{close_phase, linger, write_loop};
use super::{CloseCode, CloseReason, Conn, ConnState, Setup};
use crate::correlation::{self, CorrelationId, Inbound};
use crate::limits::Bucket;
use crate::message::{CloseFrame, Message, MessageKind, Utf8Bytes};
use crate::metrics::Received;
use crate::reply::{IntoReply, Reply};

/// Spawns the task of one connection with a handler (the macro's generated
/// closure, which extracts the arguments and calls the user's function). The
/// task's future is the whole connection, unboxed: one allocation per
/// connection for the task, none per message.
#[doc(hidden)]
pub fn serve<F, Fut>(setup: Setup, handler: F)
where
    F: FnMut(&CallCx<'_>) -> Result<Fut, Rejection> + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoReply + Send,
{
    let span = tracing::info_span!(
        "ws",
        route = setup.conn.route(),
        id = %setup.conn.id(),
        peer = %setup.conn.peer_addr()
    );
    tokio::spawn(run(setup, handler).instrument(span));
}

/// Removes the connection from the hub when the task ends, however it ends.
struct Registered<'a>(&'a Conn);

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.0.set_state(ConnState::Closed);
        self.0.hub().0.unregister(self.0);
        if let Some(m) = self.0.metrics() {
            m.open.dec();
        }
    }
}

/// The whole connection. A plain fn returning an `async move` block rather
/// than an `async fn`: an async fn keeps its arguments for its whole life
/// *and* the locals moved out of them (64 bytes twice); the block's
/// captures are the only copy (issue 19).
pub(super) fn run<F, Fut>(setup: Setup, mut handler: F) -> impl Future<Output = ()>
where
    F: FnMut(&CallCx<'_>) -> Result<Fut, Rejection> + Send,
    Fut: Future + Send,
    Fut::Output: IntoReply + Send,
{
    let Setup { upgrade, conn, mut outbound, slot } = setup;
    async move {
        // The opening steps run in their own future, so the socket they hold
        // before it is split takes no room in the serving state (issue 19).
        let Some((registered, socket)) = open(&conn, upgrade).await else { return };
        // Inline in the task: the reader and the writer take turns with it.
        let socket = std::sync::Mutex::new(socket);
        // Closing already (on_open panicked or closed it, or the server is
        // draining): no message reaches the handler.
        if !conn.is_closing() {
            let mut reader = pin!(read_loop(&conn, &socket, &mut handler));
            let reader_waker = Waker::from(Arc::clone(&conn.0));
            let mut writer = pin!(write_loop(&conn, &socket, &mut outbound, &reader_waker));
            // Reader first: when a pong and the heartbeat deadline are ready
            // in the same poll (an overloaded process), the pong must count,
            // and the replies it buffers go out in the writer's poll that
            // follows. The reader only when its waker was used (see `impl
            // Wake for ConnInner`), the writer on every poll.
            poll_fn(|cx| {
                conn.0.life.register_task(cx.waker());
                if conn.0.life.take_reader_wake()
                    && reader.as_mut().poll(&mut Context::from_waker(&reader_waker)).is_ready()
                {
                    return Poll::Ready(());
                }
                writer.as_mut().poll(cx)
            })
            .await;
        }
        conn.set_state(ConnState::Closing);
        // Server requests waiting for an answer resolve now (`Closed`).
        conn.0.requests.end();
        let (reason, frame) = conn.close_request().unwrap_or((CloseReason::Io, None));
        let ending = async {
            close_phase(&conn, &reason, frame, &socket, &mut outbound).await;
            if matches!(reason, CloseReason::ProtocolError { .. }) {
                // The peer may still be sending the message we refused (1009):
                // closing with its bytes unread would make the kernel reset the
                // connection, and the peer could lose our close frame.
                let socket = socket.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
                linger(socket, conn.0.route.opts.close_timeout).await;
            }
        };
        // Both are cut short when the server's drain time is up; the socket
        // goes with `ending`. `ending` is polled first, so a connection upgraded
        // after the drain time still writes its close frame (1001) before its
        // socket is dropped, instead of a reset half the time.
        tokio::select! {
            biased;
            () = ending => {}
            () = conn.env().hard_stopped() => tracing::debug!("close cut short: the drain time is up"),
        }
        drop(registered);
        drop(slot);
        if let Some(m) = conn.metrics() {
            m.closed(&reason);
        }
        tracing::debug!(reason = %reason, "connection closed");
        if let Some(on_close) = conn.0.route.opts.on_close {
            if AssertUnwindSafe(on_close(conn.clone(), reason)).catch_unwind().await.is_err() {
                tracing::error!("on_close hook panicked");
            }
        }
        // The connection's own values end with it, exactly once; dropped here,
        // outside the slots' lock (their `Drop` is user code).
        drop(conn.0.sessions.end());
    }
}

/// From the upgrade to an open connection: the WebSocket socket, the
/// registration in the hub, the route's room, the `on_open` hook. `None`
/// when the upgrade failed.
async fn open(conn: &Conn, upgrade: hyper::upgrade::OnUpgrade) -> Option<(Registered<'_>, WsSocket)> {
    let socket = match upgrade.await {
        Ok(upgraded) => {
            let route = &conn.0.route;
            Socket::new(TokioIo::new(upgraded), route.socket, route.guard_limits())
        }
        Err(e) => {
            tracing::debug!(error = %e, "upgrade failed");
            return None;
        }
    };
    if let Some(id) = tokio::task::try_id() {
        conn.set_task(id);
    }
    let registered = Registered(conn);
    conn.hub().0.register(conn);
    if let Some(m) = conn.metrics() {
        m.opened.inc();
        m.open.inc();
    }
    if conn.env().draining.load(Ordering::Acquire) {
        // Upgraded while the server started draining: close_all missed it.
        conn.request_close(CloseReason::Shutdown, Some(CloseFrame::new(CloseCode::Away, "server shutting down")));
    }
    if let Some(room) = conn.0.room.clone() {
        conn.join_synced(&room).await;
    }
    conn.0.route.sessions.make_defaults(&conn.0.sessions);
    if let Some(on_open) = conn.0.route.opts.on_open {
        if AssertUnwindSafe(on_open(conn.clone())).catch_unwind().await.is_err() {
            // Like a handler's panic: the connection may be half set up.
            tracing::error!("on_open hook panicked");
            if let Some(m) = conn.metrics() {
                m.handler_panics.inc();
            }
            conn.request_close(CloseReason::Panic, Some(CloseFrame::new(CloseCode::Error, "on_open panicked")));
        }
    }
    if conn.state() == ConnState::Connecting && !conn.is_closing() {
        conn.set_state(ConnState::Open);
    }
    tracing::debug!("connection open");
    Some((registered, socket))
}

type InFlight<Fut> = OptionFuture<CatchUnwind<AssertUnwindSafe<Fut>>>;

/// Reads frames, answers what the runtime answers itself, and runs the
/// handler on each message it takes, one at a time. While a handler runs, it
/// keeps reading control frames and holds at most one data message back.
pub(super) async fn read_loop<F, Fut>(conn: &Conn, socket: &Shared, handler: &mut F)
where
    F: FnMut(&CallCx<'_>) -> Result<Fut, Rejection>,
    Fut: Future,
    Fut::Output: IntoReply,
{
    let route = &conn.0.route;
    let idle = route.opts.idle_timeout;
    let mut inflight: Pin<&mut InFlight<Fut>> = pin!(OptionFuture::from(None));
    let mut busy = false;
    let mut pending: Option<Message> = None;
    // The `"id"` the call in flight answers (routes with `receives`).
    let mut acking: Option<CorrelationId> = None;
    // When the handler call in flight started (only counted with metrics).
    let mut started: Option<Instant> = None;
    let mut counted = Received::new(conn.metrics());
    let mut last_data = Instant::now();
    let options = &route.opts;
    let mut bucket = options.rate.map(|rate| Bucket::new(rate, options.burst));
    let reauth = options.reauth.filter(|_| options.auth.is_some() && conn.0.handshake.is_some());
    let mut next_reauth = reauth.map(|every| Instant::now() + every);
    // The idle and re-validation deadlines share one timer, allocated only
    // on a route that has either (8 bytes in every connection's task
    // instead of two 112-byte timers).
    let mut deadline: Option<Pin<Box<Sleep>>> =
        earliest(idle.map(|d| last_data + d), next_reauth).map(|at| Box::pin(sleep_until(at)));

    loop {
        tokio::select! {
            biased;
            out = &mut inflight, if busy => {
                busy = false;
                let done = started.take().map(|t| {
                    let now = Instant::now();
                    counted.handler_took(now.saturating_duration_since(t));
                    now
                });
                let reply = match out {
                    Some(Ok(value)) => value.into_reply(),
                    Some(Err(_panic)) => {
                        tracing::error!("handler panicked");
                        if let Some(m) = conn.metrics() {
                            m.handler_panics.inc();
                        }
                        conn.request_close(CloseReason::Panic, Some(CloseFrame::new(CloseCode::Error, "handler panicked")));
                        return;
                    }
                    None => Reply::None,
                };
                // The common replies go without waiting; the rest through
                // `deliver`, boxed: its future would otherwise take room in
                // every connection's task, idle or not (issue 19).
                let open = match acking.take() {
                    // A message with an `"id"`: its reply, then its one answer.
                    Some(id) => Box::pin(deliver_acked(conn, reply, &id)).await,
                    None => match deliver_now(conn, reply) {
                        Ok(open) => open,
                        Err(Later::Fifo(wire)) => {
                            conn.0.replies.push(wire).await;
                            true
                        }
                        Err(Later::Reply(reply)) => Box::pin(deliver(conn, reply)).await,
                    },
                };
                if !open {
                    return;
                }
                if let Some(message) = pending.take() {
                    conn.set_paused(false);
                    let at = done.unwrap_or(last_data);
                    // Read again: its id (an answer was handed over on arrival).
                    let Some(id) = correlate(conn, &message) else { continue };
                    match start(conn, handler, &message, id, inflight.as_mut(), &mut started, at) {
                        Ok(id) => (busy, acking) = (true, id),
                        // Rare: boxed, so its future takes no room in every connection's task.
                        Err((rejection, id)) => {
                            if !Box::pin(rejected(conn, rejection, id)).await {
                                return;
                            }
                        }
                    }
                }
            }
            frame = socket::next(socket), if pending.is_none() => {
                let message = match on_frame(conn, frame, &mut last_data, bucket.as_mut(), &mut counted) {
                    Frame::Dispatch(message) => message,
                    Frame::Skip => continue,
                    Frame::Stop => return,
                };
                // Read now, even while a handler runs: that handler may be
                // the one awaiting this answer to its request.
                let Some(id) = correlate(conn, &message) else { continue };
                if busy {
                    // Held back without its id (one pointer less in every
                    // connection's task): read again when it starts.
                    pending = Some(message);
                    conn.set_paused(true);
                } else {
                    // A data message's arrival time was just read; a control
                    // frame (for handlers taking `Message`) reads the clock.
                    let at = match message {
                        Message::Text(_) | Message::Binary(_) => last_data,
                        _ => Instant::now(),
                    };
                    match start(conn, handler, &message, id, inflight.as_mut(), &mut started, at) {
                        Ok(id) => (busy, acking) = (true, id),
                        // Rare: boxed, so its future takes no room in every connection's task.
                        Err((rejection, id)) => {
                            if !Box::pin(rejected(conn, rejection, id)).await {
                                return;
                            }
                        }
                    }
                }
            }
            () = fired(&mut deadline), if deadline.is_some() => {
                if next_reauth.is_some_and(|at| Instant::now() >= at) {
                    if !revalidate(conn).await {
                        conn.request_close(CloseReason::AuthExpired, Some(CloseFrame::new(CloseCode::Policy, "authentication expired")));
                        return;
                    }
                    next_reauth = reauth.map(|every| Instant::now() + every);
                }
                let idle_at = idle.map(|d| last_data + d);
                if idle_at.is_some_and(|at| Instant::now() >= at) {
                    conn.request_close(CloseReason::IdleTimeout, Some(CloseFrame::new(CloseCode::Normal, "idle timeout")));
                    return;
                }
                if let (Some(timer), Some(at)) = (deadline.as_mut(), earliest(idle_at, next_reauth)) {
                    timer.as_mut().reset(at);
                }
            }
            // Nothing else is ready: the read burst is over, count it.
            () = std::future::ready(()), if counted.pending() => counted.flush(),
        }
    }
}

/// The earlier of two deadlines, if any.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Resolves when the timer fires (never without one).
fn fired(timer: &mut Option<Pin<Box<Sleep>>>) -> impl Future<Output = ()> + '_ {
    std::future::poll_fn(move |cx| match timer {
        Some(sleep) => sleep.as_mut().poll(cx),
        None => std::task::Poll::Pending,
    })
}

/// Runs the route's validator again on the kept handshake; false when it refuses.
async fn revalidate(conn: &Conn) -> bool {
    let (Some(auth), Some(handshake)) = (conn.0.route.opts.auth, conn.0.handshake.as_deref()) else {
        return true;
    };
    let env = conn.env();
    let cx = HandshakeCx { handshake, state: &env.state };
    match tokio::time::timeout(env.handshake_timeout, auth(cx)).await {
        Ok(Ok(_)) => true,
        Ok(Err(_)) | Err(_) => {
            tracing::debug!("re-validation refused the connection");
            false
        }
    }
}

/// What the reader does with a frame.
enum Frame {
    /// Hand it to the handler.
    Dispatch(Message),
    /// Answered or ignored by the runtime.
    Skip,
    /// The connection ends (the close reason is recorded).
    Stop,
}

/// Counts a frame and applies the runtime's own rules to it: close frames,
/// pongs (RTT), `app_ping`, the message rate, and the handler's kinds (1003).
fn on_frame(
    conn: &Conn,
    frame: Option<Result<tungstenite::Message, ReadError>>,
    last_data: &mut Instant,
    bucket: Option<&mut Bucket>,
    counted: &mut Received<'_>,
) -> Frame {
    conn.touch();
    let message = match frame.map(|f| f.map(Message::from_wire)) {
        Some(Ok(Some(message))) => message,
        Some(Ok(None)) => return Frame::Skip,
        Some(Err(e)) => {
            let (reason, frame) = classify(e);
            conn.request_close(reason, frame);
            return Frame::Stop;
        }
        None => {
            conn.request_close(CloseReason::Io, None);
            return Frame::Stop;
        }
    };
    counted.message(message.kind(), message.len());
    let route = &conn.0.route;
    // The message rate counts every data message, `app_ping`s included.
    let arrived = matches!(message, Message::Text(_) | Message::Binary(_)).then(Instant::now);
    if let (Some(now), Some(bucket)) = (arrived, bucket) {
        if !bucket.take(now) {
            tracing::debug!("message rate exceeded");
            let frame = CloseFrame::new(CloseCode::Policy, "message rate limit exceeded");
            conn.request_close(CloseReason::RateLimited, Some(frame));
            return Frame::Stop;
        }
    }
    match &message {
        Message::Close(frame) => {
            conn.request_close(peer_close_reason(frame.as_ref()), None);
            return Frame::Stop;
        }
        // Only the pong of our own ping counts: an unsolicited one says
        // nothing of the round trip, and must not hold an idle peer open.
        Message::Pong(payload) => {
            if conn.record_rtt(payload) && conn.0.route.opts.idle_counts_pings {
                *last_data = Instant::now();
            }
        }
        // The socket holds the Pong that answers it; the writer sends it
        // in this same poll of the task.
        Message::Ping(payload) => {
            if let Some(m) = conn.metrics() {
                m.sent(MessageKind::Pong, payload.len());
            }
            if conn.0.route.opts.idle_counts_pings {
                *last_data = Instant::now();
            }
        }
        Message::Text(text) if route.opts.app_ping == Some(text.as_str()) => {
            let pong = route.opts.app_pong;
            let answer = conn.push(tungstenite::Message::Text(Utf8Bytes::from_static(pong)));
            if answer == Err(super::SendError::Full) {
                if let Some(m) = conn.metrics() {
                    m.dropped_queue_full.inc();
                }
            }
            return Frame::Skip;
        }
        Message::Text(_) | Message::Binary(_) => {
            *last_data = arrived.unwrap_or_else(Instant::now);
            if !route.kinds.accepts(&message) {
                let expected = if message.is_text() { "binary" } else { "text" };
                let frame =
                    CloseFrame::new(CloseCode::Unsupported, &format!("this endpoint takes {expected} messages"));
                conn.request_close(CloseReason::UnsupportedData, Some(frame));
                return Frame::Stop;
            }
        }
    }
    if route.kinds.accepts(&message) {
        Frame::Dispatch(message)
    } else {
        Frame::Skip
    }
}

/// A message's `"id"` as the reader read it (see [`correlate`]): the id its
/// call answers, or why it is refused.
type Correlated = Result<Option<CorrelationId>, &'static str>;

/// Extracts the arguments and starts the handler: `Ok` (with the `"id"` the
/// call answers when it ends) when a call is in flight, the refusal
/// otherwise (for `rejected`, with the id it answers).
fn start<F, Fut>(
    conn: &Conn,
    handler: &mut F,
    message: &Message,
    id: Correlated,
    mut inflight: Pin<&mut InFlight<Fut>>,
    started: &mut Option<Instant>,
    at: Instant,
) -> Result<Option<CorrelationId>, (Rejection, Option<CorrelationId>)>
where
    F: FnMut(&CallCx<'_>) -> Result<Fut, Rejection>,
    Fut: Future,
{
    let id = id.map_err(|refusal| (Rejection::error_reply(refusal), None))?;
    let fut = match handler(&CallCx { conn, message }) {
        Ok(fut) => fut,
        Err(rejection) => return Err((rejection, id)),
    };
    inflight.set(Some(AssertUnwindSafe(fut).catch_unwind()).into());
    *started = conn.metrics().filter(|_| conn.0.route.opts.handler_timing).map(|_| at);
    Ok(id)
}

/// Reads a text message's `"id"`, before it waits for the handler: on a
/// route with `receives`, the id its call answers (or why it is refused);
/// `None` when the message is the client's answer to a server request,
/// handed to its waiter here (no handler call: it may be the handler in
/// flight that awaits it). Routes without `receives` read answers only
/// while a request of theirs waits, and answer nothing.
fn correlate(conn: &Conn, message: &Message) -> Option<Correlated> {
    let Message::Text(text) = message else { return Some(Ok(None)) };
    let answers = conn.0.route.opts.receives.is_some();
    if !answers && !conn.0.requests.any() {
        return Some(Ok(None));
    }
    match correlation::classify(text.as_str()) {
        Ok(Inbound::Plain) => Some(Ok(None)),
        Ok(Inbound::Request(id)) => Some(Ok(answers.then_some(id))),
        Ok(Inbound::Answer { id, ok }) => {
            if !conn.0.requests.answer(&id, (ok, text.clone())) {
                tracing::debug!("an answer to no pending request (late or unknown): ignored");
            }
            None
        }
        Err(refusal) if answers => Some(Err(refusal)),
        Err(_) => Some(Ok(None)),
    }
}

/// Why a peer's close frame ended the connection (a forbidden code or an
/// invalid reason never gets here: the socket refuses it as a protocol error).
fn peer_close_reason(frame: Option<&CloseFrame>) -> CloseReason {
    CloseReason::Peer { code: frame.map(|f| f.code) }
}

/// The close reason and the frame to answer with for a read error.
fn classify(error: ReadError) -> (CloseReason, Option<CloseFrame>) {
    let refusal = match error {
        ReadError::Refused(refusal) => refusal,
        ReadError::Io(e) => {
            tracing::debug!(error = %e, "read failed");
            return (CloseReason::Io, None);
        }
        ReadError::Violated(violation) => {
            tracing::debug!(%violation, "frame guard closed the connection");
            let reason = match violation {
                Violation::ControlRate => CloseReason::RateLimited,
                Violation::FragmentTimeout => CloseReason::FragmentTimeout,
            };
            return (reason, Some(CloseFrame::new(CloseCode::Policy, &violation.to_string())));
        }
    };
    let code = match refusal {
        Refusal::Protocol(_) => CloseCode::Protocol,
        Refusal::TooLong => CloseCode::Size,
        Refusal::NotUtf8 => CloseCode::Invalid,
    };
    tracing::debug!(code = %code, error = %refusal, "protocol error");
    (CloseReason::ProtocolError { code }, Some(CloseFrame::new(code, &refusal.to_string())))
}
