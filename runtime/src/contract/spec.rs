//! What `receives = T` / `sends = T` leave in a route's options: the
//! message type, as a function the runtime calls when the app starts, and
//! its JSON Schema when it has one.
//!
//! The schema is found by autoref specialization in the generated code,
//! which knows the concrete type: `(&&probe).schema_fn()` picks
//! [`HasSchema`] when `T: schemars::JsonSchema` (feature `contract`), else
//! [`NoSchema`]. So enabling the feature asks nothing of types that lack
//! `JsonSchema`, and without it nothing is asked of any type.

use std::any::TypeId;
use std::marker::PhantomData;

/// A route's message type as the runtime sees it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct MessageSpec {
    /// The type's path (`chat::ChatIn`).
    pub(crate) name: &'static str,
    /// Its identity, to check `Out<T>` against the route's `sends` when the app starts.
    pub(crate) type_id: TypeId,
    /// Its JSON Schema, when the type implements `schemars::JsonSchema`
    /// and the feature `contract` is on.
    #[cfg_attr(not(feature = "contract"), allow(dead_code))]
    pub(crate) schema: Option<SchemaFn>,
}

/// A type's JSON Schema (a `$ref` into the generator's definitions, or the
/// schema itself), written by the generator it is given.
#[cfg(feature = "contract")]
#[doc(hidden)]
pub type SchemaFn = fn(&mut schemars::SchemaGenerator) -> schemars::Schema;

/// Without the feature `contract` no type has a schema: this is never made.
#[cfg(not(feature = "contract"))]
#[doc(hidden)]
pub type SchemaFn = fn(NoSchemas);

/// Uninhabited: the argument of [`SchemaFn`] without the feature `contract`.
#[cfg(not(feature = "contract"))]
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum NoSchemas {}

/// The receiver of the schema probe of `T` (see the module docs).
#[doc(hidden)]
pub struct SchemaProbe<T: ?Sized>(PhantomData<fn() -> PhantomData<T>>);

impl<T: ?Sized> SchemaProbe<T> {
    /// The probe of `T`.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        SchemaProbe(PhantomData)
    }
}

/// Picked for `(&&probe).schema_fn()` when `T: JsonSchema`: its schema.
#[doc(hidden)]
pub trait HasSchema {
    /// `T`'s schema function.
    fn schema_fn(&self) -> Option<SchemaFn>;
}

#[cfg(feature = "contract")]
impl<T: schemars::JsonSchema + ?Sized> HasSchema for &SchemaProbe<T> {
    fn schema_fn(&self) -> Option<SchemaFn> {
        Some(|generator| generator.subschema_for::<T>())
    }
}

/// Picked for `(&&probe).schema_fn()` otherwise: no schema.
#[doc(hidden)]
pub trait NoSchema {
    /// `None`.
    fn schema_fn(&self) -> Option<SchemaFn>;
}

impl<T: ?Sized> NoSchema for SchemaProbe<T> {
    fn schema_fn(&self) -> Option<SchemaFn> {
        None
    }
}

/// The runtime value of `receives = T` and `sends = T`: the generated code's
/// `fn() -> MessageSpec` (a constant cannot hold a `TypeId` today).
#[doc(hidden)]
pub type MessageFn = fn() -> MessageSpec;

impl MessageSpec {
    /// The spec of `T`, without a schema.
    pub fn of<T: 'static>() -> Self {
        MessageSpec { name: std::any::type_name::<T>(), type_id: TypeId::of::<T>(), schema: None }
    }

    /// The spec of the probe's `T`, with the schema its probe found (the
    /// generated code names `T` once, in the probe).
    pub fn probed<T: 'static>(_probe: &SchemaProbe<T>, schema: Option<SchemaFn>) -> Self {
        MessageSpec { schema, ..MessageSpec::of::<T>() }
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

    struct Plain;

    #[test]
    #[allow(clippy::needless_borrow)] // `&&` picks `HasSchema` when there is one
    fn the_probe_finds_a_schema_only_where_there_is_one() {
        #[allow(unused_imports)]
        use super::{HasSchema as _, NoSchema as _};
        let plain = SchemaProbe::<Plain>::new();
        assert!(MessageSpec::probed(&plain, (&&plain).schema_fn()).schema.is_none());
        let string = SchemaProbe::<String>::new();
        let found = MessageSpec::probed(&string, (&&string).schema_fn()).schema.is_some();
        assert_eq!(found, cfg!(feature = "contract"));
    }
}
