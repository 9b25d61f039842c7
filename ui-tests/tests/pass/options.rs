//! Every option, one at a time and all together.

use wirehub::prelude::*;

#[ws_route("/o/max-message", max_message = "1MiB")]
async fn max_message(text: String) -> String {
    text
}

#[ws_route("/o/sizes-b", max_message = "512B")]
async fn size_b(text: String) -> String {
    text
}

#[ws_route("/o/sizes-kib", max_message = "64KiB")]
async fn size_kib(text: String) -> String {
    text
}

#[ws_route("/o/sizes-gib", max_message = "2GiB")]
async fn size_gib(text: String) -> String {
    text
}

#[ws_route("/o/sizes-kb", max_message = "10KB")]
async fn size_kb(text: String) -> String {
    text
}

#[ws_route("/o/sizes-mb", max_message = "1MB")]
async fn size_mb(text: String) -> String {
    text
}

#[ws_route("/o/idle", idle_timeout = "60s")]
async fn idle(text: String) -> String {
    text
}

#[ws_route("/o/heartbeat", heartbeat = "30s", heartbeat_timeout = "10s")]
async fn heartbeat(text: String) -> String {
    text
}

#[ws_route("/o/durations", idle_timeout = "1h", heartbeat = "5m", write_timeout = "250ms", close_timeout = "3s")]
async fn durations(text: String) -> String {
    text
}

#[ws_route("/o/app-ping", app_ping = "ping")]
async fn app_ping(text: String) -> String {
    text
}

#[ws_route("/o/app-ping-pong", app_ping = "ping", app_pong = "{\"type\":\"pong\"}")]
async fn app_ping_pong(text: String) -> String {
    text
}

#[ws_route("/o/app-pong-first", app_pong = r#"{"type":"pong"}"#, app_ping = r#"{"type":"ping"}"#)]
async fn app_pong_first(text: String) -> String {
    text
}

#[ws_route("/o/lobby", broadcast = "lobby")]
async fn lobby(text: String) -> String {
    text
}

#[ws_route("/o/chat/{room}", broadcast = "chat:{room}")]
async fn chat(text: String) -> String {
    text
}

#[ws_route("/o/game/{game}/{team}", broadcast = "{game}:{team}:all")]
async fn game(text: String) -> String {
    text
}

#[ws_route("/o/exclude/{room}", broadcast = "{room}", exclude_sender = true)]
async fn exclude(text: String) -> String {
    text
}

#[ws_route("/o/exclude-false", exclude_sender = false, broadcast = "x")]
async fn exclude_false(text: String) -> String {
    text
}

#[ws_route("/o/queue", queue = 16)]
async fn queue(text: String) -> String {
    text
}

#[ws_route("/o/queue-underscore", queue = 1_024)]
async fn queue_underscore(text: String) -> String {
    text
}

#[ws_route("/o/on-full-drop", on_full = "drop")]
async fn on_full_drop(text: String) -> String {
    text
}

#[ws_route("/o/on-full-close", on_full = "close", queue = 1)]
async fn on_full_close(text: String) -> String {
    text
}

#[rustfmt::skip]
#[ws_route("/o/trailing-comma", heartbeat = "30s",)]
async fn trailing_comma(text: String) -> String {
    text
}

#[ws_route("/")]
async fn root(text: String) -> String {
    text
}

#[ws_route(
    "/o/everything/{room}",
    max_message = "1MiB",
    idle_timeout = "200ms",
    heartbeat = "50ms",
    heartbeat_timeout = "50ms",
    write_timeout = "100ms",
    close_timeout = "100ms",
    app_ping = "ping",
    app_pong = "{\"type\":\"pong\"}",
    broadcast = "chat:{room}",
    exclude_sender = true,
    queue = 16,
    on_full = "drop",
    on_open = opened,
    on_close = closed,
    crate = ::wirehub,
)]
async fn everything(conn: Conn, msg: Message) -> Option<Message> {
    let _ = conn.id();
    Some(msg)
}

#[ws_route(
    "/o/any-order/{room}",
    crate = ::wirehub,
    on_close = closed,
    on_full = "close",
    queue = 8,
    exclude_sender = true,
    broadcast = "{room}",
    app_pong = "pong",
    app_ping = "ping",
    close_timeout = "1s",
    write_timeout = "1s",
    heartbeat_timeout = "1s",
    heartbeat = "1s",
    idle_timeout = "1m",
    max_message = "64KiB",
    on_open = opened
)]
async fn any_order(text: String) -> String {
    text
}

async fn opened(conn: Conn) {
    let _ = conn.id();
}

async fn closed(conn: Conn, reason: CloseReason) {
    let _ = (conn.id(), reason);
}

fn main() {}

#[ws_route("/o/off", heartbeat = "off", idle_timeout = "off")]
async fn liveness_off(text: String) -> String {
    text
}

#[ws_route("/o/idle-pings", idle_timeout = "5m", idle_counts_pings = true)]
async fn idle_pings(text: String) -> String {
    text
}
