//! The outbound queue of one connection: what other tasks (broadcasts,
//! `send_to`, background pushes) send it, bounded in messages (`queue`) and
//! in payload bytes (`max_queue_bytes`), read by its writer. A message is
//! always taken into an empty queue, so one bigger than the byte bound still
//! goes out alone.
//!
//! Why not `tokio::sync::mpsc`: its bounded channel allocates its first block
//! of 32 slots (1.8 KiB) when it is created, for every connection, idle or
//! not. This queue allocates nothing until a message is queued, and gives its
//! buffer back once it drains after a burst, so an idle connection pays for
//! none of it. A `std` mutex guards the deque (held for a push or a pop,
//! never across an await); the writer's waker lives in an [`AtomicWaker`].

use std::collections::VecDeque;
#[cfg(test)]
use std::future::poll_fn;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;

/// A buffer bigger than this is given back when the queue drains.
const KEEP: usize = 64;

struct Shared {
    queue: Mutex<Queue>,
    /// The writer, woken by each push.
    reader: AtomicWaker,
    /// Senders waiting for room (`send`), woken by a pop while `waiting`
    /// is not zero.
    room: Notify,
    /// How many senders are in `send`: a pop with none skips the `Notify`
    /// (an atomic read-modify-write per message, issue 19).
    waiting: AtomicUsize,
    cap: usize,
    max_bytes: usize,
}

struct Queue {
    items: VecDeque<Message>,
    /// Payload bytes of `items`.
    bytes: usize,
    /// The receiver closed it (or is gone): pushes fail.
    closed: bool,
}

/// Why a message could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrySendError {
    /// The queue holds `cap` messages, or this one would take it past
    /// `max_bytes`.
    Full,
    /// The connection's writer is gone or closing.
    Closed,
}

/// The sending side, kept in the connection's handle.
#[derive(Clone)]
pub(crate) struct Sender(Arc<Shared>);

/// The receiving side, owned by the connection's task.
pub(crate) struct Receiver(Arc<Shared>);

/// A queue of at most `cap` messages and `max_bytes` payload bytes.
pub(crate) fn channel(cap: usize, max_bytes: usize) -> (Sender, Receiver) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue { items: VecDeque::new(), bytes: 0, closed: false }),
        reader: AtomicWaker::new(),
        room: Notify::new(),
        waiting: AtomicUsize::new(0),
        cap: cap.max(1),
        max_bytes,
    });
    (Sender(shared.clone()), Receiver(shared))
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn push(&self, message: Message) -> Result<(), (TrySendError, Message)> {
        let mut queue = self.lock();
        if queue.closed {
            return Err((TrySendError::Closed, message));
        }
        let len = payload_len(&message);
        let over_bytes = !queue.items.is_empty() && queue.bytes.saturating_add(len) > self.max_bytes;
        if queue.items.len() >= self.cap || over_bytes {
            return Err((TrySendError::Full, message));
        }
        queue.bytes += len;
        queue.items.push_back(message);
        drop(queue);
        self.reader.wake();
        Ok(())
    }

    /// Pushes all of `messages`, or none (they would not all fit).
    fn push_all(&self, messages: Vec<Message>) -> Result<(), TrySendError> {
        let mut queue = self.lock();
        if queue.closed {
            return Err(TrySendError::Closed);
        }
        let len: usize = messages.iter().map(payload_len).sum();
        let fits_bytes =
            queue.bytes.saturating_add(len) <= self.max_bytes || (queue.items.is_empty() && messages.len() == 1);
        if queue.items.len() + messages.len() > self.cap || !fits_bytes {
            return Err(TrySendError::Full);
        }
        queue.bytes += len;
        queue.items.extend(messages);
        drop(queue);
        self.reader.wake();
        Ok(())
    }

    /// The first message and how many stay queued behind it.
    fn pop(&self) -> Option<(Message, usize)> {
        let mut queue = self.lock();
        let popped = Self::pop_locked(&mut queue);
        drop(queue);
        self.popped(popped)
    }

    fn pop_locked(queue: &mut Queue) -> Option<(Message, usize)> {
        let message = queue.items.pop_front()?;
        queue.bytes -= payload_len(&message);
        if queue.items.is_empty() && queue.items.capacity() > KEEP {
            queue.items = VecDeque::new();
        }
        Some((message, queue.items.len()))
    }

    /// After a pop, outside the lock: wakes a sender waiting for room.
    fn popped(&self, popped: Option<(Message, usize)>) -> Option<(Message, usize)> {
        // A sender counts itself before it tries to push (under the lock),
        // so a pop that follows its failed attempt sees it here.
        if popped.is_some() && self.waiting.load(Ordering::SeqCst) > 0 {
            self.room.notify_one();
        }
        popped
    }

    fn close(&self) {
        self.lock().closed = true;
        self.room.notify_waiters();
    }
}

