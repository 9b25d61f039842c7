//! The frame guard: a thin layer between the upgraded socket and
//! tungstenite that reads every frame *header* as the bytes go by (payloads
//! are counted past, never copied) and enforces what tungstenite cannot see,
//! since it answers pings and assembles fragments on its own:
//!
//! - the control budget: pings, pongs and empty continuation frames take a
//!   token of the route's `control_rate` bucket; a peer that sends them
//!   faster (a ping flood, or endless empty fragments that keep a message
//!   open) is closed with 1008;
//! - the fragment deadline: a fragmented message must be complete
//!   `fragment_timeout` after its first frame, or the connection closes with
//!   1008, whatever else (pongs, pings) the peer keeps sending meanwhile.
//!
//! A violation makes the read fail with an [`io::Error`] carrying a
//! [`Violation`]; the reader turns it into the close code, the metric and
//! the log line.
//!
//! ```text
//! bytes in ─▶ Guarded::poll_read ─▶ FrameScan::feed (headers only) ─▶ budget, deadline
//!                                 └─▶ tungstenite (frames, messages)
//! ```

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::limits::{Bucket, Rate};

/// A frame header as it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) fin: bool,
    pub(crate) opcode: u8,
    pub(crate) len: u64,
}

/// An incremental reader of frame headers (RFC 6455 section 5.2): fed the
/// bytes of the stream in any cuts, it reports each header once complete
/// and skips the payload by counting. It never allocates and never fails:
/// what is malformed is tungstenite's to refuse.
#[derive(Debug, Default, Clone)]
pub(crate) struct FrameScan {
    head: [u8; 14],
    have: usize,
    /// Payload bytes of the current frame still to skip.
    skip: u64,
}

impl FrameScan {
    /// Feeds `bytes`, calling `on_header` for each header completed in them.
    pub(crate) fn feed(&mut self, mut bytes: &[u8], mut on_header: impl FnMut(Header)) {
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = usize::try_from(self.skip).unwrap_or(usize::MAX).min(bytes.len());
                self.skip -= n as u64;
                bytes = &bytes[n..];
                continue;
            }
            self.head[self.have] = bytes[0];
            self.have += 1;
            bytes = &bytes[1..];
            if self.have < 2 || self.have < header_len(self.head[1]) {
                continue;
            }
            let header = parse(&self.head[..self.have]);
            self.have = 0;
            self.skip = header.len;
            on_header(header);
        }
    }
}

/// The length of a header whose second byte is `second`.
fn header_len(second: u8) -> usize {
    let mask = if second & 0x80 != 0 { 4 } else { 0 };
    let extended = match second & 0x7F {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + extended + mask
}

fn parse(head: &[u8]) -> Header {
    let len = match head[1] & 0x7F {
        126 => u64::from(u16::from_be_bytes([head[2], head[3]])),
        127 => head[2..10].iter().fold(0u64, |n, b| n << 8 | u64::from(*b)),
        short => u64::from(short),
    };
    Header { fin: head[0] & 0x80 != 0, opcode: head[0] & 0x0F, len }
}

/// Why the guard ended a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Violation {
    /// Pings, pongs and empty continuation frames came faster than `control_rate`.
    #[error("control frame rate exceeded")]
    ControlRate,
    /// A fragmented message was not complete within `fragment_timeout`.
    #[error("fragmented message not completed in time")]
    FragmentTimeout,
}

impl Violation {
    /// The violation an I/O error of the guard carries, if it is one.
    pub(crate) fn of(error: &io::Error) -> Option<Violation> {
        error.get_ref().and_then(|inner| inner.downcast_ref::<Violation>()).copied()
    }
}

/// What the guard enforces, per route.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) control_rate: Rate,
    pub(crate) fragment_timeout: Duration,
}

/// The upgraded socket with the guard in front of its reading side.
#[derive(Debug)]
pub(crate) struct Guarded<S> {
    io: S,
    scan: FrameScan,
    control: Bucket,
    fragment_timeout: Duration,
    /// Set while a fragmented message is open: when it must be complete.
    /// Allocated for the first fragmented message only.
    deadline: Option<Pin<Box<Sleep>>>,
    open: bool,
    violated: Option<Violation>,
}

impl<S> Guarded<S> {
    pub(crate) fn new(io: S, limits: Limits) -> Self {
        Guarded {
            io,
            scan: FrameScan::default(),
            control: Bucket::new(limits.control_rate, None),
            fragment_timeout: limits.fragment_timeout,
            deadline: None,
            open: false,
            violated: None,
        }
    }

