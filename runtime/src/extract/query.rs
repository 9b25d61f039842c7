//! `Query<T>`: the upgrade request's query string, deserialized with serde.

use super::params::{probe, Shape};
use super::{
    AdmitCx, AdmitError, CallCx, CheckCx, CheckError, Extract, FromConn, FromHandshake, HandshakeCx, Needs, Rejection,
};
use crate::auth::identity::ArgProbe;
use crate::auth::Reject;
use crate::checks::{QueryArg, QueryParams, QueryScalar};
use crate::close::CloseCode;
use crate::connection::Conn;

/// `T` deserialized from the query string of the upgrade request
/// (`/feed?topic=news&limit=10`). A query that does not fit `T` is answered
/// with 400 and a text naming the problem, and no connection opens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Query<T>(pub T);

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

// The macro's compile-time check of a `Query<T>` argument (see `crate::checks`).
impl<T: QueryScalar> QueryArg<T> for ArgProbe<Query<T>> {}

impl<T: QueryParams + Send + 'static> FromConn for Query<T> {
    const NEEDS: Needs = Needs::QUERY;

    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError> {
        check::<T>(cx)
    }

    fn admit(cx: &AdmitCx<'_>) -> Result<(), AdmitError> {
        admit::<T>(cx)
    }

    fn from_conn(conn: &Conn) -> Result<Self, Rejection> {
        serde_urlencoded::from_str(conn.query().unwrap_or(""))
            .map(Query)
            .map_err(|e| Rejection::close(CloseCode::Policy, format!("invalid query: {e}")))
    }
}

impl<T: QueryParams + Send + 'static> Extract for Query<T> {
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

impl<T: QueryParams + Send + 'static> FromHandshake for Query<T> {
    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError> {
        check::<T>(cx)
    }

    fn admit(cx: &AdmitCx<'_>) -> Result<(), AdmitError> {
        admit::<T>(cx)
    }

    fn from_handshake(cx: &HandshakeCx<'_>) -> Result<Self, Reject> {
        serde_urlencoded::from_str(cx.handshake().query_string().unwrap_or(""))
            .map(Query)
            .map_err(|e| Reject::status(400, format!("invalid query: {e}")))
    }
}

/// A `T` that is a single value or a tuple can never hold `key=value`
/// pairs: every upgrade would get 400. The common ones (`String`, numbers,
/// tuples) are compile errors already; this catches the rest (a newtype, an
/// enum, a tuple struct) when the app starts.
fn check<T: QueryParams>(_cx: &CheckCx<'_>) -> Result<(), CheckError> {
    match probe::<T>() {
        Shape::Single | Shape::Positional(_) => Err(CheckError::QueryNotMap { type_name: std::any::type_name::<T>() }),
        Shape::Struct(_) | Shape::Sequence | Shape::Other => Ok(()),
    }
}

fn admit<T: QueryParams>(cx: &AdmitCx<'_>) -> Result<(), AdmitError> {
    serde_urlencoded::from_str::<T>(cx.query.unwrap_or("")).map(drop).map_err(|e| AdmitError::Query(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde::Deserialize;

    use super::*;
    use crate::connection::StateMap;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Filter {
        topic: String,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Topic(String);

    #[derive(Deserialize)]
    #[allow(dead_code)]
    enum Order {
        Asc,
        Desc,
    }

    fn check<T: QueryParams + Send + 'static>() -> Result<(), String> {
        let state = StateMap::default();
        <Query<T> as Extract>::check(&CheckCx {
            params: &[],
            state: &state,
            has_auth: false,
            sessions: &Default::default(),
            before_open: false,
            sends: None,
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn only_map_like_types_pass_the_startup_check() {
        assert!(check::<Filter>().is_ok());
        assert!(check::<HashMap<String, String>>().is_ok());
        assert!(check::<Vec<(String, String)>>().is_ok());
        assert!(check::<Topic>().is_err());
        assert!(check::<Order>().is_err());
        assert!(check::<Option<Filter>>().is_err());
    }

    #[test]
    fn the_refused_types_never_deserialize_from_a_query() {
        // Refused at compile time (`wirehub::checks`):
        assert!(serde_urlencoded::from_str::<String>("topic=news").is_err());
        assert!(serde_urlencoded::from_str::<u32>("limit=10").is_err());
        assert!(serde_urlencoded::from_str::<Vec<String>>("tag=a&tag=b").is_err());
        // Refused when the app starts:
        assert!(serde_urlencoded::from_str::<Topic>("topic=news").is_err());
        assert!(serde_urlencoded::from_str::<Order>("order=Asc").is_err());
        assert!(serde_urlencoded::from_str::<Option<Filter>>("topic=news").is_err());
        assert!(serde_urlencoded::from_str::<(String, String)>("a=b").is_err());
        assert!(serde_urlencoded::from_str::<Vec<(String, String)>>("a=b").is_ok());
    }
}
