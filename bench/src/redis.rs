//! The `redis-server` of the cross-instance scenario (`broadcast-redis`):
//! started by the bench on a free port, without persistence, killed with
//! the setup that uses it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{fail, Res};

/// Whether `redis-server` can be run here.
pub(crate) fn installed() -> bool {
    let version = Command::new("redis-server").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    matches!(version, Ok(s) if s.success())
}

/// A running `redis-server`, killed when dropped.
#[derive(Debug)]
pub(crate) struct RedisProc {
    child: Child,
    /// Its port on 127.0.0.1.
    pub(crate) port: u16,
}

impl RedisProc {
    /// Starts one on `port` and waits until it answers `PING`.
    pub(crate) async fn start(port: u16) -> Res<RedisProc> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start redis-server: {e}"))?;
        let mut redis = RedisProc { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = redis.child.try_wait()? {
                return fail(format!("redis-server exited at startup: {status}"));
            }
            if ping(port).await {
                return Ok(redis);
            }
            if Instant::now() > deadline {
                return fail(format!("redis-server did not answer PING on port {port} within 10 s"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The URL the wirehub instances connect to.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Checks it is still running.
    pub(crate) fn check_alive(&mut self) -> Res<()> {
        match self.child.try_wait()? {
            Some(status) => fail(format!("redis-server died during the run: {status}")),
            None => Ok(()),
        }
    }
}

impl Drop for RedisProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a Redis on `port` answers `PING` with `+PONG` (within a second).
async fn ping(port: u16) -> bool {
    let exchange = async {
        let mut tcp = TcpStream::connect(("127.0.0.1", port)).await?;
        tcp.write_all(b"PING\r\n").await?;
        let mut reply = [0u8; 7];
        tcp.read_exact(&mut reply).await?;
        Ok::<bool, std::io::Error>(&reply == b"+PONG\r\n")
    };
    matches!(tokio::time::timeout(Duration::from_secs(1), exchange).await, Ok(Ok(true)))
}
