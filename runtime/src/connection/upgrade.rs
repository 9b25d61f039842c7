//! What a connection takes from its upgrade request ([`Needs`]), and what
//! a validator's extractors see of it ([`HandshakeCx`]): below the
//! connection, which keeps the one and runs validators with the other.

use super::StateMap;
use crate::auth::Handshake;

/// What a [`FromHandshake`](crate::extract::FromHandshake) extractor sees: the upgrade request and the
/// app's state.
#[derive(Debug)]
pub struct HandshakeCx<'a> {
    pub(crate) handshake: &'a Handshake,
    pub(crate) state: &'a StateMap,
}

impl<'a> HandshakeCx<'a> {
    /// The upgrade request.
    pub fn handshake(&self) -> &'a Handshake {
        self.handshake
    }

    /// The app's state of type `T`, if registered.
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<std::sync::Arc<T>> {
        self.state.get::<T>()
    }
}

/// What of the upgrade request a route's connections keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs(u8);

impl Needs {
    /// Nothing.
    pub const NONE: Needs = Needs(0);
    /// The request headers.
    pub const HEADERS: Needs = Needs(1);
    /// The query string.
    pub const QUERY: Needs = Needs(2);

    /// The union of what each argument needs.
    #[doc(hidden)]
    pub const fn combine(args: &[Needs]) -> Needs {
        let mut acc = 0;
        let mut i = 0;
        while i < args.len() {
            acc |= args[i].0;
            i += 1;
        }
        Needs(acc)
    }

    pub(crate) const fn contains(self, other: Needs) -> bool {
        self.0 & other.0 == other.0
    }
}
