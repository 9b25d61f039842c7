//! `Path<T>` against the route's `{param}`s: a `T` whose count of values
//! the type fixes (a single value, a tuple, an array) must hold one per
//! `{param}`. A struct is deserialized by field names: the app checks those
//! when it starts.
//!
//! `Query<T>` with a `T` a query string can never fill: a query string is
//! `key=value` pairs, so `T` is a struct or a map, not a single value.

use std::sync::Arc;

use serde::de::DeserializeOwned;

/// Types whose number of path values is fixed by the type: single values,
/// tuples and arrays.
pub trait PathValues {}

#[diagnostic::on_unimplemented(
    message = "`Path<{Self}>` on a route with one `{{param}}` takes one value, not `{Self}`",
    label = "the route has one `{{param}}`",
    note = "write `Path<T>` with a single value such as `Path<u32>` or `Path<String>`, or a struct with a field named after the `{{param}}`"
)]
/// One path value: a single value or a one-element tuple or array.
pub trait FitsOneParam: PathValues {}

#[diagnostic::on_unimplemented(
    message = "`Path<{Self}>` does not hold one value per `{{param}}` of the route, which has {N}",
    label = "the route has {N} `{{param}}`s",
    note = "write a tuple with one element per `{{param}}`, in order, such as `Path<(String, u32)>` for two, or a struct with a field named after each `{{param}}`"
)]
/// `N` path values: an `N`-tuple or an `[T; N]`.
pub trait FitsParams<const N: usize>: PathValues {}

#[diagnostic::on_unimplemented(
    message = "`Path<{Self}>` on a route without `{{param}}` segments has nothing to extract",
    label = "the route has no `{{param}}`",
    note = "add a `{{param}}` segment to the route path, such as `\"/items/{{id}}\"`, or remove the `Path` argument"
)]
/// Never implemented: `Path<T>` needs a `{param}`.
pub trait ParamlessRoute {}

/// The `Path<T>` checks, for a `T` whose count of values is known.
pub trait PathArg<T> {
    /// One value for one `{param}`.
    fn path_one_param(&self)
    where
        T: FitsOneParam,
    {
    }

    /// `N` values for `N` `{param}`s.
    fn path_params<const N: usize>(&self)
    where
        T: FitsParams<N>,
    {
    }
}

/// The `Path<T>` check of a route without params, for any `T`.
pub trait PathArgWithoutParams<T> {
    /// Always an error: there is nothing to extract.
    fn path_without_params(&self)
    where
        T: ParamlessRoute,
    {
    }
}

#[diagnostic::on_unimplemented(
    message = "`Path<{Self}>` needs `{Self}` to implement `serde::Deserialize`",
    label = "`{Self}` does not implement `serde::Deserialize`",
    note = "add `#[derive(serde::Deserialize)]` to `{Self}`, or use a single value, a tuple or a struct that has it"
)]
/// What `Path<T>` deserializes into: any `T: DeserializeOwned`.
pub trait PathParams: DeserializeOwned {}

#[diagnostic::do_not_recommend]
impl<T: DeserializeOwned> PathParams for T {}

macro_rules! single_values {
    ($($ty:ty),* $(,)?) => {$(
        impl PathValues for $ty {}
        impl FitsOneParam for $ty {}
        impl QueryScalar for $ty {}
    )*};
}

single_values!(
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    String,
    Box<str>,
    Arc<str>,
);

macro_rules! tuples {
    ($($n:literal => ($($t:ident),+);)*) => {$(
        impl<$($t),+> PathValues for ($($t,)+) {}
        impl<$($t),+> FitsParams<$n> for ($($t,)+) {}
        impl<$($t),+> QueryScalar for ($($t,)+) {}
    )*};
}

tuples! {
    1 => (A);
    2 => (A, B);
    3 => (A, B, C);
    4 => (A, B, C, D);
    5 => (A, B, C, D, E);
    6 => (A, B, C, D, E, F);
    7 => (A, B, C, D, E, F, G);
    8 => (A, B, C, D, E, F, G, H);
    9 => (A, B, C, D, E, F, G, H, I);
    10 => (A, B, C, D, E, F, G, H, I, J);
    11 => (A, B, C, D, E, F, G, H, I, J, K);
    12 => (A, B, C, D, E, F, G, H, I, J, K, L);
}

impl<A> FitsOneParam for (A,) {}
impl<T, const N: usize> PathValues for [T; N] {}
impl<T, const N: usize> FitsParams<N> for [T; N] {}
impl<T> FitsOneParam for [T; 1] {}

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

#[diagnostic::on_unimplemented(
    message = "`Query<{Self}>` needs `{Self}` to implement `serde::Deserialize`",
    label = "`{Self}` does not implement `serde::Deserialize`",
    note = "add `#[derive(serde::Deserialize)]` to `{Self}`"
)]
/// What `Query<T>` deserializes into: any `T: DeserializeOwned`.
pub trait QueryParams: DeserializeOwned {}

#[diagnostic::do_not_recommend]
impl<T: DeserializeOwned> QueryParams for T {}
