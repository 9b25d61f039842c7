//! Running a server on a listener of its own: bind, the accept loop (plain
//! TCP, or TLS with the `tls` feature), and [`Server`].
//! [`App::start`](crate::App::start) builds the app ([`Embedded`]) and hands
//! it here; the drain on shutdown is the embedded app's.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::embedded::Embedded;
use super::http::{admit_connection, serve_io, Via};
use super::{listen, ShutdownHandle};
use crate::error::{Error, Result};
use crate::hub::Hub;

/// How the accepted connections are served.
#[derive(Debug, Clone)]
pub(crate) enum Transport {
    /// Plain HTTP/1.1 (`ws://`).
    Plain,
    /// TLS first (`wss://`).
    #[cfg(feature = "tls")]
    Tls(super::tls::Tls),
}

/// Binds `addr` and serves `app` on it in the background.
pub(crate) async fn start(app: Embedded, addr: &str, transport: Transport) -> Result<Server> {
    let listener = listen(addr, app.shared().config.backlog).await?;
    let local_addr = listener.local_addr()?;
    let task = tokio::spawn(accept_loop(listener, app.clone(), transport));
    tracing::info!(addr = %local_addr, metrics_addr = ?app.metrics_addr(), "wirehub listening");
    Ok(Server { local_addr, app, task })
}

async fn accept_loop(listener: TcpListener, app: Embedded, transport: Transport) {
    let shutdown = app.shutdown_handle();
    loop {
        tokio::select! {
            () = shutdown.requested() => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let shared = app.shared().clone();
                    let Some(place) = admit_connection(&tcp, peer, &shared) else { continue };
                    let _ = tcp.set_nodelay(true);
                    match &transport {
                        Transport::Plain => {
                            tokio::spawn(async move {
                                serve_io(tcp, Via { peer, tls: false }, shared).await;
                                drop(place);
                            });
                        }
                        #[cfg(feature = "tls")]
                        Transport::Tls(tls) => {
                            let tls = tls.clone();
                            tokio::spawn(async move {
                                super::tls::serve_tls(tls, tcp, peer, shared).await;
                                drop(place);
                            });
                        }
                    }
                }
                Err(e) => {
                    // Out of file descriptors or similar: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            }
        }
    }
    // The listener closes here, before the drain is over: new clients are
    // refused instead of queued.
}

/// A running server (from [`App::start`](crate::App::start)).
///
/// ```no_run
/// # async fn f() -> wirehub::Result<()> {
/// let server = wirehub::App::new().bind("127.0.0.1:0").start().await?;
/// println!("listening on {}", server.local_addr());
/// server.shutdown().await
/// # }
/// ```
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    app: Embedded,
    task: JoinHandle<()>,
}

impl Server {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address of `/metrics` and `/healthz` when `Config::metrics_addr`
    /// puts them on their own listener.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.app.metrics_addr()
    }

    /// The server's hub.
    pub fn hub(&self) -> &Hub {
        self.app.hub()
    }

    /// The app being served, to serve more connections than the listener's
    /// (an in-memory pipe, a Unix socket) or to mount its routes elsewhere.
    ///
    /// ```no_run
    /// # async fn f(server: wirehub::Server) {
    /// let (client, pipe) = tokio::io::duplex(64 * 1024);
    /// tokio::spawn(server.app().serve_connection(pipe, "127.0.0.1:1".parse().expect("addr")));
    /// # drop(client);
    /// # }
    /// ```
    pub fn app(&self) -> &Embedded {
        &self.app
    }

    /// A handle that starts the shutdown from anywhere.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.app.shutdown_handle()
    }

    /// Shuts down gracefully: stops accepting, closes every connection with
    /// 1001, waits up to `drain_timeout`.
    pub async fn shutdown(self) -> Result<()> {
        self.app.shutdown_handle().shutdown();
        self.wait().await
    }

    /// Waits until the server stopped (after a shutdown was started).
    pub async fn wait(self) -> Result<()> {
        let accepted = self.task.await;
        self.app.drained().await;
        accepted.map_err(|e| Error::Io(std::io::Error::other(e)))
    }
}
