//! A real `redis-server` for the backplane tests: started on a free port,
//! killed on drop. Without the binary the tests print one line and pass,
//! except under CI (`CI` set), where they fail.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{free_port, within};

/// A `redis-server` on a free port, killed on drop.
pub struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts one, or returns `None` (after printing why) when the binary
    /// is missing outside CI.
    pub async fn start() -> Option<RedisServer> {
        Self::start_retrying(free_port).await
    }

    /// Starts one on a port outside the kernel's ephemeral range, so that no
    /// other test's `free_port()` can take it while this server is down for
    /// a restart.
    pub async fn start_restartable() -> Option<RedisServer> {
        let base = 20_000 + (std::process::id() as u16 % 4000);
        let mut candidates = (base..base + 1000).filter(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok());
        Self::start_retrying(|| candidates.next().expect("a free port below the ephemeral range")).await
    }

    /// Restarts on `port` (the clients know that address), retrying there.
    pub async fn start_on(port: u16) -> Option<RedisServer> {
        Self::start_retrying(|| port).await
    }

    /// Up to three attempts, each on the port `next_port` gives: a start
    /// that fails (the port taken between the probe and redis's bind, or
    /// the server gone before it answered) is reported and retried.
    async fn start_retrying(mut next_port: impl FnMut() -> u16) -> Option<RedisServer> {
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Self::try_start_on(next_port()).await {
                Ok(server) => return server,
                Err(why) => failures.push(why),
            }
        }
        panic!("redis-server did not start:\n{}", failures.join("\n"));
    }

    async fn try_start_on(port: u16) -> Result<Option<RedisServer>, String> {
        let log = std::env::temp_dir().join(format!("wirehub-test-redis-{port}.log"));
        let _ = std::fs::remove_file(&log);
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--logfile")
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if std::env::var_os("CI").is_none() => {
                println!("skipped: redis-server is not installed ({e}); `apt-get install redis-server` to run it");
                return Ok(None);
            }
            Err(e) => panic!("redis-server is required under CI: {e}"),
        };
        let mut server = RedisServer { child, port };
        let failed = |server: &mut RedisServer, why: String| {
            server.kill();
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            Err(format!("port {port}: {why}; redis-server log:\n{log}"))
        };
        let ready = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if !matches!(server.child.try_wait(), Ok(None)) {
                    return Err("redis-server exited".to_owned());
                }
                if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        match ready {
            Ok(Ok(())) => {}
            Ok(Err(why)) => return failed(&mut server, why),
            Err(_) => return failed(&mut server, "no answer within 10 s".to_owned()),
        }
        // Something answers on the port: make sure it is our server.
        match server.try_command(&["PING"]).await {
            Ok(reply) if reply.starts_with("+PONG") => {}
            Ok(reply) => return failed(&mut server, format!("unexpected reply {reply:?}")),
            Err(e) => return failed(&mut server, format!("PING failed: {e}")),
        }
        if !matches!(server.child.try_wait(), Ok(None)) {
            return failed(&mut server, "redis-server exited: port taken by another?".to_owned());
        }
        Ok(Some(server))
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends one command in RESP and returns the raw reply.
    pub async fn command(&self, args: &[&str]) -> String {
        self.try_command(args).await.expect("a redis command")
    }

    /// Sends one command (binary-safe arguments) and returns the raw reply.
    pub async fn try_command(&self, args: &[&str]) -> std::io::Result<String> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.exchange(&args).await
    }

    /// `PUBLISH channel payload` with a binary payload, as a crashed
    /// instance's last words.
    pub async fn publish(&self, channel: &str, payload: &[u8]) -> String {
        self.exchange(&[b"PUBLISH", channel.as_bytes(), payload]).await.expect("PUBLISH")
    }

    async fn exchange(&self, args: &[&[u8]]) -> std::io::Result<String> {
        let exchange = async {
            let mut tcp = TcpStream::connect(("127.0.0.1", self.port)).await?;
            let mut cmd = format!("*{}\r\n", args.len()).into_bytes();
            for a in args {
                cmd.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                cmd.extend_from_slice(a);
                cmd.extend_from_slice(b"\r\n");
            }
            tcp.write_all(&cmd).await?;
            let mut buf = vec![0u8; 4096];
            let n = tcp.read(&mut buf).await?;
            Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
        };
        within(exchange).await
    }

    /// Waits until `channel` has `n` subscribers (subscriptions are made in
    /// the background after a room gets its first local member).
    pub async fn await_subscribers(&self, channel: &str, n: usize) {
        within(async {
            loop {
                let reply = self.command(&["PUBSUB", "NUMSUB", channel]).await;
                let count = reply.lines().find_map(|l| l.strip_prefix(':')).and_then(|n| n.parse::<usize>().ok());
                if count == Some(n) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

static PREFIXES: AtomicUsize = AtomicUsize::new(0);

/// A key prefix of its own per test, so tests sharing one server never cross.
pub fn prefix() -> String {
    format!("t{}-{}", std::process::id(), PREFIXES.fetch_add(1, Ordering::Relaxed))
}
