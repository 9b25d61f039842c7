//! The fallback of the per-argument probes, the bounds of `Json<T>` and of
//! the validator's identity, `Auth<T>` without a validator, and arguments
//! whose message kinds exclude each other.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::auth::identity::ArgProbe;
use crate::auth::{Auth, Identity};
use crate::extract::Kinds;

/// The fallback of every per-argument check: an argument that is not the
/// extractor a check is about passes it.
pub trait AnyArg {
    /// `Path<T>` on a route without `{param}`s.
    fn path_without_params(&self) {}
    /// `Path<T>` on a route with one `{param}`.
    fn path_one_param(&self) {}
    /// `Path<T>` on a route with `N` `{param}`s, `N` at least 2.
    fn path_params<const N: usize>(&self) {}
    /// `Query<T>` with a `T` that cannot hold `key=value` pairs.
    fn query_fields(&self) {}
    /// `Auth<T>` on a route without `auth = validator`.
    fn route_has_validator(&self) {}
}

impl<A> AnyArg for &ArgProbe<A> {}

#[diagnostic::on_unimplemented(
    message = "`Json<{Self}>` needs `{Self}` to implement `serde::Deserialize`",
    label = "`{Self}` does not implement `serde::Deserialize`",
    note = "add `#[derive(serde::Deserialize)]` to `{Self}`"
)]
/// What a `Json<T>` argument deserializes into: any `T: DeserializeOwned`.
pub trait JsonBody: DeserializeOwned {}

#[diagnostic::do_not_recommend]
impl<T: DeserializeOwned> JsonBody for T {}

#[diagnostic::on_unimplemented(
    message = "`Json<{Self}>` needs `{Self}` to implement `serde::Serialize`",
    label = "`{Self}` does not implement `serde::Serialize`",
    note = "add `#[derive(serde::Serialize)]` to `{Self}`"
)]
/// What a returned `Json<T>` serializes: any `T: Serialize`.
pub trait JsonReply: Serialize {}

#[diagnostic::do_not_recommend]
impl<T: Serialize + ?Sized> JsonReply for T {}

#[diagnostic::on_unimplemented(
    message = "`Auth<{Self}>` needs `auth = validator` on the route",
    label = "this route has no `auth` validator",
    note = "add `auth = my_validator` to `#[ws_route]`, written `fn my_validator(hs: &Handshake) -> Result<{Self}, Reject>` (or `async fn`)"
)]
/// Never implemented: asserted for every `Auth<T>` argument of a route
/// without a validator.
pub trait RouteHasValidator {}

/// The `Auth<T>` check of a route without `auth`.
pub trait AuthArgWithoutValidator<T> {
    /// Always an error: nothing provides the identity.
    fn route_has_validator(&self)
    where
        T: RouteHasValidator,
    {
    }
}

impl<T> AuthArgWithoutValidator<T> for ArgProbe<Auth<T>> {}

#[diagnostic::on_unimplemented(
    message = "the identity type `{Self}` of this validator is not `Send + Sync`",
    label = "returns `{Self}`, which is not `Send + Sync + 'static`",
    note = "connections on other threads share the identity: use `Arc` instead of `Rc` and `Mutex` instead of `RefCell` in `{Self}`, or keep only owned, thread-safe data such as a user id"
)]
/// A validator's identity type: what every connection task may share.
pub trait SharedIdentity: Send + Sync + 'static {}

#[diagnostic::do_not_recommend]
impl<T: Send + Sync + 'static> SharedIdentity for T {}

/// The identity a validator returned, with its principal key.
pub fn identity<T: SharedIdentity>(value: T, principal: Option<Arc<str>>) -> Identity {
    Identity::new(value, principal)
}

/// Whether argument `a` takes only text messages and `b` only binary ones,
/// so that no message could reach the handler (the only two kinds that
/// exclude each other: every other kind includes text or binary).
pub const fn text_and_binary(a: Option<Kinds>, b: Option<Kinds>) -> bool {
    matches!((a, b), (Some(Kinds::TEXT), Some(Kinds::BINARY)))
}
