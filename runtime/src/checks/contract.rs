//! The compile-time checks of typed routes (`receives = T`, `sends = T`):
//! the types' bounds, `Json<X>` and `Out<X>` arguments against the route's
//! types, the return type against `sends`, and `Ack` on a route that
//! reads no `"id"`.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::contract::Out;
use crate::extract::Json;
use crate::reply::{Ack, Reply, ToRoom, ToSender};

/// The bound of `receives = T`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a route's `receives` type: it does not implement `serde::Deserialize`",
    label = "not deserializable",
    note = "derive it: `#[derive(serde::Deserialize)]` (usually on a `#[serde(tag = \"type\")]` enum)"
)]
pub trait Receivable: DeserializeOwned + Send + 'static {}

#[diagnostic::do_not_recommend]
impl<T: DeserializeOwned + Send + 'static> Receivable for T {}

/// The bound of `sends = T`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a route's `sends` type: it does not implement `serde::Serialize`",
    label = "not serializable",
    note = "derive it: `#[derive(serde::Serialize)]` (usually on a `#[serde(tag = \"type\")]` enum)"
)]
pub trait Sendable: Serialize + 'static {}

#[diagnostic::do_not_recommend]
impl<T: Serialize + 'static> Sendable for T {}

/// Asserts `receives = T`'s bound.
pub const fn receives<T: Receivable>() {}

/// Asserts `sends = T`'s bound.
pub const fn sends<T: Sendable>() {}

/// `Json<X>` taken on a route that receives `T`: `X` is `T`.
#[diagnostic::on_unimplemented(
    message = "this route receives `{T}`: take `msg: {T}`, not `{Self}`",
    label = "not the route's `receives` type",
    note = "a route with `receives = {T}` decodes every message as `{T}`; take `msg: {T}` exactly as written in \
            `receives`, or `Json<{T}>`"
)]
pub trait ReceivedAs<T> {}

impl<T> ReceivedAs<T> for Json<T> {}

/// Asserts that the `Json<X>` argument `A` takes the route's `receives` type `T`.
pub const fn json_of<T, A: ReceivedAs<T>>() {}

/// `Out<X>` taken on a route that sends `T`: `X` is `T`.
#[diagnostic::on_unimplemented(
    message = "this route sends `{T}`: take `Out<{T}>`, not `{Self}`",
    label = "not the route's `sends` type",
    note = "to send another type on purpose, use the untyped `conn.send(Json(..))`"
)]
pub trait SendsAs<T> {}

impl<T> SendsAs<T> for Out<T> {}

/// Asserts that the `Out<X>` argument `A` sends the route's `sends` type `T`.
pub const fn out_of<T, A: SendsAs<T>>() {}

/// A return type on a route that sends `O`: its messages are `Json<O>`.
#[diagnostic::on_unimplemented(
    message = "this route sends `{O}`: `{Self}` is not a reply of `{O}`",
    label = "does not reply with `Json<{O}>`",
    note = "return `Json<{O}>` (or an `Option`, `Result`, `ToRoom`, `ToSender` of it, a tuple of them), an \
            `Ack`, or `()`; to send another message on purpose, use `conn.send(..)`"
)]
pub trait RepliesWith<O> {}

impl<O> RepliesWith<O> for () {}
impl<O> RepliesWith<O> for Json<O> {}
impl<O, A> RepliesWith<O> for Ack<A> {}
/// The runtime's own type, written out: saying so.
impl<O> RepliesWith<O> for Reply {}
impl<O, R: RepliesWith<O>> RepliesWith<O> for Option<R> {}
impl<O, R: RepliesWith<O>, E> RepliesWith<O> for Result<R, E> {}
impl<O, R: RepliesWith<O>> RepliesWith<O> for ToRoom<R> {}
impl<O, R: RepliesWith<O>> RepliesWith<O> for ToSender<R> {}
impl<O, A: RepliesWith<O>, B: RepliesWith<O>> RepliesWith<O> for (A, B) {}
impl<O, A: RepliesWith<O>, B: RepliesWith<O>, C: RepliesWith<O>> RepliesWith<O> for (A, B, C) {}

/// Asserts that the return type `R` replies with the route's `sends` type `O`.
pub const fn replies_with<O, R: RepliesWith<O>>() {}
