//! Handshake security: authentication before the upgrade, origin checks,
//! subprotocols, and the identity a connection carries.
//!
//! ```no_run
//! use wirehub::prelude::*;
//!
//! struct User { name: String }
//!
//! impl Principal for User {
//!     fn principal(&self) -> &str { &self.name }
//! }
//!
//! async fn validate(hs: &Handshake) -> Result<User, Reject> {
//!     match hs.token().as_deref() {            // bearer header, `bearer, <token>` subprotocol, ?token=, cookie
//!         Some("secret") => Ok(User { name: "ada".into() }),
//!         Some(_) => Err(Reject::forbidden("bad token")),
//!         None => Err(Reject::unauthorized("token required")),
//!     }
//! }
//!
//! #[ws_route("/chat", auth = validate)]
//! async fn chat(user: Auth<User>, text: String) -> String {
//!     format!("{}: {text}", user.name)
//! }
//! ```
//!
//! Invariants:
//! - the validator runs before the `101` answer: a rejected peer never gets a
//!   WebSocket and the handler never runs for it;
//! - the identity type of the validator and of every `Auth<T>` argument are
//!   checked to be the same at compile time;
//! - tokens never reach logs or metric labels: [`Handshake`]'s `Debug`
//!   redacts credentials, and wirehub logs no header, query or protocol value.

pub(crate) mod handshake;
pub(crate) mod identity;
mod origin;
mod reject;

pub use handshake::Handshake;
pub use identity::{Auth, Identity, Principal};
pub use reject::Reject;

pub use origin::Origins;
pub(crate) use origin::{origin_allowed, AllowedHosts};
