//! `Query<T>`: the upgrade request's query string, deserialized with serde.

use super::{AdmitCx, CallCx, Extract, Needs, Rejection};
use crate::checks::QueryParams;
use crate::connection::CloseCode;

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

impl<T: QueryParams + Send + 'static> Extract for Query<T> {
    const NEEDS: Needs = Needs::QUERY;

    fn admit(cx: &AdmitCx<'_>) -> Result<(), String> {
        serde_urlencoded::from_str::<T>(cx.query.unwrap_or("")).map(drop).map_err(|e| format!("invalid query: {e}"))
    }

    fn extract(cx: &CallCx<'_>) -> Result<Self, Rejection> {
        serde_urlencoded::from_str(cx.conn.query().unwrap_or(""))
            .map(Query)
            .map_err(|e| Rejection::close(CloseCode::Policy, format!("invalid query: {e}")))
    }
}
