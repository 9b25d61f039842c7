use wirehub::prelude::*;

#[ws_route("/chat", heartbeat = "30 seconds")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
