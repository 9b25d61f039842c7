//! Errors returned by wirehub's own API (starting a server, binding, routing setup).
//!
//! Errors that happen *on a connection* are not [`Error`]s: they end that one
//! connection with a close code (see [`CloseCode`](crate::CloseCode)) and a
//! [`CloseReason`](crate::CloseReason), and the server keeps serving everyone else.

use std::io;

use crate::extract::CheckError;

/// The result type of wirehub's fallible API.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop an [`App`](crate::App) from starting or serving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listening socket could not be created or bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address that was asked for.
        addr: String,
        /// What the operating system said.
        source: io::Error,
    },
    /// The bind address is not a socket address.
    #[error("invalid bind address `{0}`: write an IP and a port, such as `127.0.0.1:8000`")]
    BadAddress(String),
    /// Two handlers were registered for the same path pattern.
    #[error(
        "duplicate route `{path}`: `{first}` ({first_at}) and `{second}` ({second_at}) are both \
         registered for it; give one of them another path"
    )]
    DuplicateRoute {
        /// The path pattern both handlers claim.
        path: &'static str,
        /// The handler registered first.
        first: &'static str,
        /// Source location of `first`.
        first_at: String,
        /// The other handler.
        second: &'static str,
        /// Source location of `second`.
        second_at: String,
    },
    /// [`App::route`](crate::App::route) named a path pattern that no
    /// linked `#[ws_route]` handler declares.
    #[error("no #[ws_route] handler is declared with the path `{path}`; the linked ones are: {}", linked.join(", "))]
    UnknownRoute {
        /// The pattern asked for.
        path: String,
        /// The patterns of the linked handlers.
        linked: Vec<&'static str>,
    },
    /// A route cannot be served as declared: a handler's extractors do not
    /// fit the route or the app, or a page would hide the route.
    #[error("route `{path}` (handler `{handler}` at {at}): {reason}")]
    Route {
        /// The route's path pattern.
        path: &'static str,
        /// The handler function.
        handler: &'static str,
        /// Source location of the handler.
        at: String,
        /// What is wrong and what to do.
        #[source]
        reason: RouteError,
    },
    /// The metrics could not be registered (a name clash in a user registry).
    #[error("cannot register metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The backplane could not start (a malformed Redis URL).
    #[error("backplane: {0}")]
    Backplane(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// An I/O error while serving (accepting connections).
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}

/// Why a route cannot be served as declared (the reason of [`Error::Route`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// A handler argument does not fit the route or the app (a `State<T>`
    /// that was never registered, a `Path<T>` field that is not a path parameter).
    #[error(transparent)]
    Extractor(#[from] CheckError),
    /// A page answers on exactly this route's path, before the router.
    #[error(
        "the page `{page}` (App::page/App::get, or the metrics or health endpoint) would hide this route: serve one \
         of them on another path"
    )]
    HiddenByPage {
        /// The page's path.
        page: String,
    },
}
