//! Echo server: `cargo run --example echo` serves `/echo` on 127.0.0.1:8000
//! (env `HOST` and `PORT` override), echoing text and binary messages up to 16 MiB
//! unchanged. Point a protocol conformance suite (e.g. Autobahn's fuzzingclient) at it.

use wirehub::prelude::*;

/// Echoes every text and binary message back unchanged.
#[ws_route("/echo", max_message = "16MiB")]
async fn echo(msg: Message) -> Option<Message> {
    match msg {
        Message::Text(_) | Message::Binary(_) => Some(msg),
        _ => None,
    }
}

#[tokio::main]
async fn main() -> wirehub::Result<()> {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PORT").unwrap_or_else(|_| "8000".into());
    println!("echo server on ws://{host}:{port}/echo");
    wirehub::App::new().bind(format!("{host}:{port}")).serve().await
}
