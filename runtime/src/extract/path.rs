//! `Path<T>`: the `{param}` segments of the route, deserialized with serde.

use super::params::{probe, Params, Shape};
use super::{
    AdmitCx, AdmitError, CallCx, CheckCx, CheckError, Extract, FromConn, FromHandshake, HandshakeCx, Needs, Rejection,
};
use crate::auth::identity::ArgProbe;
use crate::auth::Reject;
use crate::checks::{PathArg, PathArgWithoutParams, PathParams, PathValues};
use crate::close::CloseCode;
use crate::connection::Conn;

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

// The macro's compile-time checks of a `Path<T>` argument (see `crate::checks`).
impl<T: PathValues> PathArg<T> for ArgProbe<Path<T>> {}
impl<T> PathArgWithoutParams<T> for ArgProbe<Path<T>> {}

impl<T: PathParams + Send + 'static> FromConn for Path<T> {
    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError> {
        check::<T>(cx)
    }

    fn admit(cx: &AdmitCx<'_>) -> Result<(), AdmitError> {
        admit::<T>(cx)
    }

    fn from_conn(conn: &Conn) -> Result<Self, Rejection> {
        let params = Params { names: conn.route_params(), values: conn.params() };
        T::deserialize(params)
            .map(Path)
            .map_err(|e| Rejection::close(CloseCode::Policy, format!("invalid path parameter: {e}")))
    }
}

impl<T: PathParams + Send + 'static> Extract for Path<T> {
    const NEEDS: Needs = <Self as FromConn>::NEEDS;

    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError> {
        <Self as FromConn>::check(cx)
    }

    fn admit(cx: &AdmitCx<'_>) -> Result<(), AdmitError> {
        <Self as FromConn>::admit(cx)
    }

    fn extract(cx: &CallCx<'_>) -> Result<Self, Rejection> {
        Self::from_conn(cx.conn())
    }
}

impl<T: PathParams + Send + 'static> FromHandshake for Path<T> {
    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError> {
        check::<T>(cx)
    }

    fn admit(cx: &AdmitCx<'_>) -> Result<(), AdmitError> {
        admit::<T>(cx)
    }

    fn from_handshake(cx: &HandshakeCx<'_>) -> Result<Self, Reject> {
        let hs = cx.handshake();
        T::deserialize(Params { names: hs.param_names, values: &hs.params })
            .map(Path)
            .map_err(|e| Reject::status(400, format!("invalid path parameter: {e}")))
    }
}

fn check<T: PathParams>(cx: &CheckCx<'_>) -> Result<(), CheckError> {
    let type_name = std::any::type_name::<T>();
    match probe::<T>() {
        Shape::Struct(fields) => match fields.iter().find(|field| !cx.params().contains(field)) {
            Some(field) => Err(CheckError::PathFieldNotParam { type_name, field, params: cx.params() }),
            None => Ok(()),
        },
        Shape::Single if cx.params().len() != 1 => {
            Err(CheckError::PathNotSingle { type_name, params: cx.params().len() })
        }
        // A tuple struct: its count is only known here (a tuple's is checked at compile time).
        Shape::Positional(values) if values != cx.params().len() => {
            Err(CheckError::PathArity { type_name, values, params: cx.params().len() })
        }
        _ => Ok(()),
    }
}

fn admit<T: PathParams>(cx: &AdmitCx<'_>) -> Result<(), AdmitError> {
    T::deserialize(Params { names: cx.names, values: cx.params }).map(drop).map_err(|e| AdmitError::Path(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::connection::StateMap;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Ids(String, u32);

    fn check<T: PathParams + Send + 'static>(params: &'static [&'static str]) -> Result<(), String> {
        let state = StateMap::default();
        <Path<T> as Extract>::check(&CheckCx {
            params,
            state: &state,
            has_auth: false,
            sessions: &Default::default(),
            before_open: false,
            sends: None,
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn a_tuple_struct_needs_one_field_per_param_when_the_app_starts() {
        assert!(check::<Ids>(&["room", "id"]).is_ok());
        let err = check::<Ids>(&["room"]).err().unwrap_or_default();
        assert!(err.contains("holds 2 values but the route has 1 params"), "{err}");
    }
}
