use wirehub::prelude::*;

#[ws_route("/chat/{room}", broadcast = "chat:{room}", history_ttl = "5m")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
