//! [`Setup`]: what the server hands a connection's task at the upgrade.
//!
//! Built in `server::http` once every handshake step passed, then given to
//! the route's generated `serve` fn, which spawns the task with it. Public
//! only through `wirehub::__private` (the generated code names it); its
//! fields are the crate's own.

use std::sync::Arc;

use super::conn::Opening;
use super::{Conn, Env, RouteRt};

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

impl Setup {
    /// The connection of an accepted upgrade, with its outbound queue.
    pub(crate) fn new(
        upgrade: hyper::upgrade::OnUpgrade,
        env: &Arc<Env>,
        route: &Arc<RouteRt>,
        opening: Opening,
        slot: crate::limits::Slot,
    ) -> Setup {
        let (sender, outbound) = super::outbox(route.opts.queue, route.opts.max_queue_bytes);
        Setup { upgrade, conn: Conn::new(env, route, opening, sender), outbound, slot }
    }
}
