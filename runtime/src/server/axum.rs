//! [`Embedded::router`] (feature `axum`): the app's WebSocket routes and
//! pages as an `axum::Router`, to merge or nest into your own router.
//!
//! Each route pattern and page path becomes one axum route served by the
//! app's [`UpgradeService`](super::UpgradeService), so the upgrade runs the
//! same named steps as on wirehub's own listener (origin, caps, auth before
//! the 101, metrics), and your layers (`.layer(...)` on the outer router)
//! see every upgrade request before it does. Nested (`.nest("/ws", ...)`),
//! the routes match below the prefix, as axum strips it.
//!
//! Serve with `into_make_service_with_connect_info::<SocketAddr>()`: without
//! the client's address every client counts as `0.0.0.0` under per-IP caps
//! (a warning is logged once). axum does not apply `handshake_timeout` or
//! `max_handshake_headers` to the request head; hyper's defaults do.

use super::embedded::Embedded;
use crate::template::Segment;

impl Embedded {
    /// The app's routes and pages as an `axum::Router`, for any state type,
    /// to merge or nest into yours: your layers see the upgrade requests
    /// first, then the same steps as on wirehub's own listener run (origin,
    /// caps, auth before the 101, metrics). Nested, the routes match below
    /// the prefix. Every clone of the app serves the same routes. A path
    /// that your router declares too makes axum's `merge` panic, as any
    /// overlap does: `nest` the WebSocket routes under a prefix then.
    ///
    /// Serve with `into_make_service_with_connect_info::<SocketAddr>()`:
    /// without it every client counts as `0.0.0.0` under per-IP caps (a
    /// warning is logged once). axum applies hyper's defaults to the request
    /// head, not `handshake_timeout` or `max_handshake_headers`.
    ///
    /// ```no_run
    /// use std::net::SocketAddr;
    ///
    /// use axum::{extract::State, routing::post, Router};
    /// use wirehub::Hub;
    ///
    /// async fn announce(State(hub): State<Hub>) -> &'static str {
    ///     hub.broadcast("lobby", "the REST API says hello");
    ///     "sent\n"
    /// }
    ///
    /// # async fn f() -> wirehub::Result<()> {
    /// let ws = wirehub::App::new().build().await?;
    /// let app = Router::new()
    ///     .route("/api/announce", post(announce))
    ///     .merge(ws.router())
    ///     .with_state(ws.hub().clone());
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
    /// let service = app.into_make_service_with_connect_info::<SocketAddr>(); // client addresses for caps and logs
    /// axum::serve(listener, service).with_graceful_shutdown(wirehub::shutdown_signal()).await?;
    /// ws.shutdown().await; // then close the WebSockets (1001), up to `drain_timeout`
    /// # Ok(())
    /// # }
    /// ```
    pub fn router<S>(&self) -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let service = self.service();
        // `without_v07_checks`: a literal segment such as `:8000` is a path, not old syntax.
        let mut router = axum::Router::new().without_v07_checks();
        for path in self.axum_paths() {
            router = router.route_service(&path, service.clone());
        }
        router
    }

    /// Every path the app answers, in axum's syntax: route params named by
    /// position (`/chat/{p1}`), so two routes never give one position two
    /// names; page paths with braces escaped. A page path without a leading
    /// `/` could never match a request and is left out.
    fn axum_paths(&self) -> Vec<String> {
        let shared = self.shared();
        let mut paths: Vec<String> = shared.defs.iter().map(|def| axum_pattern(def.segments)).collect();
        paths.extend(shared.pages.keys().filter(|p| p.starts_with('/')).map(|p| escape(p)));
        paths.sort();
        paths.dedup();
        paths
    }
}

/// `/chat/{room}` as `/chat/{p1}`.
fn axum_pattern(segments: &[Segment]) -> String {
    if segments.is_empty() {
        return "/".to_owned();
    }
    let mut path = String::new();
    for (i, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Static(s) => {
                path.push('/');
                path.push_str(&escape(s));
            }
            Segment::Param => path.push_str(&format!("/{{p{i}}}")),
        }
    }
    path
}

/// A literal path in axum's syntax: `{` and `}` doubled.
fn escape(path: &str) -> String {
    path.replace('{', "{{").replace('}', "}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_name_params_by_position() {
        let cases: &[(&[Segment], &str)] = &[
            (&[], "/"),
            (&[Segment::Static("echo")], "/echo"),
            (&[Segment::Static("chat"), Segment::Param], "/chat/{p1}"),
            (&[Segment::Param, Segment::Static("x"), Segment::Param], "/{p0}/x/{p2}"),
        ];
        for (segments, path) in cases {
            assert_eq!(axum_pattern(segments), *path);
        }
        assert_eq!(escape("/a{b}"), "/a{{b}}");
    }
}
