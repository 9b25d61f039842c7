//! The socket a connection runs on: RFC 6455 over the upgraded connection,
//! our own (issue 19), shared by the reader (`task.rs`) and the writer
//! (`writer.rs`) of one task.
//!
//! What an idle connection holds here is the struct itself, inline in its
//! task, and no buffer: bytes are read into a chunk on the stack of the
//! poll that reads them, and only the bytes of a frame that is not complete
//! yet are kept on the heap (reserved to the frame's announced length, so a
//! large message is read straight into its own buffer and handed over
//! without a copy). The write buffer holds the frames of a batch until they
//! are written and is released when large. The two halves take turns
//! through a lock that is never contended (both run in the connection's
//! task, neither holds it across an await): no split, no shared
//! allocation, no waker proxies.
//!
//! ```text
//! socket ─▶ poll_read (stack chunk) ─▶ frame::parse ─▶ unmask ─▶ message ─▶ reader
//!        ◀─ poll_write ◀─ out (frames of a batch, pongs, the close answer) ◀─ writer
//! ```

use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::pin::{pin, Pin};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::frame::{self, op, Header, Refusal};
use super::guard::{self, Guard, Violation};

/// An upgraded HTTP/1.1 connection speaking WebSocket.
pub(crate) type WsSocket = Socket<TokioIo<hyper::upgrade::Upgraded>>;

/// The socket as the reader and the writer share it.
pub(super) type Shared = Mutex<WsSocket>;

/// Other tasks' messages for this connection.
pub(super) type Outbound = super::outbox::Receiver;

/// The bytes read from the socket in one read, at most (the stack chunk).
pub(crate) const MAX_READ_CHUNK: usize = 16 * 1024;

/// The most room reserved ahead for the rest of an incomplete frame.
const MAX_RESERVE: usize = 256 * 1024;

/// Write buffers up to this capacity are kept between batches; larger ones
/// are released once written, so a burst leaves nothing behind.
const KEEP_WRITE_BUFFER: usize = 1024;

/// What a socket enforces and how it buffers (per route).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Longest frame and message taken (`max_message`).
    pub(crate) max_message: usize,
    /// Bytes read per read (`Config::read_buffer`, at most [`MAX_READ_CHUNK`]).
    pub(crate) read_chunk: usize,
    /// Buffered bytes past which frames are written before more are buffered.
    pub(crate) write_buffer: usize,
    /// Most bytes the write buffer holds.
    pub(crate) max_write_buffer: usize,
}

/// Why reading failed.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The connection failed.
    Io(io::Error),
    /// The peer broke the protocol, or sent more than the route takes.
    Refused(Refusal),
    /// The frame guard ended it (`guard.rs`).
    Violated(Violation),
}

impl From<Refusal> for ReadError {
    fn from(refusal: Refusal) -> Self {
        ReadError::Refused(refusal)
    }
}

impl From<Violation> for ReadError {
    fn from(violation: Violation) -> Self {
        ReadError::Violated(violation)
    }
}

/// What [`Socket::buffer`] did with a message.
#[derive(Debug)]
pub(crate) enum Buffered {
    /// In the write buffer.
    Queued,
    /// The buffer is too full: write it out, then offer the message again.
    Full(Message),
    /// Larger than the write buffer can ever hold, or after our close frame: not sent.
    Dropped,
}

/// One connection's WebSocket state over its I/O.
#[derive(Debug)]
pub(crate) struct Socket<S> {
    io: S,
    limits: Limits,
    guard: Guard,
    /// The header at the start of `inbuf` went through the guard.
    inspected: bool,
    /// Received bytes not taken yet: empty, with no allocation, unless a
    /// frame is incomplete or frames came together.
    inbuf: BytesMut,
    /// The fragmented message being assembled (boxed: rare, and every
    /// connection's task would hold its room).
    partial: Option<Box<Partial>>,
    /// A close frame was read, or the stream ended: no more messages.
    ended: bool,
    /// Encoded frames; `out[written..]` is still to write.
    out: Vec<u8>,
    written: usize,
    /// Our close frame is buffered: nothing may follow it.
    closed: bool,
}

#[derive(Debug)]
struct Partial {
    text: bool,
    data: Vec<u8>,
    /// The prefix of `data` known to be UTF-8 (text).
    checked: usize,
}

