use wirehub::prelude::*;

#[ws_route("/chat", heartbeat_timeout = "10")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
