use wirehub::prelude::*;

#[ws_route("/chat", max_connections = 0)]
async fn chat(text: String) -> String {
    text
}

fn main() {}
