//! The servers under test: how to build, start, probe and stop each one as a
//! child process, and how to read its resident memory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::procfs::Watch;
use crate::{fail, Res};

/// A server implementation under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Peer {
    /// wirehub's `bench_server` example.
    Wirehub,
    /// wirehub's `bench_server` with room history on: the broadcast
    /// scenarios use its `/hroom` (`history = 100`) instead of `/room`.
    WirehubHistory,
    /// Two `bench_server` instances sharing `/room` through a
    /// `redis-server` the bench starts: subscribers on one, the publisher
    /// on the other (`broadcast-redis`).
    WirehubRedis,
    /// The same app mounted in an axum router on axum's listener
    /// (`WIREHUB_MOUNT=axum`): what embedding costs.
    WirehubAxum,
    /// The same with metrics off (`WIREHUB_METRICS=off`), for the metrics overhead.
    WirehubNoMetrics,
    /// Metrics on without the handler duration histogram
    /// (`WIREHUB_HANDLER_TIMING=off`): what the histogram costs.
    WirehubNoTiming,
    /// The naive plain tokio-tungstenite server (`serve-baseline`), default config.
    Baseline,
    /// The same with a 4 KiB read buffer (`serve-baseline --read-buffer 4096`):
    /// issue 19's "tuned" tokio-tungstenite.
    Baseline4k,
    /// The same with a 2 KiB read buffer (`serve-baseline --read-buffer 2048`).
    Baseline2k,
    /// fastwebsockets on hyper 1's upgrade (`serve-fastws`).
    Fastws,
    /// axum's WebSocket echo (`serve-axum`).
    Axum,
    /// Node.js with the `ws` package (`bench/node/server.js`).
    Node,
}

/// The "tuned" tokio-tungstenite of issue 19, the peer most targets name.
pub(crate) const TUNED: Peer = Peer::Baseline4k;

impl Peer {
    /// Every server, in report order.
    pub(crate) const ALL: [Peer; 12] = [
        Peer::Wirehub,
        Peer::WirehubHistory,
        Peer::WirehubRedis,
        Peer::WirehubAxum,
        Peer::WirehubNoMetrics,
        Peer::WirehubNoTiming,
        Peer::Fastws,
        Peer::Baseline4k,
        Peer::Baseline2k,
        Peer::Baseline,
        Peer::Axum,
        Peer::Node,
    ];

    /// The server's name in reports and on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Peer::Wirehub => "wirehub",
            Peer::WirehubHistory => "wirehub-history",
            Peer::WirehubRedis => "wirehub-redis",
            Peer::WirehubAxum => "wirehub-axum",
            Peer::WirehubNoMetrics => "wirehub-nometrics",
            Peer::WirehubNoTiming => "wirehub-notiming",
            Peer::Baseline => "tokio-tungstenite",
            Peer::Baseline4k => "tokio-tungstenite-4k",
            Peer::Baseline2k => "tokio-tungstenite-2k",
            Peer::Fastws => "fastwebsockets",
            Peer::Axum => "axum",
            Peer::Node => "node-ws",
        }
    }

    /// Every server's name, comma-separated (usage and error messages).
    pub(crate) fn names() -> String {
        Peer::ALL.map(Peer::name).join(", ")
    }

    /// The path of the room the broadcast scenarios use on it.
    pub(crate) fn room_path(self) -> &'static str {
        match self {
            Peer::WirehubHistory => "/hroom",
            _ => "/room",
        }
    }

    /// The read buffer `serve-baseline` is started with, for its variants.
    fn read_buffer(self) -> Option<&'static str> {
        match self {
            Peer::Baseline4k => Some("4096"),
            Peer::Baseline2k => Some("2048"),
            _ => None,
        }
    }

    /// Parses a server name (as printed by [`Peer::name`]).
    pub(crate) fn parse(name: &str) -> Res<Peer> {
        match Peer::ALL.into_iter().find(|p| p.name() == name || (name == "baseline" && *p == Peer::Baseline)) {
            Some(peer) => Ok(peer),
            None => fail(format!("unknown server {name:?} ({})", Peer::names())),
        }
    }
}

/// The workspace root (the parent of this crate's directory).
pub(crate) fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Knows how to start each server.
#[derive(Debug)]
pub(crate) struct Launcher {
    wirehub: PathBuf,
    this: PathBuf,
    node: Option<PathBuf>,
    redis: bool,
}

