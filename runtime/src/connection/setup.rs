//! [`Setup`]: what the server hands a connection's task at the upgrade.
//!
//! Built in `server::http` once every handshake step passed, then given to
//! the route's generated `serve` fn, which spawns the task with it. Public
//! only through `wirehub::__private` (the generated code names it); its
//! fields are the crate's own.

use super::Conn;

/// Everything a connection task starts from (built by the server at upgrade).
pub struct Setup {
    /// Resolves to the upgraded TCP connection once the 101 answer is sent.
    pub(crate) upgrade: hyper::upgrade::OnUpgrade,
    pub(crate) conn: Conn,
    pub(crate) outbound: super::outbox::Receiver,
    /// The connection's place under the connection caps, released when its task ends.
    pub(crate) slot: crate::limits::Slot,
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Setup").field("conn", &self.conn).finish_non_exhaustive()
    }
}
