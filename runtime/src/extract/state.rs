//! `State<T>`: values shared by every connection, registered on the app.

use std::sync::Arc;

use super::{CallCx, CheckCx, CheckError, Extract, Rejection};
use crate::close::CloseCode;

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

impl<T: Send + Sync + 'static> Extract for State<T> {
    fn check(cx: &CheckCx<'_>) -> Result<(), CheckError> {
        match cx.has_state::<T>() {
            true => Ok(()),
            false => Err(CheckError::MissingState { type_name: std::any::type_name::<T>() }),
        }
    }

    fn extract(cx: &CallCx<'_>) -> Result<Self, Rejection> {
        cx.conn.env().state.get::<T>().map(State).ok_or_else(|| Rejection::close(CloseCode::Error, "missing app state"))
    }
}
