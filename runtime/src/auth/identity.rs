//! The identity a validator returns, stored with the connection, and the
//! [`Auth<T>`] extractor that hands it to handlers.

use std::any::Any;
use std::cell::Cell;
use std::future::{ready, Future, Ready};
use std::sync::Arc;

use futures_util::future::OptionFuture;

use super::Reject;

/// A stable key for an identity (a user id), used for presence lists and to
/// send to every connection of one user ([`Hub::send_to_principal`](crate::Hub::send_to_principal)).
///
/// Implement it for the type your validator returns to enable those; an
/// identity type without it still works for `Auth<T>`.
pub trait Principal: Send + Sync + 'static {
    /// The key, such as a user id. Not a secret: it may appear in presence lists.
    fn principal(&self) -> &str;
}

impl Principal for String {
    fn principal(&self) -> &str {
        self
    }
}

impl Principal for Arc<str> {
    fn principal(&self) -> &str {
        self
    }
}

/// The identity of an authenticated connection: the validator's value and
/// its principal key (if its type implements [`Principal`]).
#[derive(Clone)]
pub struct Identity {
    value: Arc<dyn Any + Send + Sync>,
    principal: Option<Arc<str>>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").field("principal", &self.principal).finish_non_exhaustive()
    }
}

impl Identity {
    #[doc(hidden)]
    pub fn new<T: Send + Sync + 'static>(value: T, principal: Option<Arc<str>>) -> Self {
        Identity { value: Arc::new(value), principal }
    }

    /// The principal key, if the identity type implements [`Principal`].
    pub fn principal(&self) -> Option<&str> {
        self.principal.as_deref()
    }

    pub(crate) fn principal_arc(&self) -> Option<&Arc<str>> {
        self.principal.as_ref()
    }

    /// The validator's value, if it is a `T`.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.value.clone().downcast::<T>().ok()
    }
}

/// The identity the route's `auth = validator` returned for this connection.
///
/// `T` must be the validator's identity type: a mismatch is a compile error
/// on the argument. A route without `auth` cannot take `Auth<T>`.
#[derive(Debug)]
pub struct Auth<T>(pub Arc<T>);

impl<T> Clone for Auth<T> {
    fn clone(&self) -> Self {
        Auth(self.0.clone())
    }
}

impl<T> std::ops::Deref for Auth<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

// Glue for the generated validator call: accepts both `fn(&Handshake) ->
// Result<T, Reject>` and `async fn` validators, by autoref specialization on
// the concrete return type at the expansion site.

#[doc(hidden)]
pub struct AuthWrap<T>(Cell<Option<T>>);

impl<T> AuthWrap<T> {
    #[doc(hidden)]
    pub fn new(value: T) -> Self {
        AuthWrap(Cell::new(Some(value)))
    }
}

#[doc(hidden)]
pub trait AuthFuture {
    type Fut;
    fn auth_output(self) -> Self::Fut;
}

impl<F, T> AuthFuture for &&AuthWrap<F>
where
    F: Future<Output = Result<T, Reject>>,
{
    type Fut = OptionFuture<F>;
    fn auth_output(self) -> OptionFuture<F> {
        self.0.take().into()
    }
}

#[doc(hidden)]
pub trait AuthReady {
    type Fut;
    fn auth_output(self) -> Self::Fut;
}

impl<T> AuthReady for &AuthWrap<Result<T, Reject>> {
    type Fut = OptionFuture<Ready<Result<T, Reject>>>;
    fn auth_output(self) -> Self::Fut {
        self.0.take().map(ready).into()
    }
}

#[doc(hidden)]
pub struct PrincipalProbe<'a, T>(pub &'a T);

#[doc(hidden)]
pub trait PrincipalKey {
    fn principal_key(self) -> Option<Arc<str>>;
}

impl<T: Principal> PrincipalKey for &&PrincipalProbe<'_, T> {
    fn principal_key(self) -> Option<Arc<str>> {
        Some(Arc::from(self.0.principal()))
    }
}

#[doc(hidden)]
pub trait PrincipalNone {
    fn principal_key(self) -> Option<Arc<str>>;
}

impl<T> PrincipalNone for &PrincipalProbe<'_, T> {
    fn principal_key(self) -> Option<Arc<str>> {
        None
    }
}

#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned by an `auth` validator",
    label = "this validator returns `{Self}`",
    note = "a validator is `fn name(hs: &Handshake) -> Result<T, Reject>` or an `async fn` with that signature"
)]
pub trait ValidatorOutput {}

impl<T> AuthWrap<T> {
    /// Last resort of the autoref probe: only reached by a validator whose
    /// output is neither `Result<T, Reject>` nor a future of one.
    #[doc(hidden)]
    pub fn auth_output<U>(self) -> OptionFuture<Ready<Result<U, Reject>>>
    where
        T: ValidatorOutput,
    {
        None.into()
    }
}

#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`Auth<{Self}>` does not match the identity type of the route's `auth` validator",
    label = "the validator returns `{V}`",
    note = "write `Auth<{V}>`, the type in the validator's `Result<{V}, Reject>`"
)]
pub trait SameIdentity<V> {}
impl<T> SameIdentity<T> for T {}
/// A second impl, so the compiler does not infer `V` from `A`.
#[doc(hidden)]
pub struct NotAnIdentity<T>(T);
impl<T> SameIdentity<NotAnIdentity<T>> for T {}

/// Checks one handler argument type against the validator's identity type
/// `V`, whatever name the argument's type is written with (a type alias of
/// `Auth<T>` included): called as `(&ArgProbe::<A>::new()).same_identity(&v)`,
/// `A = Auth<T>` finds [`AuthArg::same_identity`] (which needs
/// `T: SameIdentity<V>`) before autoref reaches [`OtherArg::same_identity`],
/// which every other argument finds and which checks nothing.
#[doc(hidden)]
pub struct ArgProbe<A>(std::marker::PhantomData<fn() -> A>);

impl<A> ArgProbe<A> {
    #[doc(hidden)]
    pub const fn new() -> Self {
        ArgProbe(std::marker::PhantomData)
    }
}

#[doc(hidden)]
pub trait AuthArg<T> {
    /// The argument is `Auth<T>`: `T` must be the identity type.
    fn same_identity<V>(&self, _identity: &V)
    where
        T: SameIdentity<V>,
    {
    }
}
impl<T> AuthArg<T> for ArgProbe<Auth<T>> {}

#[doc(hidden)]
pub trait OtherArg {
    /// The argument is not `Auth<T>`: nothing to check.
    fn same_identity<V>(&self, _identity: &V) {}
}
impl<A> OtherArg for &ArgProbe<A> {}
