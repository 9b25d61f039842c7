//! The servers under test: how to build, start, probe and stop each one as a
//! child process, and how to read its resident memory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{fail, Res};

/// A server implementation under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Peer {
    /// wirehub's `bench_server` example.
    Wirehub,
    /// The same with metrics off (`WIREHUB_METRICS=off`), for the metrics overhead.
    WirehubNoMetrics,
    /// The same app mounted in an axum router on axum's listener
    /// (`WIREHUB_MOUNT=axum`): what embedding costs.
    WirehubAxum,
    /// Metrics on without the handler duration histogram
    /// (`WIREHUB_HANDLER_TIMING=off`): what the histogram costs.
    WirehubNoTiming,
    /// The naive plain tokio-tungstenite server (`serve-baseline`), default config.
    Baseline,
    /// The same with a 2 KiB read buffer, like wirehub's (`serve-baseline --read-buffer 2048`).
    BaselineTuned,
    /// axum's WebSocket echo (`serve-axum`).
    Axum,
    /// Node.js with the `ws` package (`bench/node/server.js`).
    Node,
    /// wirehub's `bench_server` with room history on: the broadcast
    /// scenarios use its `/hroom` (`history = 100`) instead of `/room`.
    WirehubHistory,
}

impl Peer {
    /// Every server, in report order.
    pub(crate) const ALL: [Peer; 9] = [
        Peer::Wirehub,
        Peer::WirehubHistory,
        Peer::WirehubAxum,
        Peer::WirehubNoMetrics,
        Peer::WirehubNoTiming,
        Peer::Baseline,
        Peer::BaselineTuned,
        Peer::Axum,
        Peer::Node,
    ];

    /// The server's name in reports and on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Peer::Wirehub => "wirehub",
            Peer::WirehubAxum => "wirehub-axum",
            Peer::WirehubNoMetrics => "wirehub-nometrics",
            Peer::WirehubNoTiming => "wirehub-notiming",
            Peer::Baseline => "tokio-tungstenite",
            Peer::BaselineTuned => "tokio-tungstenite-2k",
            Peer::Axum => "axum",
            Peer::Node => "node-ws",
            Peer::WirehubHistory => "wirehub-history",
        }
    }

    /// The path of the room the broadcast scenarios use on it.
    pub(crate) fn room_path(self) -> &'static str {
        match self {
            Peer::WirehubHistory => "/hroom",
            _ => "/room",
        }
    }

    /// Parses a server name (as printed by [`Peer::name`]).
    pub(crate) fn parse(name: &str) -> Res<Peer> {
        match Peer::ALL.into_iter().find(|p| p.name() == name || (name == "baseline" && *p == Peer::Baseline)) {
            Some(peer) => Ok(peer),
            None => fail(format!(
                "unknown server {name:?} (wirehub, wirehub-history, wirehub-axum, wirehub-nometrics, wirehub-notiming, tokio-tungstenite, \
                 tokio-tungstenite-2k, axum, node-ws)"
            )),
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
}

impl Launcher {
    /// Builds wirehub's `bench_server` example (release) and locates the Node
    /// peer. `node` is `None` when Node or its `node_modules` is unavailable
    /// (`install_node`: try `npm ci` first).
    pub(crate) fn prepare(install_node: bool) -> Res<(Launcher, Option<String>)> {
        let wirehub = build_wirehub()?;
        let this = std::env::current_exe()?;
        let (node, why_not) = match locate_node(install_node) {
            Ok(script) => (Some(script), None),
            Err(e) => (None, Some(e.to_string())),
        };
        Ok((Launcher { wirehub, this, node }, why_not))
    }

    /// Whether `peer` can be started here.
    pub(crate) fn available(&self, peer: Peer) -> bool {
        peer != Peer::Node || self.node.is_some()
    }

    /// Starts `peer` on a free port and waits until it accepts connections.
    pub(crate) async fn start(&self, peer: Peer) -> Res<ServerProc> {
        let port = free_port()?;
        let mut command = match peer {
            Peer::Wirehub
            | Peer::WirehubHistory
            | Peer::WirehubAxum
            | Peer::WirehubNoMetrics
            | Peer::WirehubNoTiming => {
                let mut c = Command::new(&self.wirehub);
                c.env("PORT", port.to_string()).env_remove("HOST");
                c.env_remove("WIREHUB_METRICS").env_remove("WIREHUB_HANDLER_TIMING").env_remove("WIREHUB_MOUNT");
                if peer == Peer::WirehubAxum {
                    c.env("WIREHUB_MOUNT", "axum");
                }
                if peer == Peer::WirehubNoMetrics {
                    c.env("WIREHUB_METRICS", "off");
                }
                if peer == Peer::WirehubNoTiming {
                    c.env("WIREHUB_HANDLER_TIMING", "off");
                }
                c
            }
            Peer::Baseline | Peer::BaselineTuned | Peer::Axum => {
                let sub = if peer == Peer::Axum { "serve-axum" } else { "serve-baseline" };
                let mut c = Command::new(&self.this);
                c.args([sub, "--port", &port.to_string()]);
                if peer == Peer::BaselineTuned {
                    c.args(["--read-buffer", "2048"]);
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
        let child = command.spawn().map_err(|e| format!("cannot start {}: {e}", peer.name()))?;
        let mut server = ServerProc { peer, child, port };
        server.wait_ready().await?;
        Ok(server)
    }
}

/// A running server process, killed when dropped.
#[derive(Debug)]
pub(crate) struct ServerProc {
    peer: Peer,
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub(crate) port: u16,
}

impl ServerProc {
    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn wait_ready(&mut self) -> Res<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait()? {
                return fail(format!("{} exited at startup: {status}", self.peer.name()));
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return fail(format!("{} did not listen on port {} within 30 s", self.peer.name(), self.port));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Checks the server is still running (it did not crash under load).
    pub(crate) fn check_alive(&mut self) -> Res<()> {
        match self.child.try_wait()? {
            Some(status) => fail(format!("{} died during the run: {status}", self.peer.name())),
            None => Ok(()),
        }
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident set size of process `pid`, in KiB (`VmRSS` of `/proc/<pid>/status`).
pub(crate) fn rss_kib(pid: u32) -> Res<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).ok_or("no VmRSS line")?;
    let kib = line.trim_start_matches("VmRSS:").trim().trim_end_matches("kB").trim();
    Ok(kib.parse()?)
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
    let output = Command::new(cargo)
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