    /// The socket, for the lingering close (which reads past the guard).
    pub(crate) fn into_inner(self) -> S {
        self.io
    }

    /// Applies the budget and the deadline to the frames in `bytes`.
    fn inspect(&mut self, bytes: &[u8]) {
        let Guarded { scan, control, open, deadline, fragment_timeout, violated, .. } = self;
        let mut now = None;
        scan.feed(bytes, |h| {
            let at = *now.get_or_insert_with(Instant::now);
            let counts = matches!(h.opcode, 0x9 | 0xA) || (h.opcode == 0x0 && h.len == 0);
            if counts && !control.take(at) {
                violated.get_or_insert(Violation::ControlRate);
            }
            match (h.opcode, h.fin) {
                (0x1 | 0x2, false) => {
                    *open = true;
                    let until = at + *fragment_timeout;
                    match deadline {
                        Some(sleep) => sleep.as_mut().reset(until),
                        None => *deadline = Some(Box::pin(tokio::time::sleep_until(until))),
                    }
                }
                (0x0, true) => *open = false,
                _ => {}
            }
        });
    }

    fn failed(violation: Violation) -> Poll<io::Result<()>> {
        Poll::Ready(Err(io::Error::other(violation)))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(violation) = this.violated {
            return Self::failed(violation);
        }
        if this.open {
            if let Some(deadline) = this.deadline.as_mut() {
                if deadline.as_mut().poll(cx).is_ready() {
                    this.violated = Some(Violation::FragmentTimeout);
                    return Self::failed(Violation::FragmentTimeout);
                }
            }
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.inspect(buf.filled().get(before..).unwrap_or_default());
            if let Some(violation) = this.violated {
                return Self::failed(violation);
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(fin: bool, opcode: u8, len: usize, masked: bool) -> Vec<u8> {
        let mut out = vec![u8::from(fin) << 7 | opcode];
        let mask_bit = if masked { 0x80 } else { 0 };
        match len {
            0..=125 => out.push(mask_bit | len as u8),
            126..=65535 => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        if masked {
            out.extend_from_slice(&[1, 2, 3, 4]);
        }
        out.extend(std::iter::repeat_n(7u8, len));
        out
    }

    #[test]
    fn headers_are_found_whatever_the_cuts() {
        let frames = [(false, 1, 3, true), (true, 0, 0, true), (true, 9, 125, false), (true, 2, 300, true)];
        let mut wire = Vec::new();
        for (fin, opcode, len, masked) in frames {
            wire.extend(frame(fin, opcode, len, masked));
        }
        wire.extend(frame(true, 2, 70_000, true));
        let expected: Vec<Header> = frames
            .iter()
            .map(|(fin, opcode, len, _)| Header { fin: *fin, opcode: *opcode, len: *len as u64 })
            .chain([Header { fin: true, opcode: 2, len: 70_000 }])
            .collect();
        for cut in [1, 2, 3, 7, 64, 1000, wire.len()] {
            let mut scan = FrameScan::default();
            let mut seen = Vec::new();
            for chunk in wire.chunks(cut) {
                scan.feed(chunk, |h| seen.push(h));
            }
            assert_eq!(seen, expected, "cut {cut}");
        }
    }

    #[test]
    fn violations_travel_in_io_errors() {
        let e = io::Error::other(Violation::ControlRate);
        assert_eq!(Violation::of(&e), Some(Violation::ControlRate));
        assert_eq!(Violation::of(&io::Error::other("other")), None);
    }

    #[tokio::test]
    async fn the_control_budget_and_the_fragment_deadline_hold() {
        use tokio::io::AsyncReadExt;
        let limits = |count| Limits {
            control_rate: Rate { count, per: Duration::from_secs(3600) },
            fragment_timeout: Duration::from_millis(20),
        };
        let pings: Vec<u8> = (0..5).flat_map(|_| frame(true, 9, 0, true)).collect();
        let mut guarded = Guarded::new(&pings[..], limits(4));
        let mut buf = [0u8; 64];
        let error = guarded.read(&mut buf).await.expect_err("5 pings over a budget of 4");
        assert_eq!(Violation::of(&error), Some(Violation::ControlRate));

        let (mut client, server) = tokio::io::duplex(64);
        let mut guarded = Guarded::new(server, limits(100));
        tokio::io::AsyncWriteExt::write_all(&mut client, &frame(false, 1, 2, true)).await.expect("write");
        assert_eq!(guarded.read(&mut buf).await.expect("first fragment"), 8);
        let error = guarded.read(&mut buf).await.expect_err("the fragment deadline");
        assert_eq!(Violation::of(&error), Some(Violation::FragmentTimeout));
    }
}
