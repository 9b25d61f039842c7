//! Connections: the handle handlers use ([`Conn`]), its state machine, and
//! the task that runs it.
//!
//! One tokio task runs each connection. In it, a reader (frames in, handler
//! calls) and a writer (outbound queue to socket, heartbeat pings) are two
//! futures polled together, so a connection costs one task, one bounded
//! queue, and buffers only while bytes are in flight (`socket.rs`). See `ARCHITECTURE.md`.
//!
//! Invariants:
//! - the outbound queue is bounded (`queue = N`); a full queue is handled by
//!   the route's `on_full` policy, never by waiting inside the hub;
//! - whatever way a connection ends (close frame, error, reset, timeout,
//!   panic, shutdown), a drop guard removes it from the registry and from
//!   every room, and `on_close` runs exactly once for a connection that opened;
//! - nothing of the upgrade request is kept but owned copies of what the
//!   route's extractors need.

pub(crate) mod call;
pub(crate) mod conn;
mod deliver;
mod env;
#[cfg(test)]
mod footprint;
mod frame;
pub(crate) mod guard;
mod handle;
mod life;
mod outbox;
mod replies;
mod request;
pub(crate) mod sessions;
pub(crate) mod setup;
mod socket;
pub(crate) mod task;
pub(crate) mod upgrade;
mod writer;

pub use crate::close::{CloseCode, CloseReason};
pub use crate::hub::id::ConnId;
pub use crate::hub::peer::SendError;
pub use conn::Conn;
pub use life::ConnState;

pub(crate) use conn::{Env, Opening, Resolved, RouteRt};
pub(crate) use env::StateMap;
pub(crate) use outbox::channel as outbox;
pub(crate) use replies::Replies;
pub(crate) use sessions::{SessionPlan, Sessions};
pub(crate) use setup::Setup;
pub(crate) use socket::read_all;
pub(crate) use socket::MAX_READ_CHUNK;