/// The shared socket, locked (never contended; poisoning cannot leave it
/// inconsistent, as no method of it panics).
pub(super) fn lock(shared: &Shared) -> MutexGuard<'_, WsSocket> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The next message of the shared socket ([`Socket::poll_next`]).
pub(super) fn next(shared: &Shared) -> impl Future<Output = Option<Result<Message, ReadError>>> + '_ {
    std::future::poll_fn(move |cx| lock(shared).poll_next(cx))
}

/// Writes out the shared socket's buffer ([`Socket::poll_flush`]).
pub(super) fn flush(shared: &Shared) -> impl Future<Output = io::Result<()>> + '_ {
    std::future::poll_fn(move |cx| lock(shared).poll_flush(cx))
}

impl<S> Socket<S> {
    pub(crate) fn new(io: S, limits: Limits, guard: guard::Limits) -> Self {
        Socket {
            io,
            limits,
            guard: Guard::new(guard),
            inspected: false,
            inbuf: BytesMut::new(),
            partial: None,
            ended: false,
            out: Vec::new(),
            written: 0,
            closed: false,
        }
    }

    /// The I/O, for the lingering close.
    pub(crate) fn into_inner(self) -> S {
        self.io
    }

    /// Whether frames wait to be written: pongs, or the answer to the
    /// peer's close. The writer looks at each wake-up without a waker: the
    /// reader runs before it in every poll of the connection's task
    /// (`task::run`), so it sees at once what the reader just buffered.
    pub(crate) fn wants_flush(&self) -> bool {
        self.written < self.out.len()
    }

    /// Whether a frame of `len` payload bytes fits the write buffer now.
    fn fits(&self, len: usize) -> bool {
        self.out.len() - self.written + frame::encoded_len(len) <= self.limits.max_write_buffer
    }

    /// Whether the write buffer passed `write_buffer` (write before buffering more).
    pub(crate) fn over_write_buffer(&self) -> bool {
        self.out.len() - self.written >= self.limits.write_buffer
    }

