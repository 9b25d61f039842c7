use wirehub::prelude::*;

// With no pings there is no pong to wait for.
#[ws_route("/chat", heartbeat = "off", heartbeat_timeout = "5s")]
async fn chat(text: String) -> String {
    text
}

fn main() {}
