//! `Path<T>`: the `{param}` segments of the route, deserialized with serde.

use super::params::{probe, Params, Shape};
use super::{AdmitCx, CallCx, CheckCx, Extract, Rejection};
use crate::checks::PathParams;
use crate::connection::CloseCode;

/// `T` deserialized from the route's `{param}` segments.
///
/// `T` can be a single value for a route with one param, a tuple or an
/// array with one element per param (both counts checked at compile time,
/// through the type, so an alias of a tuple is checked too), or a struct
/// whose fields are named like the params (checked when the app starts). Values are
/// percent-decoded; a value that does not parse (`/items/abc` into a `u32`)
/// is answered with 400 and no connection opens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Path<T>(pub T);

impl<T> std::ops::Deref for Path<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: PathParams + Send + 'static> Extract for Path<T> {
    fn check(cx: &CheckCx<'_>) -> Result<(), String> {
        match probe::<T>() {
            Shape::Struct(fields) => {
                for field in fields {
                    if !cx.params().contains(field) {
                        return Err(format!(
                            "`Path<{}>` has a field `{field}` but the route's params are {:?}: \
                             rename the field or add a `{{{field}}}` segment",
                            std::any::type_name::<T>(),
                            cx.params()
                        ));
                    }
                }
                Ok(())
            }
            Shape::Single if cx.params().len() != 1 => Err(format!(
                "`Path<{}>` takes one value but the route has {} params: use a tuple or a struct",
                std::any::type_name::<T>(),
                cx.params().len()
            )),
            _ => Ok(()),
        }
    }

    fn admit(cx: &AdmitCx<'_>) -> Result<(), String> {
        T::deserialize(Params { names: cx.names, values: cx.params })
            .map(drop)
            .map_err(|e| format!("invalid path parameter: {e}"))
    }

    fn extract(cx: &CallCx<'_>) -> Result<Self, Rejection> {
        let params = Params { names: cx.conn.route_params(), values: cx.conn.params() };
        T::deserialize(params)
            .map(Path)
            .map_err(|e| Rejection::close(CloseCode::Policy, format!("invalid path parameter: {e}")))
    }
}
