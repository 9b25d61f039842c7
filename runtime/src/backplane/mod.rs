//! Backplanes: how rooms, sends to a connection id and sends to an identity
//! reach connections on *other* server instances.
//!
//! The default is in-process ([`Local`]): the [`Hub`](crate::Hub) alone, nothing
//! to install. With the `redis` cargo feature, [`Redis`] relays through Redis
//! pub/sub, so several instances behind a load balancer form one hub:
//!
//! ```no_run
//! # #[cfg(feature = "redis")]
//! # async fn f() -> wirehub::Result<()> {
//! use wirehub::backplane::Redis;
//! wirehub::App::new().backplane(Redis::connect("redis://127.0.0.1:6379")).serve().await
//! # }
//! ```
//!
//! Handler code does not change: `broadcast`, `Conn::send_to`,
//! `Hub::send_to_principal` reach every instance; delivery is local first,
//! then one publish per broadcast (encoded once).
//!
//! Invariants:
//! - a message is delivered exactly once per member: the publishing
//!   instance delivers to its own members directly and ignores its own
//!   publishes coming back from Redis;
//! - per publisher and room, order is kept (one publishing connection per
//!   instance, and Redis keeps order per connection);
//! - an instance subscribes to a room's channel only while the room has
//!   local members.

#[cfg(feature = "redis")]
mod claim;
#[cfg(feature = "redis")]
mod codec;
#[cfg(feature = "redis")]
mod presence;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
mod stream;

use std::sync::Arc;

use futures_util::future::BoxFuture;

#[doc(hidden)]
pub use crate::hub::presence::PresenceDelta;
#[doc(hidden)]
pub use crate::hub::relay::{Relay, Target};
#[doc(hidden)]
pub use crate::hub::{history::Limits, shared::Template};

#[cfg(feature = "redis")]
pub use self::redis::Redis;

#[cfg(feature = "redis")]
pub(crate) use codec::{
    decode, decode_at, encode, encode_presence, encode_template, marker, member_key, open, parse_member, relayed, seal,
    Relayed,
};

/// A backplane that can be given to [`App::backplane`](crate::App::backplane).
pub trait Backplane: Send + 'static {
    /// Starts relaying for `hub` (claiming what it must claim first);
    /// `None` when there is nothing to relay.
    #[doc(hidden)]
    fn start(self: Box<Self>, cx: StartCx) -> BoxFuture<'static, crate::Result<Option<Arc<dyn Relay>>>>;
}

/// What a backplane starts from.
#[doc(hidden)]
#[derive(Debug)]
pub struct StartCx {
    // Only the Redis backplane starts from anything.
    #[cfg(feature = "redis")]
    pub(crate) hub: crate::hub::Hub,
    #[cfg(feature = "redis")]
    pub(crate) registry: Option<prometheus::Registry>,
}

/// The in-process backplane: one instance, nothing to install (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct Local;

impl Backplane for Local {
    fn start(self: Box<Self>, _cx: StartCx) -> BoxFuture<'static, crate::Result<Option<Arc<dyn Relay>>>> {
        Box::pin(async { Ok(None) })
    }
}
