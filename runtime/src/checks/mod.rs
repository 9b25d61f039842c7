//! Compile-time checks `#[ws_route]` emits about a handler's arguments,
//! return type and hooks.
//!
//! The macro sees types as written: a type alias, a renamed import and a
//! user's own type named `Path` all look alike to it. So what depends on
//! what a type *is* (is this wirehub's `Path<T>`, how many values does `T`
//! hold, does this hook borrow its argument) is asserted in the generated
//! code and decided by the type system, and a failure is a compile error on
//! the user's token that says what to write
//! (`#[diagnostic::on_unimplemented]`), not a refused upgrade at run time.
//!
//! ```text
//! // generated for `async fn item(Path(id): Path<u32>)` on "/shops/{shop}/items/{id}"
//! fn __wirehub_assertions() {           // type-checked, never called
//!     (&ArgProbe::<Path<u32>>::new()).path_params::<2>();
//! }   // error: `Path<u32>` does not hold one value per `{param}` of the route, which has 2
//! ```
//!
//! Each per-argument check is a method call on `&ArgProbe<A>` resolved by
//! autoref specialization: the impl for the extractor it is about (for
//! `ArgProbe<Path<T>>`, say) is found first and asserts its bound on `T`;
//! every other `A` finds the method of [`AnyArg`] one autoref later, which
//! checks nothing. Which impls exist is the whole rule: there is no list of
//! names to drift from the types.
//!
//! The bounds `Json<T>`, `Path<T>`, `Query<T>` and the validator's identity
//! put on `T` are traits of this module too ([`JsonBody`], [`JsonReply`],
//! [`PathParams`], [`QueryParams`], [`SharedIdentity`]), each implemented for
//! every `T` that meets serde's (or `Send + Sync`'s) bound and marked
//! `#[diagnostic::do_not_recommend]`, so that an error names the wirehub
//! type and the derive to add, not serde's internal paths.

mod bounds;
pub mod contract;
mod params;

// The validator glue and the connection loop the generated code calls:
// here, their bounds print as `wirehub::checks::...` in compile errors.
pub use crate::auth::identity::{
    ArgProbe, AuthArg, AuthFuture, AuthReady, AuthWrap, OtherArg, PrincipalKey, PrincipalNone, PrincipalProbe,
    SameIdentity, ValidatorOutput,
};
pub use crate::connection::task::serve;

pub use bounds::{
    identity, text_and_binary, AnyArg, AuthArgWithoutValidator, JsonBody, JsonReply, RouteHasValidator, SharedIdentity,
};
pub use params::{
    FitsOneParam, FitsParams, ParamlessRoute, PathArg, PathArgWithoutParams, PathParams, PathValues, QueryArg,
    QueryFields, QueryParams, QueryScalar,
};
