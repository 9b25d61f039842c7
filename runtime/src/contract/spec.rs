//! What `receives = T` / `sends = T` leave in a route's options: the
//! message type, as a function the runtime calls when the app starts.

use std::any::TypeId;

/// A route's message type as the runtime sees it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct MessageSpec {
    /// The type's path (`chat::ChatIn`).
    pub(crate) name: &'static str,
    /// Its identity, to check `Out<T>` against the route's `sends` when the app starts.
    pub(crate) type_id: TypeId,
}

/// The runtime value of `receives = T` and `sends = T`: the generated code's
/// `fn() -> MessageSpec` (a constant cannot hold a `TypeId` today).
#[doc(hidden)]
pub type MessageFn = fn() -> MessageSpec;

impl MessageSpec {
    /// The spec of `T`.
    pub fn of<T: 'static>() -> Self {
        MessageSpec { name: std::any::type_name::<T>(), type_id: TypeId::of::<T>() }
    }

    /// The type's last path segment, generics included (`ChatIn`), for messages.
    pub(crate) fn short_name(&self) -> &'static str {
        short(self.name)
    }
}

/// `chat::ChatIn` → `ChatIn`; `a::Wrap<b::C>` → `Wrap<b::C>`.
pub(crate) fn short(name: &'static str) -> &'static str {
    let head = name.find('<').map_or(name, |i| &name[..i]);
    head.rfind("::").map_or(name, |i| &name[i + 2..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shortened_to_their_last_segment() {
        assert_eq!(short("chat::ChatIn"), "ChatIn");
        assert_eq!(short("a::Wrap<b::C>"), "Wrap<b::C>");
        assert_eq!(short("u8"), "u8");
        assert_eq!(MessageSpec::of::<String>().short_name(), "String");
    }
}
