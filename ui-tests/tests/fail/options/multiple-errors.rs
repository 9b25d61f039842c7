use wirehub::prelude::*;

#[ws_route(
    "/chat",
    heartbeat = "30 seconds",
    max_message = "1 MB",
    queue = 0,
    verbose = true,
    rate = "50/sec",
    on_full = "block"
)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
