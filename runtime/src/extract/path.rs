//! `Path<T>`: the `{param}` segments of the route, deserialized with serde.

use serde::de::DeserializeOwned;

use super::params::{probe, Params, Shape};
use super::{AdmitCx, AdmitError, CallCx, CheckCx, CheckError, Extract, Rejection};
use crate::close::CloseCode;

/// `T` deserialized from the route's `{param}` segments.
///
/// `T` can be a struct whose fields are named like the params (checked when
/// the app starts), a tuple with one element per param (checked at compile
/// time), or a single value for a route with one param. Values are
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

impl<T: DeserializeOwned + Send + 'static> Extract for Path<T> {
    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError> {
        let type_name = std::any::type_name::<T>();
        match probe::<T>() {
            Shape::Struct(fields) => match fields.iter().find(|field| !cx.params().contains(field)) {
                Some(field) => Err(CheckError::PathFieldNotParam { type_name, field, params: cx.params() }),
                None => Ok(()),
            },
            Shape::Single if cx.params().len() != 1 => {
                Err(CheckError::PathNotSingle { type_name, params: cx.params().len() })
            }
            _ => Ok(()),
        }
    }

    fn admit(cx: &AdmitCx<'_>) -> Result<(), AdmitError> {
        T::deserialize(Params { names: cx.names, values: cx.params })
            .map(drop)
            .map_err(|e| AdmitError::Path(Box::new(e)))
    }

    fn extract(cx: &CallCx<'_>) -> Result<Self, Rejection> {
        let params = Params { names: cx.conn.route_params(), values: cx.conn.params() };
        T::deserialize(params)
            .map(Path)
            .map_err(|e| Rejection::close(CloseCode::Policy, format!("invalid path parameter: {e}")))
    }
}
