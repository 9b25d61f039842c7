use wirehub::prelude::*;

#[ws_route(heartbeat = "30s", "/chat")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
