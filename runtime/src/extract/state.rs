//! `State<T>`: values shared by every connection, registered on the app.

use std::sync::Arc;

use super::{
    AdmitCx, AdmitError, CallCx, CheckCx, CheckError, Extract, FromConn, FromHandshake, HandshakeCx, Needs, Rejection,
};
use crate::auth::Reject;
use crate::close::CloseCode;
use crate::connection::Conn;

/// Shared state of type `T`, registered with [`App::state`](crate::App::state).
///
/// It is an `Arc<T>`: cloning it is cheap and every connection sees the same
/// value; use interior mutability (atomics, a `Mutex`) to change it. Starting
/// an app whose handler takes a `State<T>` that was never registered fails
/// with an error naming the handler.
#[derive(Debug)]
pub struct State<T>(pub Arc<T>);

impl<T> Clone for State<T> {
    fn clone(&self) -> Self {
        State(self.0.clone())
    }
}

impl<T> std::ops::Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Send + Sync + 'static> FromConn for State<T> {
    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError> {
        check::<T>(cx)
    }

    fn from_conn(conn: &Conn) -> Result<Self, Rejection> {
        conn.env().state.get::<T>().map(State).ok_or_else(|| Rejection::close(CloseCode::Error, "missing app state"))
    }
}

impl<T: Send + Sync + 'static> Extract for State<T> {
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

impl<T: Send + Sync + 'static> FromHandshake for State<T> {
    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError> {
        check::<T>(cx)
    }

    fn from_handshake(cx: &HandshakeCx<'_>) -> Result<Self, Reject> {
        cx.state::<T>().map(State).ok_or_else(|| Reject::status(500, "missing app state"))
    }
}

fn check<T: Send + Sync + 'static>(cx: &CheckCx<'_>) -> Result<(), CheckError> {
    match cx.has_state::<T>() {
        true => Ok(()),
        false => Err(CheckError::MissingState { type_name: std::any::type_name::<T>() }),
    }
}
