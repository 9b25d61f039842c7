//! Messages a connection's own task sends it (a handler's reply or
//! `conn.send` calls), handed from the reader to the writer inside that task
//! without a wake-up. Other tasks send through the outbound queue (`outbox`).
//!
//! A reply pushed through the outbound queue would wake the task that
//! is running it; tokio treats such a self-wake like a yield and may hand
//! the task to the other worker thread, which costs tail latency (the echo
//! benchmark's p99 was 5x plain tokio-tungstenite's). The reader and writer
//! are polled in the same task, the reader first, so a reply the reader
//! buffers here is seen by the writer in the same poll.
//!
//! Invariants: bounded (`queue` replies, `max_queue_bytes` payload bytes,
//! one reply always fits an empty buffer); a full buffer makes the reader
//! wait (backpressure on the peer's requests, as the queue would), and the
//! writer wakes it once it drained; everything the task itself sends goes
//! through this one FIFO, so a handler's `conn.send` calls and its returned
//! reply keep their order.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;
use std::task::{Poll, Waker};

use tokio_tungstenite::tungstenite;

use super::outbox::payload_len;
use crate::sync::lock;

#[derive(Debug)]
pub(crate) struct Replies {
    queue: Mutex<Buffered>,
    cap: usize,
    max_bytes: usize,
    reader: Mutex<Option<Waker>>,
    /// How many replies `queue` holds and whether `reader` holds a waker,
    /// updated under the lock: the writer's checks of an empty buffer, on
    /// every one of its wake-ups, take no lock (issue 19). Only the
    /// connection's own task uses the buffer, so relaxed loads see its
    /// own stores.
    queued: AtomicU32,
    reader_waits: AtomicBool,
}

#[derive(Debug, Default)]
struct Buffered {
    items: VecDeque<tungstenite::Message>,
    /// Payload bytes of `items`.
    bytes: usize,
}

impl Buffered {
    fn push(&mut self, reply: tungstenite::Message) {
        self.bytes += payload_len(&reply);
        self.items.push_back(reply);
    }
}

impl Replies {
    pub(crate) fn new(cap: usize, max_bytes: usize) -> Self {
        Replies {
            queue: Mutex::default(),
            cap: cap.max(1),
            max_bytes,
            reader: Mutex::new(None),
            queued: AtomicU32::new(0),
            reader_waits: AtomicBool::new(false),
        }
    }

    /// Records how many replies `queue` holds (called under its lock).
    fn counted(&self, queue: &Buffered) {
        // Only zero or not matters: a count past u32::MAX reads as full.
        self.queued.store(u32::try_from(queue.items.len()).unwrap_or(u32::MAX), Ordering::Relaxed);
    }

    /// Wakes the reader if it waits for room.
    fn wake_reader(&self) {
        if self.reader_waits.load(Ordering::Relaxed) {
            self.reader_waits.store(false, Ordering::Relaxed);
            if let Some(reader) = lock(&self.reader).take() {
                reader.wake();
            }
        }
    }

    /// Whether `reply` fits now.
    fn fits(&self, queue: &Buffered, reply: &tungstenite::Message) -> bool {
        queue.items.is_empty()
            || (queue.items.len() < self.cap && queue.bytes.saturating_add(payload_len(reply)) <= self.max_bytes)
    }

    /// Buffers a reply, waiting while the buffer is full.
    pub(crate) async fn push(&self, reply: tungstenite::Message) {
        let mut reply = Some(reply);
        poll_fn(|cx| {
            let mut queue = lock(&self.queue);
            match reply.take() {
                Some(r) if self.fits(&queue, &r) => {
                    queue.push(r);
                    self.counted(&queue);
                    Poll::Ready(())
                }
                None => Poll::Ready(()),
                back => {
                    reply = back;
                    *lock(&self.reader) = Some(cx.waker().clone());
                    self.reader_waits.store(true, Ordering::Relaxed);
                    Poll::Pending
                }
            }
        })
        .await;
    }

    /// Buffers a reply unless the buffer is full (then gives it back).
    pub(crate) fn try_push(&self, reply: tungstenite::Message) -> Result<(), tungstenite::Message> {
        let mut queue = lock(&self.queue);
        if self.fits(&queue, &reply) {
            queue.push(reply);
            self.counted(&queue);
            Ok(())
        } else {
            Err(reply)
        }
    }

    /// Whether a reply is buffered (no lock). The writer looks without
    /// registering a waker: the reader pushes during the same task poll,
    /// before the writer is polled.
    pub(crate) fn has_any(&self) -> bool {
        self.queued.load(Ordering::Relaxed) > 0
    }

    /// Takes the first buffered reply, waking the reader if it waited.
    pub(crate) fn take_one(&self) -> Option<tungstenite::Message> {
        if self.queued.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut queue = lock(&self.queue);
        let reply = queue.items.pop_front()?;
        queue.bytes -= payload_len(&reply);
        self.counted(&queue);
        drop(queue);
        self.wake_reader();
        Some(reply)
    }

    /// Takes up to `max` buffered replies, waking the reader if it waited.
    pub(crate) fn take(&self, max: usize) -> Vec<tungstenite::Message> {
        let mut queue = lock(&self.queue);
        let n = queue.items.len().min(max);
        let taken: Vec<_> = queue.items.drain(..n).collect();
        queue.bytes -= taken.iter().map(payload_len).sum::<usize>();
        self.counted(&queue);
        drop(queue);
        if n > 0 {
            self.wake_reader();
        }
        taken
    }
}
