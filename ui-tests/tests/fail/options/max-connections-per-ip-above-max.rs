use wirehub::prelude::*;

#[ws_route("/chat", max_connections = 100, max_connections_per_ip = 500)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
