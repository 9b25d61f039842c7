//! Target of the reliability tests (`tests/soak.rs`, `tests/shutdown_load.rs`):
//! `cargo run --example soak_server` serves on 127.0.0.1:8000 (env `HOST`, `PORT`
//! override) until SIGTERM or Ctrl-C, then shuts down gracefully (Close
//! 1001 to everyone after what is queued for them) within `DRAIN_TIMEOUT_MS`
//! (default 10000) and exits with status 0.
//!
//! - `/soak/{room}`: joins room `soak:{room}`; aggressive liveness settings
//!   (ping every 200 ms, a peer silent for 600 ms is dropped, a write blocked
//!   for 500 ms drops the peer, queue of 64, a full queue closes with 1013).
//!   Text and binary messages are relayed to the room.
//! - `/calm/{room}`: joins room `calm:{room}`, default heartbeat (30 s),
//!   queue of 64; for graceful-shutdown tests with thousands of clients.
//! - `/soak-ctl`: the test's publisher. Text commands, each answered with
//!   `ok <n>` where `n` is how many queue slots the messages took:
//!   - `text <prefix> <rooms> <count> <tag>`: `count` rounds; round `j` sends
//!     the text `<tag>:<j>` to each room `<prefix>:0` .. `<prefix>:<rooms-1>`;
//!   - `bin <room> <bytes>`: one binary message of `bytes` zero bytes (at most
//!     1 MiB, shared: no copy per member) to `room`.
//! - `/stats`: `connections <n> rooms <m>` from the hub; `/metrics`, `/healthz`.

use std::time::Duration;

use wirehub::prelude::*;

/// The payload of `bin` commands: zero bytes in static memory, so a
/// broadcast allocates nothing per message or per member.
static ZEROS: [u8; 1 << 20] = [0; 1 << 20];

/// A room member with aggressive liveness settings; relays data to the room.
#[ws_route(
    "/soak/{room}",
    broadcast = "soak:{room}",
    heartbeat = "200ms",
    heartbeat_timeout = "400ms",
    write_timeout = "500ms",
    close_timeout = "1s",
    queue = 64,
    on_full = "close"
)]
async fn soak(msg: Message) -> Option<Message> {
    match msg {
        Message::Text(_) | Message::Binary(_) => Some(msg),
        _ => None,
    }
}

/// A room member with the default heartbeat; relays data to the room.
#[ws_route("/calm/{room}", broadcast = "calm:{room}", queue = 64)]
async fn calm(msg: Message) -> Option<Message> {
    match msg {
        Message::Text(_) | Message::Binary(_) => Some(msg),
        _ => None,
    }
}

/// The publisher's control connection (see the module docs).
#[ws_route("/soak-ctl", max_message = "4KiB")]
async fn ctl(conn: Conn, command: String) -> String {
    let hub = conn.hub();
    let words: Vec<&str> = command.split(' ').collect();
    match words.as_slice() {
        ["text", prefix, rooms, count, tag] => {
            let (Ok(rooms), Ok(count)) = (rooms.parse::<usize>(), count.parse::<usize>()) else {
                return format!("error: bad numbers in {command:?}");
            };
            let mut queued = 0;
            for round in 0..count {
                let text = format!("{tag}:{round}");
                for room in 0..rooms {
                    queued += hub.broadcast(&format!("{prefix}:{room}"), text.as_str());
                }
            }
            format!("ok {queued}")
        }
        ["bin", room, bytes] => match bytes.parse::<usize>() {
            Ok(n) if n <= ZEROS.len() => {
                let payload = Bytes::from_static(&ZEROS[..n]);
                format!("ok {}", hub.broadcast(room, Message::Binary(payload)))
            }
            _ => format!("error: bad size in {command:?}"),
        },
        _ => format!("error: unknown command {command:?}"),
    }
}

#[tokio::main]
async fn main() -> wirehub::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    // `RUST_LOG=wirehub=debug` shows every close reason.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "8000".into());
    let drain_ms: u64 = std::env::var("DRAIN_TIMEOUT_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    // Installed before the port answers, so a signal sent once it does is caught.
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => eprintln!("soak_server: SIGTERM, draining"),
            _ = int.recv() => eprintln!("soak_server: SIGINT, draining"),
        }
    };
    if std::env::var("SOAK_LAG").is_ok() {
        tokio::spawn(async {
            let mut worst = Duration::ZERO;
            let mut last_print = std::time::Instant::now();
            loop {
                let t = std::time::Instant::now();
                tokio::time::sleep(Duration::from_millis(10)).await;
                worst = worst.max(t.elapsed());
                if last_print.elapsed() > Duration::from_secs(1) {
                    eprintln!("LAG server worst {worst:?}");
                    worst = Duration::ZERO;
                    last_print = std::time::Instant::now();
                }
            }
        });
    }
    println!("soak server on {host}:{port} (drain timeout {drain_ms} ms)");
    wirehub::App::new()
        .routes(|p| p.starts_with("/soak") || p.starts_with("/calm"))
        .config(|c| {
            c.drain_timeout = Duration::from_millis(drain_ms);
            // Every client of the soak tests comes from 127.0.0.1, thousands a second.
            c.handshake_rate_per_ip = None;
        })
        .get("/stats", |hub| format!("connections {} rooms {}\n", hub.connections(), hub.rooms()))
        .bind(format!("{host}:{port}"))
        .serve_with_shutdown(shutdown)
        .await?;
    eprintln!("soak_server: drained, exiting");
    Ok(())
}
