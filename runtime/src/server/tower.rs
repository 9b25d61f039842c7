//! [`UpgradeService`]: the app's HTTP side as a tower `Service`, for any
//! server that speaks tower or hyper (hyper-util, tonic's router, axum's
//! `route_service`). It answers the pages (`/metrics`, `/healthz`,
//! `App::page`), refuses what is not a valid upgrade, and upgrades the
//! rest: the same named steps as wirehub's own listener.
//!
//! The request must come from an HTTP/1.1 server that supports upgrades
//! (hyper puts an `OnUpgrade` in the request's extensions); otherwise the
//! answer is 500 and `wirehub_handshakes_rejected_total{reason="no_upgrade"}`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};

use super::embedded::Embedded;
use super::http::{handle, Body};

/// The client's address, as a request extension for [`UpgradeService`]
/// (wirehub's own listener and [`Embedded::serve_connection`] know it).
/// With the `axum` feature, axum's `ConnectInfo<SocketAddr>` works too.
///
/// ```
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(wirehub::PeerAddr("203.0.113.9:4711".parse().expect("addr")));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// The app's HTTP side as a tower `Service<Request<B>>` (any body type:
/// the body is not read). Cheap to clone; from [`Embedded::service`].
///
/// The request must come from an HTTP/1.1 server that supports upgrades
/// (hyper puts an `OnUpgrade` in the request's extensions); otherwise the
/// answer is 500 and `wirehub_handshakes_rejected_total{reason="no_upgrade"}`.
/// The client's address is read from the [`PeerAddr`] extension (or, with
/// the `axum` feature, axum's `ConnectInfo<SocketAddr>`).
///
/// ```no_run
/// # async fn f(app: wirehub::Embedded, tcp: tokio::net::TcpStream, peer: std::net::SocketAddr) {
/// use hyper_util::rt::TokioIo;
/// use tower_service::Service as _;
///
/// // Your own hyper server: the client's address goes in as an extension.
/// let service = hyper::service::service_fn(move |mut req| {
///     req.extensions_mut().insert(wirehub::PeerAddr(peer));
///     app.service().call(req)
/// });
/// let conn = hyper::server::conn::http1::Builder::new()
///     .serve_connection(TokioIo::new(tcp), service)
///     .with_upgrades(); // needed: the WebSocket takes the connection over
/// let _ = conn.await;
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct UpgradeService {
    app: Embedded,
}

impl Embedded {
    /// The app's HTTP side as a tower `Service` (see [`UpgradeService`]
    /// for a hyper server around it).
    ///
    /// ```no_run
    /// # async fn f(app: wirehub::Embedded) {
    /// use tower_service::Service as _;
    ///
    /// let response = app.service().call(http::Request::new(())).await;
    /// # drop(response);
    /// # }
    /// ```
    pub fn service(&self) -> UpgradeService {
        UpgradeService { app: self.clone() }
    }
}

impl<B> tower_service::Service<Request<B>> for UpgradeService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let via = self.app.via(peer_of(&req));
        let answer = handle(req, via, self.app.shared().clone());
        Box::pin(async move { Ok(answer.await) })
    }
}

/// The client's address, if the server in front put it in the request.
fn peer_of<B>(req: &Request<B>) -> Option<SocketAddr> {
    let ours = req.extensions().get::<PeerAddr>().map(|p| p.0);
    #[cfg(feature = "axum")]
    let ours = ours.or_else(|| req.extensions().get::<::axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0));
    ours
}
