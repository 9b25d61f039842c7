//! Every gap of the GoFr WebSocket analysis, closed in one server:
//! `cargo run --example gaps_demo`, then open http://127.0.0.1:8000/
//! (`HOST` and `PORT` override the address).
//!
//! | endpoint | gap it closes |
//! |---|---|
//! | `/ws/basic` | text echo with an RFC 3339 timestamp; idle and write timeouts |
//! | `/ws/chat/{room}` | broadcasting: every text reaches every member of the room |
//! | `/ws/binary` | binary messages up to 16 MiB echoed byte-exact; text closes with 1003 |
//! | `/ws/heartbeat` | protocol pings every 2 s, dead peers dropped after 5 s, `ping` → `{"type":"pong"}`, `rtt` → measured round trip |
//! | `/ws/auth` | token checked before the upgrade (`Authorization: Bearer`, `?token=` or subprotocol `bearer, <token>`), else 401 |
//! | `/metrics`, `/healthz`, `/stats` | Prometheus metrics, health, hub counters |
//! | `/` | a page with one panel per endpoint |
//!
//! The auth token is `demo-token` unless `WIREHUB_DEMO_TOKEN` says otherwise.
//!
//! ```sh
//! wscat -c ws://127.0.0.1:8000/ws/basic                       # > hello  < {"type":"response","content":"Echo: hello",...}
//! wscat -c ws://127.0.0.1:8000/ws/chat/lobby                  # in two terminals
//! wscat -c 'ws://127.0.0.1:8000/ws/auth?token=demo-token'
//! curl -s http://127.0.0.1:8000/metrics | grep wirehub_
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::json;
use wirehub::prelude::*;

// Replies are structs sent as `Json(..)`: their fields keep their order on
// the wire (`json!` would sort the keys).

// ---------------------------------------------------------------- /ws/basic

/// Echoes each text with the server's time. A peer that sends nothing for
/// five minutes is closed (1000); one that stops reading is dropped after 5 s.
#[ws_route("/ws/basic", idle_timeout = "5m", write_timeout = "5s")]
async fn basic(text: String) -> Json<Echo> {
    Json(Echo { r#type: "response", content: format!("Echo: {text}"), timestamp: rfc3339_now() })
}

#[derive(Serialize)]
struct Echo {
    r#type: &'static str,
    content: String,
    timestamp: String,
}

/// The current UTC time as RFC 3339 (`2024-01-01T12:00:00Z`).
fn rfc3339_now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Formats seconds since the Unix epoch as RFC 3339 UTC.
fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

/// Year, month, day of a count of days since 1970-01-01 (proleptic
/// Gregorian; Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

// ---------------------------------------------------------- /ws/chat/{room}

/// Relays each text to every member of the room, the sender included
/// (`broadcast` room `chat:{room}`); other rooms never see it. Who is in
/// the room comes from the framework's presence events (`presence = true`):
/// `presence_state` to a newcomer, then batched `presence_diff`s.
#[ws_route("/ws/chat/{room}", broadcast = "chat:{room}", presence = true, on_open = chat_open)]
async fn chat(conn: Conn, text: String) -> Json<ChatMessage> {
    let room = conn.param("room").map(str::to_owned);
    Json(ChatMessage { r#type: "message", room, from: conn.id().to_string(), content: text })
}

#[derive(Serialize)]
struct ChatMessage {
    r#type: &'static str,
    room: Option<String>,
    from: String,
    content: String,
}

/// The newcomer's welcome.
#[derive(Serialize)]
struct Welcome<'a> {
    r#type: &'a str,
    room: Option<&'a str>,
    id: String,
}

/// Tells the newcomer its id (the room learns of it through presence).
async fn chat_open(conn: Conn) {
    let welcome = Welcome { r#type: "welcome", room: conn.param("room"), id: conn.id().to_string() };
    let _ = conn.send(Json(&welcome)).await;
}

// --------------------------------------------------------------- /ws/binary

/// Echoes binary messages byte for byte, up to 16 MiB. The handler takes
/// `Bytes`, so a text message closes the connection with 1003.
#[ws_route("/ws/binary", max_message = "16MiB")]
async fn binary(bytes: Bytes) -> Bytes {
    bytes
}

// ------------------------------------------------------------ /ws/heartbeat

/// Protocol pings every 2 s; a peer silent for 2 s + 3 s is dropped. The text
/// `ping` is answered `{"type":"pong"}` by the runtime (browsers cannot send
/// protocol pings); `rtt` answers the last heartbeat round trip.
#[ws_route("/ws/heartbeat", heartbeat = "2s", heartbeat_timeout = "3s", app_ping = "ping")]
async fn heartbeat(conn: Conn, text: String) -> Json<Rtt> {
    let rtt_ms = conn.rtt().map(|d| d.as_micros() as f64 / 1000.0); // 1.169, not 1.1689999999999998
    match text.trim() {
        "rtt" => Json(Rtt { r#type: "rtt", content: None, rtt_ms }),
        other => Json(Rtt { r#type: "response", content: Some(other.to_owned()), rtt_ms }),
    }
}

#[derive(Serialize)]
struct Rtt {
    r#type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    rtt_ms: Option<f64>,
}

// ----------------------------------------------------------------- /ws/auth

/// The identity of an authenticated connection.
struct User {
    name: String,
}

impl Principal for User {
    fn principal(&self) -> &str {
        &self.name
    }
}

fn expected_token() -> String {
    std::env::var("WIREHUB_DEMO_TOKEN").unwrap_or_else(|_| "demo-token".into())
}

/// Runs before the `101`: a refused peer gets HTTP 401 and never a socket.
async fn validate(hs: &Handshake) -> Result<User, Reject> {
    match hs.token() {
        Some(token) if token == expected_token() => Ok(User { name: "demo".into() }),
        Some(_) => Err(Reject::unauthorized("invalid token")),
        None => Err(Reject::unauthorized("token required: Authorization: Bearer, ?token= or subprotocol")),
    }
}

/// Answers each text of an authenticated connection with the user's name.
#[ws_route("/ws/auth", auth = validate)]
async fn authed(user: Auth<User>, text: String) -> Json<Response> {
    Json(Response { r#type: "response", user: user.name.clone(), content: text })
}

#[derive(Serialize)]
struct Response {
    r#type: &'static str,
    user: String,
    content: String,
}

// --------------------------------------------------------------------- main

#[tokio::main]
async fn main() -> wirehub::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "8000".into());
    println!("gaps demo on http://{host}:{port}/ (ws: /ws/basic /ws/chat/{{room}} /ws/binary /ws/heartbeat /ws/auth; http: /metrics /healthz /stats)");
    wirehub::App::new()
        .bind(format!("{host}:{port}"))
        .page("/", "text/html; charset=utf-8", include_str!("gaps_demo.html"))
        .get("/stats", |hub| {
            let body = json!({"connections": hub.connections(), "rooms": hub.rooms(), "dropped": hub.dropped()});
            wirehub::HttpReply::ok("application/json", body.to_string())
        })
        .serve()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_704_110_400), "2024-01-01T12:00:00Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}
