//! `Query<T>` with a `T` a query string can never fill: a query string is
//! `key=value` pairs, so `T` is a struct or a map, not a single value.

use serde::de::DeserializeOwned;

use super::path::FitsOneParam;
use crate::auth::ArgProbe;
use crate::extract::Query;

/// Types whose serde form is not a map, so a query string (`a=1&b=2`) never
/// deserializes into them: single values, `Option`s, tuples, arrays and
/// sequences of single values. (`Vec<(String, String)>` is not one: it takes
/// the pairs in order.)
pub trait QueryScalar {}

impl<T> QueryScalar for Option<T> {}
impl<T, const N: usize> QueryScalar for [T; N] {}
impl QueryScalar for () {}
impl<T: FitsOneParam> QueryScalar for Vec<T> {}

#[diagnostic::on_unimplemented(
    message = "`Query<{Self}>` cannot hold a query string: it is not a struct or a map",
    label = "a query string is `key=value` pairs, not a `{Self}`",
    note = "write a struct with one field per query parameter, such as `struct Filter {{ topic: String, limit: Option<u32> }}` with `#[derive(serde::Deserialize)]`, or `HashMap<String, String>`"
)]
/// A type a query string deserializes into: a struct or a map.
pub trait QueryFields {}

impl<K, V, S> QueryFields for std::collections::HashMap<K, V, S> {}
impl<K, V> QueryFields for std::collections::BTreeMap<K, V> {}

/// The `Query<T>` check, for a `T` that is not map-like.
pub trait QueryArg<T> {
    /// Always an error: a query string is key-value pairs.
    fn query_fields(&self)
    where
        T: QueryFields,
    {
    }
}

impl<T: QueryScalar> QueryArg<T> for ArgProbe<Query<T>> {}

#[diagnostic::on_unimplemented(
    message = "`Query<{Self}>` needs `{Self}` to implement `serde::Deserialize`",
    label = "`{Self}` does not implement `serde::Deserialize`",
    note = "add `#[derive(serde::Deserialize)]` to `{Self}`"
)]
/// What `Query<T>` deserializes into: any `T: DeserializeOwned`.
pub trait QueryParams: DeserializeOwned {}

#[diagnostic::do_not_recommend]
impl<T: DeserializeOwned> QueryParams for T {}
