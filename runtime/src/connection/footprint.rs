//! What one idle connection costs, pinned by `size_of` assertions so that
//! it cannot grow silently (issue 19: at most 4 KiB per idle connection
//! with production defaults).
//!
//! An idle connection holds, on the heap: its task (tokio's cell around the
//! `run` future, the socket inline in it), the `Conn` (`ConnInner`), its
//! outbound queue's shared state, and an entry in the hub's registry; no
//! read or write buffer (`socket.rs`). The bounds below sit just above today's
//! sizes. When one fails: find what grew with
//! `RUSTC_BOOTSTRAP=1 cargo rustc --release --example bench_server -- -Zprint-type-sizes`
//! (the async fn bodies list each await point's locals), move a cold
//! path's future out of the hot loop (a sync fast path, a boxed slow
//! path) or box a rarely used field; raise a bound only with the bench's
//! idle figure from the same run in the commit message.

use std::future::Ready;
use std::mem::size_of;

use super::call::{CallCx, Rejection};
use super::conn::ConnInner;
use super::socket::WsSocket;
use crate::message::Message;

/// The smallest handler: its future is `Ready`, so the sizes below are the
/// runtime's own share of a connection's task.
type Handler = fn(&CallCx<'_>) -> Result<Ready<Option<Message>>, Rejection>;

/// The size of what `f` returns (an async fn's future), without calling it.
fn returned<A, B, R>(_: impl FnOnce(A, B) -> R) -> usize {
    size_of::<R>()
}

fn returned3<A, B, C, R>(_: impl FnOnce(A, B, C) -> R) -> usize {
    size_of::<R>()
}

fn returned4<A, B, C, D, R>(_: impl FnOnce(A, B, C, D) -> R) -> usize {
    size_of::<R>()
}

#[test]
fn the_connection_task_stays_small() {
    let run = returned(super::task::run::<Handler, Ready<Option<Message>>>);
    let reader = returned3(super::task::read_loop::<Handler, Ready<Option<Message>>>);
    let writer = returned4(super::writer::write_loop);
    eprintln!("run {run} B, reader {reader} B, writer {writer} B");
    // Debug build, as the tests run; a release build measures about 2% more.
    // Before issue 19: run 3880, reader 1472 (the reply and refusal futures
    // held in the loop), the socket's 432 bytes kept across the serving state.
    // Then run 2792, writer 1656: the writer held a write batch's nested
    // futures (about 1.3 KiB) even while idle; a batch is now polled by
    // hand (`writer::Batch`), keeping only the frame it could not feed.
    // And reader 880: its idle and re-validation timers (112 B each) were
    // inline even on routes with neither; now one timer, boxed when needed.
    // Then run 1632, writer 752: `run` an `async move` block (an async
    // fn kept its 64-byte argument beside the locals moved out of it), the
    // writer's select apart from its writes, and the write timeout's timer
    // boxed on the rare write that does not complete at once.
    // Then 1648: the reader's waker (16 B) that spares polling the read
    // side on the writer's wake-ups (11% less CPU per paced delivery).
    // Then 1768, writer 672: our own socket (264 B) inline in the task,
    // instead of tokio-tungstenite's split stream on the heap (a 448-byte
    // WebSocketStream in the halves' shared Arc, two waker proxies, and
    // a 1 KiB read buffer held for the connection's life); the writer's
    // batch buffers frames into the socket directly.
    // Then 1736: the frame guard inside the socket, on the headers it
    // parses, instead of a wrapper scanning every byte for headers again.
    // Then 1752, writer 688: the writer waits in a hand-written poll (its
    // closure's references, and the reader's waker for the heartbeat timer,
    // 16 B) instead of a `select!` of four futures: 0.82 of the user-space
    // instructions per paced broadcast delivery (callgrind).
    assert!(run <= 1752, "the connection task's future is {run} bytes");
    assert!(reader <= 672, "the reader's future is {reader} bytes");
    assert!(writer <= 688, "the writer's future is {writer} bytes");
}

#[test]
fn the_connection_state_stays_small() {
    let conn = size_of::<ConnInner>();
    let socket = size_of::<WsSocket>();
    let outbox = super::outbox::shared_size();
    eprintln!("ConnInner {conn} B, socket {socket} B, outbox {outbox} B");
    // 504 before issue 17 added the table of server requests (16 B, empty
    // until the first `Conn::request`); 512 once the close signal became an
    // `AtomicWaker` (a `Notify` before); 520 with the reply buffer's
    // lock-free count (the writer's look at an empty buffer takes no lock).
    // The room set is the next cut: 56 B here plus a heap table, for what
    // is one room on most connections.
    assert!(conn <= 520, "ConnInner is {conn} bytes");
    // Inline in the task (`run`'s size includes it); tokio-tungstenite's
    // WebSocketStream was 448 B in an Arc shared by the split halves, plus
    // two waker proxies and a 1 KiB read buffer on the heap.
    assert!(socket <= 232, "the socket is {socket} bytes");
    // 136 with the count of senders waiting for room (a pop wakes them
    // only when there is one).
    assert!(outbox <= 136, "the outbound queue's shared state is {outbox} bytes");
}
