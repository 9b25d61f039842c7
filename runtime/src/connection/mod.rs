//! Connections: the handle handlers use ([`Conn`]), its state machine, and
//! the task that runs it.
//!
//! One tokio task runs each connection. In it, a reader (frames in, handler
//! calls) and a writer (outbound queue to socket, heartbeat pings) are two
//! futures polled together, so a connection costs one task, one bounded
//! queue and tungstenite's buffers. See `ARCHITECTURE.md`.
//!
//! Invariants:
//! - the outbound queue is bounded (`queue = N`); a full queue is handled by
//!   the route's `on_full` policy, never by waiting inside the hub;
//! - whatever way a connection ends (close frame, error, reset, timeout,
//!   panic, shutdown), a drop guard removes it from the registry and from
//!   every room, and `on_close` runs exactly once for a connection that opened;
//! - nothing of the upgrade request is kept but owned copies of what the
//!   route's extractors need.


mod handle;
mod outbox;
mod replies;
mod socket;
mod task;
mod writer;

pub use crate::close::{CloseCode, CloseReason};
pub use handle::{Conn, ConnId, ConnState, SendError};

pub(crate) use handle::ConnInner;
pub(crate) use outbox::channel as outbox;
pub(crate) use replies::Replies;
#[doc(hidden)]
pub use task::serve;

/// Everything a connection task starts from (built by the server at upgrade).
#[doc(hidden)]
pub struct Setup {
    /// Resolves to the upgraded TCP connection once the 101 answer is sent.
    pub(crate) upgrade: hyper::upgrade::OnUpgrade,
    pub(crate) conn: Conn,
    pub(crate) outbound: outbox::Receiver,
    /// The connection's place under the connection caps, released when its task ends.
    pub(crate) slot: crate::limits::Slot,
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Setup").field("conn", &self.conn).finish_non_exhaustive()
    }
}
