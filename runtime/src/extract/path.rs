//! `Path<T>`: the `{param}` segments of the route, deserialized with serde.

use super::params::{probe, Params, Shape};
use super::{AdmitCx, CallCx, CheckCx, Extract, Rejection};
use crate::checks::PathParams;
use crate::connection::CloseCode;

/// `T` deserialized from the route's `{param}` segments.
///
/// `T` can be a single value for a route with one param, a tuple or an
/// array with one element per param (both counts checked at compile time,
/// through the type, so an alias of a tuple is checked too), a tuple struct
/// (its count checked when the app starts), or a struct whose fields are
/// named like the params (checked when the app starts). Values are
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
            // A tuple struct: its count is only known here (a tuple's is checked at compile time).
            Shape::Positional(n) if n != cx.params().len() => Err(format!(
                "`Path<{}>` holds {n} values but the route has {} params: write one field per `{{param}}`, in order",
                std::any::type_name::<T>(),
                cx.params().len()
            )),
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

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::extract::state::StateMap;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Ids(String, u32);

    fn check<T: PathParams + Send + 'static>(params: &'static [&'static str]) -> Result<(), String> {
        let state = StateMap::default();
        <Path<T> as Extract>::check(&CheckCx { params, state: &state, has_auth: false })
    }

    #[test]
    fn a_tuple_struct_needs_one_field_per_param_when_the_app_starts() {
        assert!(check::<Ids>(&["room", "id"]).is_ok());
        let err = check::<Ids>(&["room"]).err().unwrap_or_default();
        assert!(err.contains("holds 2 values but the route has 1 params"), "{err}");
    }
}
