//! `Auth<T>` as an extractor: the identity the route's validator returned.
//! The type itself lives with authentication (`crate::auth`), below the
//! connection that carries it.

use super::{AdmitCx, AdmitError, CallCx, CheckCx, CheckError, Extract, FromConn, Needs, Rejection};
use crate::auth::{Auth, Identity};
use crate::close::CloseCode;
use crate::connection::Conn;

impl<T: Send + Sync + 'static> FromConn for Auth<T> {
    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError> {
        match cx.has_auth {
            true => Ok(()),
            false => Err(CheckError::AuthWithoutValidator),
        }
    }

    fn from_conn(conn: &Conn) -> Result<Self, Rejection> {
        conn.identity()
            .and_then(Identity::get::<T>)
            .map(Auth)
            .ok_or_else(|| Rejection::close(CloseCode::Error, "identity unavailable"))
    }
}

impl<T: Send + Sync + 'static> Extract for Auth<T> {
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
