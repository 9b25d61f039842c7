//! Spellings close to refused ones that are valid: subprotocol tokens with
//! symbols, origins with a non-default port or `null`, static segments with
//! `:` or `*` inside, and percent-encoded text.

use wirehub::prelude::*;

#[ws_route("/v2/echo", protocols = ["echo.v2", "echo+json", "x-echo_3"])]
async fn echo(text: String) -> String {
    text
}

#[ws_route("/rooms/{room}", origins = ["https://app.example.com:8443", "http://localhost:3000", "null"])]
async fn rooms(Path(room): Path<String>, text: String) -> String {
    format!("{room}: {text}")
}

#[ws_route("/v1:batch/a*b/caf%C3%A9")]
async fn encoded(text: String) -> String {
    text
}

fn main() {}