impl Sender {
    /// Queues `message` now, or says why not.
    pub(crate) fn try_send(&self, message: Message) -> Result<(), TrySendError> {
        self.0.push(message).map_err(|(why, _)| why)
    }

    /// Queues all of `messages` now (in order, nothing between them), or
    /// none of them and says why.
    pub(crate) fn try_send_all(&self, messages: Vec<Message>) -> Result<(), TrySendError> {
        self.0.push_all(messages)
    }

    /// Queues `message`, waiting while the queue is full; `Err` once it is
    /// closed.
    pub(crate) async fn send(&self, mut message: Message) -> Result<(), TrySendError> {
        let _counted = Waiting::new(&self.0.waiting);
        loop {
            // Registered before the attempt, so a pop in between is not missed.
            let mut room = pin!(self.0.room.notified());
            room.as_mut().enable();
            match self.0.push(message) {
                Ok(()) => return Ok(()),
                Err((TrySendError::Full, back)) => message = back,
                Err((TrySendError::Closed, _)) => return Err(TrySendError::Closed),
            }
            room.await;
        }
    }
}

/// Counts a sender in [`Sender::send`] for as long as it is there
/// (dropped with the future too).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Receiver {
    /// The next message and how many stay queued behind it; `None` once
    /// the queue is closed and empty.
    #[cfg(test)]
    pub(crate) async fn recv(&mut self) -> Option<(Message, usize)> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// [`recv`](Self::recv) by hand. One lock whatever the outcome: the
    /// waker is registered under it, so a push after the unlock wakes us
    /// and one before it is seen.
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<(Message, usize)>> {
        let mut queue = self.0.lock();
        if let Some(popped) = Shared::pop_locked(&mut queue) {
            drop(queue);
            return Poll::Ready(self.0.popped(Some(popped)));
        }
        if queue.closed {
            return Poll::Ready(None);
        }
        self.0.reader.register(cx.waker());
        Poll::Pending
    }

    /// The next message if one is queued, and how many stay behind it.
    pub(crate) fn try_recv(&mut self) -> Option<(Message, usize)> {
        self.0.pop()
    }

    /// How many messages are queued.
    pub(crate) fn len(&self) -> usize {
        self.0.lock().items.len()
    }

    /// Refuses further sends; what is queued can still be received.
    pub(crate) fn close(&mut self) {
        self.0.close();
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.0.close();
        // Queued messages go with the writer: no sender holds them.
        let mut queue = self.0.lock();
        queue.items = VecDeque::new();
        queue.bytes = 0;
    }
}

/// The size of a queue's shared state (one allocation per connection).
#[cfg(test)]
pub(crate) fn shared_size() -> usize {
    std::mem::size_of::<Shared>()
}

