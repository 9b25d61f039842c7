use wirehub::prelude::*;

#[ws_route("/chat", heartbeat = "30s", heartbeat = "10s")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