impl Launcher {
    /// Builds wirehub's `bench_server` example (release) and locates the Node
    /// peer and `redis-server`. `node` is `None` when Node or its
    /// `node_modules` is unavailable (`install_node`: try `npm ci` first).
    pub(crate) fn prepare(install_node: bool) -> Res<(Launcher, Option<String>)> {
        let wirehub = build_wirehub()?;
        let this = std::env::current_exe()?;
        let (node, why_not) = match locate_node(install_node) {
            Ok(script) => (Some(script), None),
            Err(e) => (None, Some(e.to_string())),
        };
        Ok((Launcher { wirehub, this, node, redis: crate::redis::installed() }, why_not))
    }

    /// Whether `peer` can be started here.
    pub(crate) fn available(&self, peer: Peer) -> bool {
        match peer {
            Peer::Node => self.node.is_some(),
            Peer::WirehubRedis => self.redis,
            _ => true,
        }
    }

    /// Starts `peer` on a free port and waits until it accepts connections.
    pub(crate) async fn start(&self, peer: Peer) -> Res<ServerProc> {
        if peer == Peer::WirehubRedis {
            return self.start_redis_pair().await;
        }
        let port = free_port()?;
        let child = self.spawn(peer, port, None)?;
        let mut server = ServerProc { peer, child, port, publish_port: port, publisher: None, redis: None };
        wait_listening(&mut server.child, peer, port).await?;
        Ok(server)
    }

    /// `redis-server`, then two `bench_server` instances on it: the
    /// publisher's (A) and the subscribers' (B).
    async fn start_redis_pair(&self) -> Res<ServerProc> {
        let peer = Peer::WirehubRedis;
        let redis = crate::redis::RedisProc::start(free_port()?).await?;
        let url = redis.url();
        let (port_a, port_b) = (free_port()?, free_port()?);
        let mut a = self.spawn(peer, port_a, Some(&url))?;
        let started = wait_listening(&mut a, peer, port_a).await;
        let b = match started {
            Ok(()) => self.spawn(peer, port_b, Some(&url)),
            Err(e) => Err(e),
        };
        let b = match b {
            Ok(b) => b,
            Err(e) => {
                let _ = a.kill();
                let _ = a.wait();
                return Err(e);
            }
        };
        let mut server =
            ServerProc { peer, child: b, port: port_b, publish_port: port_a, publisher: Some(a), redis: Some(redis) };
        wait_listening(&mut server.child, peer, port_b).await?;
        Ok(server)
    }

    /// Spawns `peer`'s process on `port` (`redis`: the backplane's URL).
    fn spawn(&self, peer: Peer, port: u16, redis: Option<&str>) -> Res<Child> {
        let mut command = match peer {
            Peer::Wirehub
            | Peer::WirehubHistory
            | Peer::WirehubRedis
            | Peer::WirehubAxum
            | Peer::WirehubNoMetrics
            | Peer::WirehubNoTiming => {
                let mut c = Command::new(&self.wirehub);
                c.env("PORT", port.to_string()).env_remove("HOST");
                c.env_remove("WIREHUB_METRICS").env_remove("WIREHUB_HANDLER_TIMING").env_remove("WIREHUB_MOUNT");
                c.env_remove("WIREHUB_REDIS_URL").env_remove("WIREHUB_REDIS_PREFIX");
                if let Some(url) = redis {
                    c.env("WIREHUB_REDIS_URL", url);
                }
                match peer {
                    Peer::WirehubAxum => c.env("WIREHUB_MOUNT", "axum"),
                    Peer::WirehubNoMetrics => c.env("WIREHUB_METRICS", "off"),
                    Peer::WirehubNoTiming => c.env("WIREHUB_HANDLER_TIMING", "off"),
                    _ => &mut c,
                };
                c
            }
            Peer::Baseline | Peer::Baseline4k | Peer::Baseline2k | Peer::Fastws | Peer::Axum => {
                let sub = match peer {
                    Peer::Axum => "serve-axum",
                    Peer::Fastws => "serve-fastws",
                    _ => "serve-baseline",
                };
                let mut c = Command::new(&self.this);
                c.args([sub, "--port", &port.to_string()]);
                if let Some(bytes) = peer.read_buffer() {
                    c.args(["--read-buffer", bytes]);
                }
                c
            }
            Peer::Node => {
                let Some(script) = &self.node else { return fail("the Node peer is not available") };
                let mut c = Command::new("node");
                c.arg(script).env("PORT", port.to_string());
                c
            }
        };
        // RUST_LOG unset: the servers log nothing per connection.
        command.env_remove("RUST_LOG").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::inherit());
        Ok(command.spawn().map_err(|e| format!("cannot start {}: {e}", peer.name()))?)
    }
}

