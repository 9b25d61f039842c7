//! Room chat: `cargo run --example chat`, then open http://127.0.0.1:8000/
//! in two browser tabs. `HOST` and `PORT` override the address.
//!
//! With `WIREHUB_REDIS_URL=redis://127.0.0.1:6379` (or `--redis URL`), rooms
//! span every instance on that Redis: run two instances on two ports and
//! chat across them.
//!
//! Each text a member sends reaches every member of its room as
//! `{"type":"message","room":..,"from":..,"text":..}`; a new member first
//! gets `{"type":"welcome","id":..}` (its own id), and members see
//! `{"type":"join"|"leave","room":..,"id":..,"members":N}` notices, where N
//! counts the room's members on every instance.

use serde_json::{json, Value};
use wirehub::prelude::*;

/// Relays a member's text to its room (the `broadcast` room, sender included).
#[ws_route("/chat/{room}", broadcast = "chat:{room}", on_open = joined, on_close = left, app_ping = "ping")]
async fn chat(conn: Conn, text: String) -> Option<Json<Value>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    Some(Json(json!({"type": "message", "room": conn.param("room"), "from": conn.id(), "text": text})))
}

async fn joined(conn: Conn) {
    let _ = conn.send(Json(json!({"type": "welcome", "id": conn.id()}))).await;
    notice(&conn, "join").await;
}

async fn left(conn: Conn, reason: CloseReason) {
    println!("connection {} left {:?}: {reason}", conn.id(), conn.param("room"));
    notice(&conn, "leave").await;
}

async fn notice(conn: &Conn, kind: &str) {
    let Some(room) = conn.room() else { return };
    // Every instance's members (with Redis; this instance's without). Our
    // own presence update may still be on its way to Redis: count the
    // others, plus this member if it is joining.
    let others = conn.hub().presence_all(room).await.iter().filter(|m| m.id != conn.id()).count();
    let members = others + usize::from(kind == "join");
    let notice = json!({"type": kind, "room": conn.param("room"), "id": conn.id(), "members": members});
    conn.hub().broadcast(room, Json(notice));
}

#[tokio::main]
async fn main() -> wirehub::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "8000".into());
    println!("chat on http://{host}:{port}/ (WebSocket: ws://{host}:{port}/chat/{{room}})");
    let mut app = wirehub::App::new();
    let flag = std::env::args().skip_while(|a| a != "--redis").nth(1);
    let redis = flag.map(wirehub::backplane::Redis::connect).or_else(wirehub::backplane::Redis::from_env);
    if let Some(redis) = redis {
        println!("rooms shared through Redis");
        app = app.backplane(redis);
    }
    app.bind(format!("{host}:{port}"))
        .page("/", "text/html; charset=utf-8", include_str!("chat.html"))
        .get("/stats", |hub| format!("{} connections, {} rooms\n", hub.connections(), hub.rooms()))
        .serve()
        .await
}
