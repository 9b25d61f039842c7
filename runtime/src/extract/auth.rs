//! `Auth<T>` as an extractor: the identity the route's validator returned.
//! The type itself lives with authentication (`crate::auth`), below the
//! connection that carries it.

use super::{CallCx, CheckCx, CheckError, Extract, Rejection};
use crate::auth::{Auth, Identity};
use crate::close::CloseCode;

impl<T: Send + Sync + 'static> Extract for Auth<T> {
    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError> {
        match cx.has_auth {
            true => Ok(()),
            false => Err(CheckError::AuthWithoutValidator),
        }
    }

    fn extract(cx: &CallCx<'_>) -> Result<Self, Rejection> {
        cx.conn
            .identity()
            .and_then(Identity::get::<T>)
            .map(Auth)
            .ok_or_else(|| Rejection::close(CloseCode::Error, "identity unavailable"))
    }
}