/// The payload bytes a message holds (what the byte bounds count).
pub(crate) fn payload_len(message: &Message) -> usize {
    match message {
        Message::Text(t) => t.len(),
        Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b.len(),
        Message::Close(_) => 0,
        Message::Frame(f) => f.len(),
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use super::*;

    fn text(n: usize) -> Message {
        Message::text(n.to_string())
    }

    #[test]
    fn bounded_in_order_and_closed() {
        let (tx, mut rx) = channel(2, usize::MAX);
        assert_eq!(tx.try_send(text(1)), Ok(()));
        assert_eq!(tx.try_send(text(2)), Ok(()));
        assert_eq!(tx.try_send(text(3)), Err(TrySendError::Full));
        assert_eq!(rx.len(), 2);
        assert_eq!(rx.try_recv(), Some((text(1), 1)), "and one behind it");
        assert_eq!(tx.try_send(text(3)), Ok(()));
        rx.close();
        assert_eq!(tx.try_send(text(4)), Err(TrySendError::Closed));
        assert_eq!(rx.try_recv(), Some((text(2), 1)));
        assert_eq!(rx.try_recv(), Some((text(3), 0)));
        assert_eq!(rx.try_recv(), None);
        drop(rx);
        assert_eq!(tx.try_send(text(5)), Err(TrySendError::Closed));
    }

    #[test]
    fn bounded_in_bytes_too() {
        let (tx, mut rx) = channel(100, 10);
        let big = || Message::binary(vec![0u8; 30]);
        assert_eq!(tx.try_send(big()), Ok(()), "an empty queue takes any message");
        assert_eq!(tx.try_send(text(1)), Err(TrySendError::Full), "30 + 1 bytes > 10");
        assert_eq!(rx.try_recv(), Some((big(), 0)));
        for n in 1..=9 {
            assert_eq!(tx.try_send(text(n)), Ok(()));
        }
        assert_eq!(tx.try_send(text(10)), Err(TrySendError::Full), "9 + 2 bytes > 10");
        assert_eq!(tx.try_send(text(0)), Ok(()), "9 + 1 bytes fit");
    }

    #[test]
    fn the_buffer_is_given_back_after_a_burst() {
        let (tx, mut rx) = channel(1000, usize::MAX);
        for n in 0..500 {
            assert_eq!(tx.try_send(text(n)), Ok(()));
        }
        while rx.try_recv().is_some() {}
        assert_eq!(rx.0.lock().items.capacity(), 0);
    }

    #[tokio::test]
    async fn a_sender_is_counted_while_it_waits_and_not_after() {
        let (tx, mut rx) = channel(1, usize::MAX);
        assert_eq!(tx.try_send(text(1)), Ok(()));
        let mut waiting = Box::pin(tx.send(text(2)));
        let waker = futures_util::task::noop_waker();
        let polled = waiting.as_mut().poll(&mut Context::from_waker(&waker));
        assert!(polled.is_pending(), "the queue is full");
        assert_eq!(tx.0.waiting.load(Ordering::SeqCst), 1, "a pop now wakes it");
        drop(waiting);
        assert_eq!(tx.0.waiting.load(Ordering::SeqCst), 0, "a cancelled send is not counted");
        assert_eq!(rx.try_recv(), Some((text(1), 0)));
        let sent = tokio::time::timeout(std::time::Duration::from_secs(5), tx.send(text(3))).await;
        assert_eq!(sent, Ok(Ok(())));
        assert_eq!(tx.0.waiting.load(Ordering::SeqCst), 0, "nor a finished one");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiting_senders_and_the_reader_lose_no_wakeup() {
        const PER: usize = 20_000;
        let (tx, mut rx) = channel(8, usize::MAX);
        let senders: Vec<_> = (0..4)
            .map(|s| {
                let tx = tx.clone();
                tokio::spawn(async move {
                    for n in 0..PER {
                        tx.send(text(s * PER + n)).await.expect("open");
                    }
                })
            })
            .collect();
        let mut next = [0usize; 4];
        for _ in 0..4 * PER {
            let got =
                tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv()).await.expect("no lost wakeup");
            let n: usize = got.and_then(|(m, _)| m.into_text().ok()).and_then(|t| t.parse().ok()).expect("a number");
            let (s, i) = (n / PER, n % PER);
            assert_eq!(i, next[s], "sender {s}: in order, nothing lost");
            next[s] += 1;
        }
        for s in senders {
            s.await.expect("sender");
        }
        drop(tx);
        rx.close();
        assert_eq!(rx.recv().await, None);
    }
}
