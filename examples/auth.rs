//! Handshake authentication: `cargo run --example auth` serves `/ws/auth` on
//! 127.0.0.1:8000 (`HOST` and `PORT` override). It requires the token `demo-token`
//! (env `WIREHUB_DEMO_TOKEN` overrides) by `Authorization: Bearer`, `?token=`
//! or the subprotocol offer `bearer, <token>` (the server then selects
//! `bearer`); others get HTTP 401 and no WebSocket. Each text is answered
//! with `{"type":"response","user":"demo","content":"<text>"}`.
//!
//! ```sh
//! curl -i http://127.0.0.1:8000/ws/auth -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
//!      -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='   # 401
//! websocat 'ws://127.0.0.1:8000/ws/auth?token=demo-token'                                 # accepted
//! ```

use serde_json::{json, Value};
use wirehub::prelude::*;

/// The authenticated user.
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

/// Accepts the demo token from any source; never logs it.
async fn validate(hs: &Handshake) -> Result<User, Reject> {
    match hs.token() {
        Some(token) if token == expected_token() => Ok(User { name: "demo".into() }),
        Some(_) => Err(Reject::unauthorized("invalid token")),
        None => Err(Reject::unauthorized("token required: Authorization: Bearer, ?token= or subprotocol")),
    }
}

/// Answers each text with the user's name.
#[ws_route("/ws/auth", auth = validate)]
async fn authed(user: Auth<User>, text: String) -> Json<Value> {
    Json(json!({"type": "response", "user": user.name, "content": text}))
}

#[tokio::main]
async fn main() -> wirehub::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "8000".into());
    println!("auth demo on ws://{host}:{port}/ws/auth (token via Bearer, ?token= or subprotocol)");
    wirehub::App::new().bind(format!("{host}:{port}")).serve().await
}
