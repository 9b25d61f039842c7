//! What every connection of an app shares: the hub, the app's state, the
//! clock timestamps count from, and the shutdown signals. The server builds
//! one [`Env`] when the app starts; each connection holds an `Arc` of it.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::hub::Hub;

/// The app-wide context of every connection.
#[derive(Debug)]
pub(crate) struct Env {
    pub(crate) hub: Hub,
    pub(crate) state: StateMap,
    /// The instant timestamps of the app count from.
    pub(crate) epoch: Instant,
    /// Set once shutdown began: connections opening now close at once.
    pub(crate) draining: Arc<AtomicBool>,
    /// Set when the drain time is up: connections still closing drop their
    /// TCP connection, and plain HTTP connections end.
    pub(crate) hard_stop: tokio::sync::watch::Sender<bool>,
    /// The validator's time limit, for `reauth` too.
    pub(crate) handshake_timeout: Duration,
}

impl Env {
    /// Resolves once the drain time is up (at once if it already is).
    pub(crate) async fn hard_stopped(&self) {
        let mut stop = self.hard_stop.subscribe();
        let _ = stop.wait_for(|stopped| *stopped).await;
    }
}

/// The registered states, by type.
#[derive(Default)]
pub(crate) struct StateMap(HashMap<TypeId, Arc<dyn Any + Send + Sync>>);

impl std::fmt::Debug for StateMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateMap").field("len", &self.0.len()).finish()
    }
}

impl StateMap {
    pub(crate) fn insert<T: Send + Sync + 'static>(&mut self, value: Arc<T>) {
        self.0.insert(TypeId::of::<T>(), value);
    }

    pub(crate) fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.0.get(&TypeId::of::<T>()).and_then(|v| v.clone().downcast::<T>().ok())
    }
}