/// Waits until `child` (serving `peer`) accepts connections on `port`.
async fn wait_listening(child: &mut Child, peer: Peer, port: u16) -> Res<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait()? {
            return fail(format!("{} exited at startup: {status}", peer.name()));
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return fail(format!("{} did not listen on port {port} within 30 s", peer.name()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A running server (one process, or for `wirehub-redis` two instances and
/// their `redis-server`), killed when dropped.
#[derive(Debug)]
pub(crate) struct ServerProc {
    peer: Peer,
    child: Child,
    /// The port the load connects to (127.0.0.1).
    pub(crate) port: u16,
    /// The port the broadcast publisher connects to: `port`, or the other
    /// instance sharing the room through Redis.
    pub(crate) publish_port: u16,
    publisher: Option<Child>,
    redis: Option<crate::redis::RedisProc>,
}

impl ServerProc {
    /// The process id of the server the load lands on.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The processes to read: CPU time of every server process (not
    /// `redis-server`), memory of the one the load lands on.
    pub(crate) fn watch(&self) -> Watch {
        let mut cpu = vec![self.child.id()];
        cpu.extend(self.publisher.as_ref().map(Child::id));
        Watch { cpu, rss: Some(self.child.id()) }
    }

    /// Checks the server is still running (it did not crash under load).
    pub(crate) fn check_alive(&mut self) -> Res<()> {
        for child in std::iter::once(&mut self.child).chain(self.publisher.as_mut()) {
            if let Some(status) = child.try_wait()? {
                return fail(format!("{} died during the run: {status}", self.peer.name()));
            }
        }
        match &mut self.redis {
            Some(redis) => redis.check_alive(),
            None => Ok(()),
        }
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        // The instances first, then the redis-server they use (its own Drop).
        for child in std::iter::once(&mut self.child).chain(self.publisher.as_mut()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> Res<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// `cargo build --release --example bench_server`, returning the executable
/// (`WIREHUB_BENCH_SERVER` names a prebuilt one instead).
fn build_wirehub() -> Res<PathBuf> {
    if let Ok(path) = std::env::var("WIREHUB_BENCH_SERVER") {
        return Ok(path.into());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("building wirehub's bench_server example (release)...");
    let mut command = Command::new(cargo);
    // Under `cargo run` this process has the variables cargo sets for a
    // crate (`CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR`, ...). Build scripts
    // that watch them (ring's does) would see them change between a run
    // from cargo and one from a shell, and rebuild every time.
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let set_for_a_crate = key.starts_with("CARGO_PKG_")
            || ["CARGO_MANIFEST_DIR", "CARGO_MANIFEST_PATH", "CARGO_MANIFEST_LINKS", "CARGO_CRATE_NAME"].contains(&key)
            || ["CARGO_BIN_NAME", "CARGO_PRIMARY_PACKAGE", "OUT_DIR"].contains(&key);
        if set_for_a_crate {
            command.env_remove(key);
        }
    }
    let output = command
        .current_dir(workspace_root())
        .args(["build", "--release", "--example", "bench_server", "--message-format=json-render-diagnostics"])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        return fail("cargo build --release --example bench_server failed");
    }
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if message["reason"] == "compiler-artifact" && message["target"]["name"] == "bench_server" {
            if let Some(exe) = message["executable"].as_str() {
                return Ok(exe.into());
            }
        }
    }
    fail("cargo did not report the bench_server executable")
}

/// `bench/node/server.js` when `node` runs and `ws` is installed.
fn locate_node(install: bool) -> Res<PathBuf> {
    let dir = workspace_root().join("bench/node");
    let version = Command::new("node").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    if !matches!(version, Ok(s) if s.success()) {
        return fail("node is not installed");
    }
    if !dir.join("node_modules/ws").is_dir() {
        if !install {
            return fail("bench/node/node_modules is missing (run `npm ci` in bench/node)");
        }
        eprintln!("installing the Node peer's dependencies (npm ci in bench/node)...");
        let status = Command::new("npm")
            .current_dir(&dir)
            .args(["ci", "--no-audit", "--no-fund"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status();
        if !matches!(status, Ok(s) if s.success()) || !dir.join("node_modules/ws").is_dir() {
            return fail("npm ci in bench/node failed");
        }
    }
    Ok(dir.join("server.js"))
}