    /// Encodes `message` into the write buffer.
    pub(crate) fn buffer(&mut self, message: Message) -> Buffered {
        if self.closed {
            return Buffered::Dropped;
        }
        let len = match &message {
            Message::Text(t) => t.len(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b.len(),
            Message::Close(frame) => frame.as_ref().map_or(0, |f| 2 + f.reason.len()),
            Message::Frame(_) => return Buffered::Dropped,
        };
        if len > 125 && matches!(message, Message::Ping(_) | Message::Pong(_) | Message::Close(_)) {
            // A control frame carries at most 125 bytes (RFC 6455 section 5.5).
            tracing::warn!(bytes = len, "control frame longer than 125 bytes dropped");
            return Buffered::Dropped;
        }
        if !self.fits(len) {
            if self.written < self.out.len() {
                return Buffered::Full(message);
            }
            tracing::warn!(bytes = len, "message larger than max_write_buffer dropped");
            return Buffered::Dropped;
        }
        match &message {
            Message::Text(t) => frame::encode(&mut self.out, op::TEXT, &[t.as_bytes()]),
            Message::Binary(b) => frame::encode(&mut self.out, op::BINARY, &[b]),
            Message::Ping(b) => frame::encode(&mut self.out, op::PING, &[b]),
            Message::Pong(b) => frame::encode(&mut self.out, op::PONG, &[b]),
            Message::Close(frame) => self.queue_close(frame.as_ref()),
            Message::Frame(_) => {}
        }
        Buffered::Queued
    }

    /// Buffers our close frame (or our answer to the peer's); nothing is sent after it.
    fn queue_close(&mut self, frame: Option<&CloseFrame>) {
        match frame {
            Some(f) => {
                let code = u16::from(f.code).to_be_bytes();
                frame::encode(&mut self.out, op::CLOSE, &[&code, f.reason.as_bytes()]);
            }
            None => frame::encode(&mut self.out, op::CLOSE, &[]),
        }
        self.closed = true;
    }

    /// What a complete frame means: a message for the reader, or `None`
    /// (a fragment taken in).
    fn take_frame(&mut self, header: Header, payload: Bytes) -> Result<Option<Message>, Refusal> {
        match header.opcode {
            op::TEXT | op::BINARY => {
                if self.partial.is_some() {
                    return Err(Refusal::Protocol("a new message inside a fragmented one"));
                }
                let text = header.opcode == op::TEXT;
                if header.fin {
                    return complete(text, payload).map(Some);
                }
                let checked = if text { frame::check_text(&payload, 0, false)? } else { 0 };
                self.partial = Some(Box::new(Partial { text, data: Vec::from(payload), checked }));
                Ok(None)
            }
            op::CONTINUATION => {
                let Some(partial) = self.partial.as_mut() else {
                    return Err(Refusal::Protocol("a continuation frame outside a fragmented message"));
                };
                if partial.data.len() + payload.len() > self.limits.max_message {
                    return Err(Refusal::TooLong);
                }
                partial.data.extend_from_slice(&payload);
                if partial.text {
                    partial.checked = frame::check_text(&partial.data, partial.checked, header.fin)?;
                }
                match self.partial.take_if(|_| header.fin) {
                    Some(done) => complete(done.text, Bytes::from(done.data)).map(Some),
                    None => Ok(None),
                }
            }
            op::PING => {
                // Answered in order with the next write. A peer that pings
                // and never reads cannot grow the buffer past its bound
                // (nor faster than the guard's control budget).
                if !self.closed && self.fits(payload.len()) {
                    frame::encode(&mut self.out, op::PONG, &[&payload]);
                }
                Ok(Some(Message::Ping(payload)))
            }
            op::PONG => Ok(Some(Message::Pong(payload))),
            _ => {
                let frame = frame::close_payload(payload)?;
                self.ended = true;
                if !self.closed {
                    // Echo the peer's close (RFC 6455 section 5.5.1).
                    self.queue_close(frame.as_ref());
                }
                Ok(Some(Message::Close(frame)))
            }
        }
    }

    /// The first complete frame in `inbuf`, split off it; when the frame
    /// is incomplete, room is reserved for the rest of it.
    fn buffered_frame(&mut self) -> Result<Option<(Header, Bytes)>, ReadError> {
        let Some(header) = frame::parse(&self.inbuf, self.limits.max_message)? else {
            self.inbuf.reserve(frame::MAX_HEADER);
            return Ok(None);
        };
        if !self.inspected {
            self.guard.on_header(header.fin, header.opcode, header.len)?;
            self.inspected = true;
        }
        let total = header.total();
        if self.inbuf.len() < total {
            // Not all at once: a peer announcing a large frame and sending
            // it slowly gets its buffer as the bytes come.
            self.inbuf.reserve((total - self.inbuf.len()).min(MAX_RESERVE));
            return Ok(None);
        }
        let _ = self.inbuf.split_to(header.size);
        let mut payload = self.inbuf.split_to(header.len);
        self.inspected = false;
        frame::unmask(&mut payload, header.mask, 0);
        if self.inbuf.is_empty() {
            // Nothing pending: the connection holds no read buffer.
            self.inbuf = BytesMut::new();
        }
        Ok(Some((header, payload.freeze())))
    }
}

/// A complete message's payload as the message.
fn complete(text: bool, payload: Bytes) -> Result<Message, Refusal> {
    if text {
        Utf8Bytes::try_from(payload).map(Message::Text).map_err(|_| Refusal::NotUtf8)
    } else {
        Ok(Message::Binary(payload))
    }
}

impl<S: AsyncRead + Unpin> Socket<S> {
    /// The next message (pings and pongs included; a close frame is the
    /// last); `None` once the stream ended.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, ReadError>>> {
        let result = loop {
            if self.ended {
                return Poll::Ready(None);
            }
            if let Err(violation) = self.guard.poll_deadline(cx) {
                break Err(violation.into());
            }
            if !self.inbuf.is_empty() {
                match self.buffered_frame() {
                    Ok(Some((header, payload))) => match self.take_frame(header, payload) {
                        Ok(Some(message)) => break Ok(message),
                        Ok(None) => continue,
                        Err(refusal) => break Err(refusal.into()),
                    },
                    Ok(None) => {}
                    Err(e) => break Err(e),
                }
                // Part of a frame: read the rest into the room reserved for it.
                match ready!(pin!(self.io.read_buf(&mut self.inbuf)).poll(cx)) {
                    Ok(0) => self.ended = true,
                    Ok(_) => {}
                    Err(e) => break Err(ReadError::Io(e)),
                }
                continue;
            }
            match self.poll_chunk(cx) {
                Poll::Ready(Ok(Some(message))) => break Ok(message),
                Poll::Ready(Ok(None)) => {}
                Poll::Ready(Err(e)) => break Err(e),
                Poll::Pending => return Poll::Pending,
            }
        };
        if result.is_err() {
            self.ended = true;
        }
        Poll::Ready(Some(result))
    }

