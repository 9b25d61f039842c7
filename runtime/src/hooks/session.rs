//! The compile-time checks and the plan of a handler's `Session<T>`
//! arguments: by autoref specialization on `&ArgProbe<A>`, as in
//! `crate::checks`, so a type alias of `Session<T>` is checked as what it is.
//!
//! ```text
//! // generated for `async fn h(s: Session<Nick>)` on a route whose on_open returns `C`
//! (&&&made((&ArgProbe::<Session<Nick>>::new()).session_of(), opened)).session_made();
//! // Nick == C, or Nick: Default, or an error on the argument
//! ```

use std::marker::PhantomData;

use super::glue::Plan;
use crate::auth::identity::ArgProbe;
use crate::extract::Session;

/// A handler argument `Session<U>` with `U: Default`: made when the connection opens.
#[doc(hidden)]
pub trait SessionByDefault {
    /// Plans `U::default()`.
    fn plan_session(&self, plan: &mut Plan);
}

impl<U: Default + Send + 'static> SessionByDefault for ArgProbe<Session<U>> {
    fn plan_session(&self, plan: &mut Plan) {
        plan.sessions.by_default::<U>();
    }
}

/// Any other argument: nothing to plan.
#[doc(hidden)]
pub trait NoSessionDefault {
    /// Plans nothing.
    fn plan_session(&self, _plan: &mut Plan) {}
}

impl<A> NoSessionDefault for &ArgProbe<A> {}

/// A handler argument `Session<U>`.
#[doc(hidden)]
pub trait SessionArg<U> {
    /// `U`, as a type.
    fn session_of(&self) -> PhantomData<fn() -> U> {
        PhantomData
    }
}

impl<U: Send + 'static> SessionArg<U> for ArgProbe<Session<U>> {}

/// Any other argument.
#[doc(hidden)]
pub trait NotSessionArg {
    /// Not a session, as a type.
    fn session_of(&self) -> PhantomData<fn() -> NotASession> {
        PhantomData
    }
}

impl<A> NotSessionArg for &ArgProbe<A> {}

/// What an argument that is no `Session` asks for.
#[doc(hidden)]
#[derive(Debug)]
pub struct NotASession;

/// The session type `U` an argument asks for, and the type `C` the route's
/// `on_open` hook makes (`()` when it makes none).
#[doc(hidden)]
#[derive(Debug)]
pub struct MadeProbe<U, C>(PhantomData<fn() -> (U, C)>);

/// Pairs what an argument asks for with what `on_open` makes.
#[doc(hidden)]
pub fn made<U, C>(_asked: PhantomData<fn() -> U>, _opened: PhantomData<fn() -> C>) -> MadeProbe<U, C> {
    MadeProbe(PhantomData)
}

/// `on_open` makes the `U` asked for.
#[doc(hidden)]
pub trait MadeByOnOpen {
    /// Fine.
    fn session_made(self);
}

impl<U> MadeByOnOpen for &&&MadeProbe<U, U> {
    fn session_made(self) {}
}

/// Not a session argument.
#[doc(hidden)]
pub trait NothingAsked {
    /// Fine.
    fn session_made(self);
}

impl<C> NothingAsked for &&MadeProbe<NotASession, C> {
    fn session_made(self) {}
}

/// `U::default()` makes it.
#[doc(hidden)]
pub trait MadeByDefault {
    /// Fine.
    fn session_made(self);
}

impl<U: Default, C> MadeByDefault for &MadeProbe<U, C> {
    fn session_made(self) {}
}

#[diagnostic::on_unimplemented(
    message = "`Session<{Self}>` never has a value: nothing makes a `{Self}`",
    label = "`{Self}` has no `Default`, and the route's `on_open` hook does not return one",
    note = "derive `Default` for `{Self}`, or return it from the route's `on_open` hook: \
            `async fn open(conn: Conn) -> {Self} {{ ... }}` with `on_open = open`"
)]
/// Never implemented: asserted for a `Session<U>` nothing makes.
#[doc(hidden)]
pub trait SessionMade {}

impl<U, C> MadeProbe<U, C> {
    /// Nothing makes the `U` asked for: an error on the argument.
    pub fn session_made(self)
    where
        U: SessionMade,
    {
    }
}
