//! The `soak_server` example as a child process, shared by the soak and
//! shutdown tests (10 000 connections need both ends in separate processes:
//! the file-descriptor hard limit is 20 000).
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The `soak_server` example as a child process, killed if still running when dropped.
pub struct ServerProc {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Builds `examples/soak_server` (a no-op when it is fresh: `cargo test
/// --test soak` alone does not build examples) and returns its
/// path next to this test binary: `target/<profile>/examples/soak_server`.
pub fn soak_server_exe() -> PathBuf {
    if let Ok(cargo) = std::env::var("CARGO") {
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "--example", "soak_server"]);
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        let status = build.stdin(Stdio::null()).status().expect("run cargo build --example soak_server");
        assert!(status.success(), "cargo build --example soak_server failed");
    }
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
    let path = dir.join("examples").join("soak_server");
    assert!(path.exists(), "{} is missing: run `cargo build --example soak_server`", path.display());
    path
}

/// A plain HTTP GET over a fresh TCP connection, read to EOF: (status, body).
pub async fn try_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut tcp = TcpStream::connect(addr).await?;
    tcp.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut buf = Vec::new();
    tcp.read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}

/// Starts `soak_server` on a free port with `drain_ms` and the extra
/// environment `envs`, and waits (at most 20 s) until `/healthz` answers 200.
pub async fn start(drain_ms: u64, envs: &[(&str, &str)]) -> ServerProc {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let child = Command::new(soak_server_exe())
        .env("PORT", port.to_string())
        .env("DRAIN_TIMEOUT_MS", drain_ms.to_string())
        // `SOAK_SERVER_LOG=wirehub=debug` passes a log filter to the server.
        .env("RUST_LOG", std::env::var("SOAK_SERVER_LOG").unwrap_or_default())
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn soak_server");
    let server = ServerProc { child, addr: SocketAddr::from(([127, 0, 0, 1], port)) };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Ok((200, _))) = tokio::time::timeout(Duration::from_secs(2), try_get(server.addr, "/healthz")).await {
            return server;
        }
        assert!(Instant::now() < deadline, "soak_server did not answer /healthz within 20 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
