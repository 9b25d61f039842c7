//! The listening socket, with a configurable backlog.
//!
//! `tokio::net::TcpListener::bind` listens with a backlog of 128: a burst of
//! connects overflows the accept queue and clients stall for a second (SYN
//! retransmit). wirehub creates the socket with `socket2` and listens with
//! `Config::backlog` (default 1024; the kernel caps it at `somaxconn`).

use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

use crate::error::{Error, Result};

/// Binds `addr`: an IP address and port, or a host name and port
/// (`localhost:8000`, resolved; the first address is used).
pub(crate) async fn listen(addr: &str, backlog: u32) -> Result<TcpListener> {
    let parsed: SocketAddr = match addr.parse() {
        Ok(parsed) => parsed,
        // `localhost` often resolves to [::1] first: prefer IPv4, which
        // is what clients of `127.0.0.1` reach.
        Err(_) => {
            let found: Vec<SocketAddr> =
                tokio::time::timeout(std::time::Duration::from_secs(5), tokio::net::lookup_host(addr))
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .map(Iterator::collect)
                    .unwrap_or_default();
            found
                .iter()
                .find(|a| a.is_ipv4())
                .or_else(|| found.first())
                .copied()
                .ok_or_else(|| Error::BadAddress(addr.to_owned()))?
        }
    };
    let bind_err = |source| Error::Bind { addr: addr.to_owned(), source };
    let socket = Socket::new(Domain::for_address(parsed), Type::STREAM, Some(Protocol::TCP)).map_err(bind_err)?;
    socket.set_reuse_address(true).map_err(bind_err)?;
    socket.set_nonblocking(true).map_err(bind_err)?;
    socket.bind(&parsed.into()).map_err(bind_err)?;
    socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX)).map_err(bind_err)?;
    TcpListener::from_std(socket.into()).map_err(bind_err)
}