    /// Reads into a chunk on the stack (nothing buffered yet) and takes the
    /// frames in it: the first message, if any. What follows it, or an
    /// incomplete frame, goes to `inbuf`.
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Message>, ReadError>> {
        let mut chunk = [const { MaybeUninit::<u8>::uninit() }; MAX_READ_CHUNK];
        let mut read = ReadBuf::uninit(&mut chunk[..self.limits.read_chunk]);
        ready!(Pin::new(&mut self.io).poll_read(cx, &mut read)).map_err(ReadError::Io)?;
        let mut bytes = read.filled();
        if bytes.is_empty() {
            self.ended = true;
            return Poll::Ready(Ok(None));
        }
        loop {
            let header = match frame::parse(bytes, self.limits.max_message) {
                Ok(Some(header)) => header,
                Ok(None) => {
                    self.inbuf.extend_from_slice(bytes);
                    return Poll::Ready(Ok(None));
                }
                Err(refusal) => return Poll::Ready(Err(refusal.into())),
            };
            self.guard.on_header(header.fin, header.opcode, header.len)?;
            if header.total() > bytes.len() {
                self.inbuf.reserve(header.total().min(MAX_RESERVE));
                self.inbuf.extend_from_slice(bytes);
                self.inspected = true;
                return Poll::Ready(Ok(None));
            }
            let (payload, rest) = bytes[header.size..].split_at(header.len);
            bytes = rest;
            let payload = if payload.is_empty() {
                Bytes::new()
            } else {
                let mut owned = payload.to_vec();
                frame::unmask(&mut owned, header.mask, 0);
                Bytes::from(owned)
            };
            match self.take_frame(header, payload) {
                Ok(Some(message)) => {
                    if !bytes.is_empty() && !self.ended {
                        self.inbuf.extend_from_slice(bytes);
                    }
                    return Poll::Ready(Ok(Some(message)));
                }
                Ok(None) if bytes.is_empty() => return Poll::Ready(Ok(None)),
                Ok(None) => {}
                Err(refusal) => return Poll::Ready(Err(refusal.into())),
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> Socket<S> {
    /// Writes out the write buffer, then flushes the I/O. Keeps its place
    /// across `Pending`.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.out.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.out[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.written = 0;
        if self.out.capacity() > KEEP_WRITE_BUFFER {
            self.out = Vec::new();
        } else {
            self.out.clear();
        }
        Pin::new(&mut self.io).poll_flush(cx)
    }
}

/// Reads `bytes`, arriving `cut` bytes at a time, to the end: what each
/// read gave (a message, or how the reading failed). For the fuzz target
/// `frame_reader` (`crate::fuzzing`); its own runtime, for the guard's timer.
pub(crate) fn read_all(bytes: &[u8], cut: usize) -> Vec<Result<Message, String>> {
    use std::sync::OnceLock;
    /// Gives at most `cut` bytes per read.
    struct Cuts<'a>(&'a [u8], usize);
    impl AsyncRead for Cuts<'_> {
        fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
            let n = self.1.min(buf.remaining()).min(self.0.len());
            let (now, later) = self.0.split_at(n);
            buf.put_slice(now);
            self.0 = later;
            Poll::Ready(Ok(()))
        }
    }
    static RUNTIME: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_time().build().ok());
    let _entered = runtime.as_ref().map(tokio::runtime::Runtime::enter);
    let limits = Limits { max_message: 1 << 16, read_chunk: 4096, write_buffer: 1 << 17, max_write_buffer: 1 << 20 };
    let guard = guard::Limits {
        control_rate: crate::limits::Rate { count: 1000, per: std::time::Duration::from_secs(1) },
        fragment_timeout: std::time::Duration::from_secs(3600),
    };
    let mut socket = Socket::new(Cuts(bytes, cut), limits, guard);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let mut read = Vec::new();
    while let Poll::Ready(Some(result)) = socket.poll_next(&mut cx) {
        read.push(result.map_err(|e| format!("{e:?}")));
    }
    read
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::{SinkExt, StreamExt};
    use tokio::io::DuplexStream;
    use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, Role};
    use tokio_tungstenite::WebSocketStream;

    use super::*;

    const LIMITS: Limits =
        Limits { max_message: 1 << 20, read_chunk: 4096, write_buffer: 1 << 17, max_write_buffer: 1 << 20 };
    const GUARD: guard::Limits = guard::Limits {
        control_rate: crate::limits::Rate { count: 100, per: Duration::from_secs(1) },
        fragment_timeout: Duration::from_secs(30),
    };

    async fn pair() -> (Socket<DuplexStream>, WebSocketStream<DuplexStream>) {
        // Room for the largest message each way: the test sends before it reads.
        let (a, b) = tokio::io::duplex(1 << 21);
        (Socket::new(a, LIMITS, GUARD), WebSocketStream::from_raw_socket(b, Role::Client, None).await)
    }

    async fn next(socket: &mut Socket<DuplexStream>) -> Option<Message> {
        let read = std::future::poll_fn(|cx| socket.poll_next(cx));
        tokio::time::timeout(Duration::from_secs(5), read).await.expect("in time").map(|r| r.expect("a message"))
    }

    async fn flush(socket: &mut Socket<DuplexStream>) {
        let write = std::future::poll_fn(|cx| socket.poll_flush(cx));
        tokio::time::timeout(Duration::from_secs(5), write).await.expect("in time").expect("written");
    }

    #[tokio::test]
    async fn messages_of_every_size_and_kind_cross_both_ways() {
        let (mut server, mut client) = pair().await;
        for len in [0, 1, 125, 126, 4095, 4096, 70_000, 300_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            client.send(Message::binary(payload.clone())).await.expect("send");
            client.send(Message::text("t".repeat(len))).await.expect("send");
            assert_eq!(next(&mut server).await, Some(Message::binary(payload.clone())));
            assert_eq!(next(&mut server).await, Some(Message::text("t".repeat(len))));
            assert!(matches!(server.buffer(Message::binary(payload.clone())), Buffered::Queued));
            flush(&mut server).await;
            assert_eq!(client.next().await.expect("open").expect("frame"), Message::binary(payload));
        }
        assert!(server.inbuf.capacity() == 0 && server.out.capacity() <= KEEP_WRITE_BUFFER, "nothing kept");
    }

    #[tokio::test]
    async fn pings_are_answered_and_a_close_is_echoed_then_ends_the_stream() {
        let (mut server, mut client) = pair().await;
        client.send(Message::Ping(Bytes::from_static(b"p1"))).await.expect("ping");
        assert_eq!(next(&mut server).await, Some(Message::Ping(Bytes::from_static(b"p1"))));
        assert!(server.wants_flush());
        flush(&mut server).await;
        assert_eq!(client.next().await.expect("open").expect("pong"), Message::Pong(Bytes::from_static(b"p1")));
        let bye = CloseFrame { code: CloseCode::Library(4001), reason: "bye".into() };
        client.send(Message::Close(Some(bye.clone()))).await.expect("close");
        assert_eq!(next(&mut server).await, Some(Message::Close(Some(bye.clone()))));
        assert_eq!(next(&mut server).await, None);
        assert!(matches!(server.buffer(Message::text("late")), Buffered::Dropped), "nothing after a close");
        flush(&mut server).await;
        assert_eq!(client.next().await.expect("open").expect("echo"), Message::Close(Some(bye)));
    }

    #[tokio::test]
    async fn a_full_write_buffer_asks_for_a_write_first() {
        let (a, _b) = tokio::io::duplex(64);
        let limits = Limits { max_write_buffer: 300, ..LIMITS };
        let mut server = Socket::new(a, limits, GUARD);
        assert!(matches!(server.buffer(Message::binary(vec![0; 200])), Buffered::Queued));
        assert!(matches!(server.buffer(Message::binary(vec![0; 200])), Buffered::Full(_)));
        server.written = server.out.len();
        assert!(matches!(server.buffer(Message::binary(vec![0; 400])), Buffered::Dropped), "never fits");
        assert!(
            matches!(server.buffer(Message::Ping(vec![0; 126].into())), Buffered::Dropped),
            "control frames: <= 125 B"
        );
    }
}
