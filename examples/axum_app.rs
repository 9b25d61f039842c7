//! wirehub inside an axum app: `cargo run --example axum_app` serves one
//! router on one port, 127.0.0.1:8000 (`HOST` and `PORT` override):
//!
//! - `GET /api/health` (axum): 200 `{"status":"ok"}`;
//! - `/ws/chat/{room}` (a `#[ws_route]` broadcast room): each text a member
//!   sends reaches every member of the room as
//!   `{"type":"message","room":..,"from":"<connection id>","text":..}`;
//! - `POST /api/rooms/{room}/messages` (axum) with `{"text":"..."}`: 202, and
//!   `{"type":"message","room":..,"from":"api","text":..}` to every WebSocket
//!   member of that room and nobody else;
//! - `GET /api/rooms/{room}/members` (axum): a JSON array, one
//!   `{"id":"<connection id>"}` per member connection.
//!
//! The REST handlers reach the WebSocket side through the hub, axum state.
//! Ctrl-C or SIGTERM: axum stops accepting, every WebSocket gets 1001, and
//! the process exits once they closed (at most `drain_timeout`).
//!
//! ```sh
//! curl -s localhost:8000/api/health
//! websocat ws://127.0.0.1:8000/ws/chat/lobby        # in another terminal
//! curl -s -XPOST localhost:8000/api/rooms/lobby/messages -H 'content-type: application/json' -d '{"text":"hi"}'
//! curl -s localhost:8000/api/rooms/lobby/members
//! ```

use std::net::SocketAddr;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use wirehub::{ws_route, Conn, Hub};

/// Relays a member's text to every member of its room, itself included.
#[ws_route("/ws/chat/{room}", broadcast = "{room}")]
async fn chat(conn: Conn, text: String) -> Option<wirehub::Json<Value>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let from = conn.id().to_string();
    Some(wirehub::Json(json!({"type": "message", "room": conn.param("room"), "from": from, "text": text})))
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

#[derive(Deserialize)]
struct NewMessage {
    text: String,
}

/// Delivers a message from the API to the room's WebSocket members.
async fn post_message(State(hub): State<Hub>, Path(room): Path<String>, Json(message): Json<NewMessage>) -> StatusCode {
    hub.broadcast(&room, wirehub::Json(json!({"type": "message", "room": room, "from": "api", "text": message.text})));
    StatusCode::ACCEPTED
}

/// One entry per member connection of the room.
async fn members(State(hub): State<Hub>, Path(room): Path<String>) -> Json<Vec<Value>> {
    Json(hub.presence(&room).into_iter().map(|m| json!({"id": m.id.to_string()})).collect())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter(env("RUST_LOG", "info")).init();
    let ws = wirehub::App::empty().route("/ws/chat/{room}").build().await?;
    let app = Router::new()
        .route("/api/health", get(health))
        .route("/api/rooms/{room}/messages", post(post_message))
        .route("/api/rooms/{room}/members", get(members))
        .merge(ws.router())
        .with_state(ws.hub().clone());

    let addr = format!("{}:{}", env("HOST", "127.0.0.1"), env("PORT", "8000"));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("axum + wirehub on http://{0}/api/health and ws://{0}/ws/chat/{{room}}", listener.local_addr()?);
    // Small WebSocket frames go out at once (axum leaves Nagle on).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    // Connect info: the client addresses per-IP caps and logs use.
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(wirehub::shutdown_signal())
        .await?;
    ws.shutdown().await;
    Ok(())
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}
