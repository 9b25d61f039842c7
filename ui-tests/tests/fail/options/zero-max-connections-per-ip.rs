use wirehub::prelude::*;

#[ws_route("/chat", max_connections_per_ip = 0)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
