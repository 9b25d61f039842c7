//! Heartbeats: `cargo run --example heartbeat` serves `/ws/heartbeat` on
//! 127.0.0.1:8000 (`HOST` and `PORT` override). The server pings every 2 s; a peer
//! silent for 5 s (2 s + 3 s) is dropped. Browsers, which cannot send
//! protocol pings, send the text `ping` and get `{"type":"pong"}`. Every
//! close reason is logged.

use serde_json::{json, Value};
use wirehub::prelude::*;

/// Answers each text with the connection's last measured round-trip time.
#[ws_route("/ws/heartbeat", heartbeat = "2s", heartbeat_timeout = "3s", app_ping = "ping", on_close = closed)]
async fn heartbeat(conn: Conn, text: String) -> Json<Value> {
    let rtt_ms = conn.rtt().map(|d| d.as_secs_f64() * 1000.0);
    Json(json!({"type": "response", "content": text, "rtt_ms": rtt_ms}))
}

async fn closed(conn: Conn, reason: CloseReason) {
    println!("connection {} from {} closed: {reason}", conn.id(), conn.peer_addr());
}

#[tokio::main]
async fn main() -> wirehub::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "8000".into());
    println!("heartbeat demo on ws://{host}:{port}/ws/heartbeat");
    wirehub::App::new().bind(format!("{host}:{port}")).serve().await
}
